import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { eventually, freePort } from './server.js';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** What it printed, when started with `capture`. */
  output(): string;
}

/** The NODE_OPTIONS the image runs the server with (decision 0011): benchmarks measure what ships. */
function imageNodeOptions(): string {
  const options = /NODE_OPTIONS=(\S+)/.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))?.[1];
  if (!options) throw new Error('the Dockerfile sets no NODE_OPTIONS');
  return options;
}

/**
 * The server as its own process (`dist/src/main.js`, as `npm start` runs it) on a free port of
 * 127.0.0.1, with `configYaml` as its server-config.yaml; resolves once /readyz answers 200. Its own
 * process, so that its memory and CPU can be read apart, or it can be killed.
 */
export async function startServerProcess(configYaml: string, env: NodeJS.ProcessEnv, { capture = false } = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ogcapi-server-'));
  writeFileSync(join(dir, 'server-config.yaml'), configYaml);
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'src', 'main.js'), join(dir, 'server-config.yaml')], {
    env: { ...process.env, NODE_OPTIONS: imageNodeOptions(), ...env, PORT: String(port) },
    stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const ready = async () => (await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200 || child.exitCode !== null;
  try {
    await eventually(ready, Boolean, 60_000);
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${output}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, url, output: () => output };
}
