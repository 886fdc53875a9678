// What the benchmarks share: one line per scenario, an open-loop load at a fixed rate, and the
// floor every figure should be read against (express alone answering the same body).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { repoRoot } from '../support/paths.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { freePort } from '../support/server.js';

export function printLine(name: string, perSecond: number, p50: number, p99: number, errors = 0, unit = 'req/s'): void {
  console.log(`${name.padEnd(52)} ${perSecond.toFixed(0).padStart(6)} ${unit}   p50 ${p50.toFixed(0)} ms   p99 ${p99.toFixed(0)} ms${errors ? `   ${errors} errors/non-2xx` : ''}`);
}

export function printAutocannon(name: string, result: autocannon.Result): void {
  printLine(name, result.requests.average, result.latency.p50, result.latency.p99, result.errors + result.non2xx);
}

/**
 * Sends `rate` requests per second for `seconds`, each on time whatever the earlier ones do (an open
 * loop: a slow answer cannot hold the next request back and hide its own delay), and prints the
 * achieved rate and the latency of each send.
 */
export async function printAtRate(name: string, rate: number, seconds: number, send: () => Promise<boolean>): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    inFlight.push(send().then(
      (ok) => {
        if (!ok) failures++;
        latencies.push(performance.now() - sent);
      },
      () => void failures++,
    ));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  printLine(name, latencies.length / elapsed, at(0.5), at(0.99), failures, '/s   ');
}

export interface LoopFigures {
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
}

/**
 * `concurrency` senders, each sending again as soon as its answer is in, for `seconds` (a closed loop:
 * the throughput of the system at that concurrency), and the latency of each send.
 */
export async function closedLoop(concurrency: number, seconds: number, send: () => Promise<boolean>): Promise<LoopFigures> {
  const latencies: number[] = [];
  let failures = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const sender = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const ok = await send().catch(() => false);
      if (ok) latencies.push(performance.now() - sent);
      else failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  return { perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), failures };
}

/**
 * Express alone, answering every GET with `body` as JSON, in its own process like the server: the
 * most requests per second any express route reaches on this machine.
 */
export async function startExpressFloor(body: unknown): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'dist/test/bench/express-floor.js'), String(port), JSON.stringify(body)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(url).then((r) => r.ok, () => false)); i++) {
    if (i > 100) throw new Error('the express floor server did not start within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

/** The server as its own process, with one image process `bench` whose Jobs go to `namespace`; with `intake`, it also takes requests from that queue. */
export function startBenchServer(kubeconfigPath: string, namespace: string, token: string, intake?: { url: string; queue: string }): Promise<ServerProcess> {
  return startServerProcess(
    `
server: {bind: {host: 127.0.0.1, port: 0}, logging: {level: warn}}
manager: {local_store: {path: ':memory:'}${intake ? `, intake: {prefetch: 64, queues: [{name: '${intake.queue}'}]}` : ''}}
resources:
  bench:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/bench:1
      metadata: {title: Bench, inputs: {n: {minOccurs: 0, schema: {type: integer}}}}
`,
    { KUBECONFIG: kubeconfigPath, K8S_MANAGER_NAMESPACE: namespace, K8S_MANAGER_API_TOKEN: token, ...(intake ? { K8S_MANAGER_AMQP_URL: intake.url } : {}) },
  );
}
