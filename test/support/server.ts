import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { Clock } from '../../src/clock.js';
import type { JobStore } from '../../src/jobs/store.js';
import { buildServices, processorTypes, type Overrides } from '../../src/compose.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { Services } from '../../src/services.js';
import { OgcClient } from './client.js';

export const DEFAULT_TEST_CONFIG = `
server:
  bind: {host: 127.0.0.1, port: 0}
  logging: {level: silent}
manager:
  local_store: {path: ':memory:'}
  sync_wait_seconds: 5
resources:
  echo: {type: process, processor: {name: Echo}}
  hello-world: {type: process, processor: {name: HelloWorld}}
`;

export interface TestServer {
  url: string;
  client: OgcClient;
  services: Services;
  running: RunningServer;
  stop(): Promise<void>;
}

/** A real server on 127.0.0.1 with a free port, configured from YAML text like server-config.yaml. */
export interface TestServerOptions {
  configYaml?: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** Folder for the config file (and a SQLite store, if the config names a relative path). */
  dir?: string;
  /** Local job store to use instead of the configured one, e.g. to seed jobs directly. */
  localStore?: JobStore;
  /** The Kubernetes cluster for image processes. */
  cluster?: Overrides['cluster'];
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ogcapi-test-'));
  const file = join(dir, 'server-config.yaml');
  writeFileSync(file, options.configYaml ?? DEFAULT_TEST_CONFIG);
  // Links use the public URL, derived from the bound port: pick a free one first.
  const config = loadConfig(file, { PORT: String(await freePort()), ...options.env }, processorTypes);
  const services = await buildServices(config, options.env ?? {}, createLogger(config.server.logLevel), {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.localStore ? { localStore: options.localStore } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  const running = await startServer(services);
  return { url: running.url, client: new OgcClient(running.url), services, running, stop: () => running.stop() };
}

/** Polls a condition with a bounded number of tries; for jobs that finish in the background. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}
