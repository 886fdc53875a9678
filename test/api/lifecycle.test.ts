import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { repoRoot } from '../support/paths.js';
import { freePort, startTestServer } from '../support/server.js';

const main = join(repoRoot, 'dist/src/main.js');

function serverProcess(configYaml: string, env: NodeJS.ProcessEnv = {}, entry = main) {
  const dir = mkdtempSync(join(tmpdir(), 'ogcapi-process-'));
  writeFileSync(join(dir, 'server-config.yaml'), configYaml);
  const child = spawn(process.execPath, [entry, join(dir, 'server-config.yaml')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, dir, output: () => output };
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready within 10 s`);
}

describe('server process: start-up, logs and shutdown', () => {
  it('refuses to start on an invalid configuration, naming the file and the path (exit code 2)', async () => {
    const { child, dir, output } = serverProcess('server: {bind: {port: -1}}\nresources: {}\n');
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(output(), new RegExp(`${dir}/server-config.yaml:1 /server/bind/port: must be >= 0`));
    assert.match(output(), /\/resources: must NOT have fewer than 1 properties/);
  });

  describe('log archive enabled with a bucket variable missing', () => {
    const archiveOn = 'manager: {finalizer_controller: true}\nresources: {echo: {type: process, processor: {name: Echo}}}\n';
    const bucketEnv = {
      K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: 'http://127.0.0.1:9',
      K8S_MANAGER_FINALIZER_BUCKET_KEY: 'key-id',
      K8S_MANAGER_FINALIZER_BUCKET_SECRET: 'do-not-print-this-secret',
      K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: 'logs/',
    };
    for (const entry of ['main.js', 'controller-main.js']) {
      it(`${entry}: refuses to start, naming the variable, never printing a secret (exit code 2)`, async () => {
        const { child, output } = serverProcess(archiveOn, bucketEnv, join(repoRoot, 'dist/src', entry));
        const [code] = await once(child, 'exit');
        assert.equal(code, 2, output());
        assert.match(output(), /K8S_MANAGER_FINALIZER_BUCKET_NAME is not set/);
        assert.doesNotMatch(output(), /do-not-print-this-secret/);
      });
    }
  });

  it('controller-main.js refuses to start when the configuration does not enable the log archive', async () => {
    const { child, output } = serverProcess('resources: {echo: {type: process, processor: {name: Echo}}}\n', {}, join(repoRoot, 'dist/src/controller-main.js'));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(output(), /manager\.finalizer_controller is not true/);
  });

  it('intake-main.js refuses to start when its replies would link files no API server can serve (no shared link key)', async () => {
    const config = `
manager: {intake: {run_in_server: false, queues: [{name: requests}]}}
resources:
  copy:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/copy:1
      files: {outputs: {copy: {media_type: application/octet-stream}}}
      metadata: {title: Copy, inputs: {}, outputs: {copy: {schema: {type: string, contentMediaType: application/octet-stream}}}}
`;
    const env = {
      K8S_MANAGER_AMQP_URL: 'amqp://intake:do-not-print-this-secret@127.0.0.1:9/',
      K8S_MANAGER_DATA_BUCKET_ENDPOINT: 'http://127.0.0.1:9',
      K8S_MANAGER_DATA_BUCKET_KEY: 'key-id',
      K8S_MANAGER_DATA_BUCKET_SECRET: 'do-not-print-this-secret',
      K8S_MANAGER_DATA_BUCKET_NAME: 'data',
      K8S_MANAGER_DATA_BUCKET_PATH_PREFIX: 'jobs/',
    };
    const { child, output } = serverProcess(config, env, join(repoRoot, 'dist/src/intake-main.js'));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, output());
    assert.match(output(), /process 'copy' returns files: set K8S_MANAGER_LINK_KEY/);
    assert.doesNotMatch(output(), /do-not-print-this-secret/);
  });

  it('finishes requests in flight on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const { child, output } = serverProcess(`
server: {bind: {host: 127.0.0.1, port: ${port}}, logging: {level: info}}
manager: {local_store: {path: ':memory:'}}
resources: {echo: {type: process, processor: {name: Echo}}}
`);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url);
      const inFlight = fetch(`${url}/processes/echo/execution`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { string_input: 'done', pause: 1 } }),
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      child.kill('SIGTERM');
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'done');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      assert.match(output(), /"msg":"shutting down"/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('logs job events as JSON carrying the job id, and never a secret', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const logger = createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]);
    logger.child({ jobId: 'job-1' }).info({ inputs: { token: 'secret-value', name: 'x' }, token: 'also-secret' }, 'job submitted');
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.jobId, 'job-1');
    assert.equal(entry.inputs.name, 'x');
    assert.doesNotMatch(lines.join(''), /secret-value|also-secret/);
  });

  it('reports not ready (503) once the job store is closed', async () => {
    const server = await startTestServer();
    await server.services.jobs.close();
    const res = await server.client.get('/readyz');
    assert.equal(res.status, 503);
    assert.match(JSON.parse(res.text).detail, /store is closed/);
    server.running.server.close();
  });
});

describe('without a cluster', () => {
  it('starts on the shipped server-config.yaml and offers the local processes only', async () => {
    const { readFileSync } = await import('node:fs');
    const shipped = readFileSync(join(repoRoot, 'server-config.yaml'), 'utf8').replace('path: data/jobs.sqlite', "path: ':memory:'");
    const dir = mkdtempSync(join(tmpdir(), 'ogcapi-shipped-'));
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(join(dir, 'processes'));
    copyFileSync(join(repoRoot, 'processes/generic-example.env'), join(dir, 'processes/generic-example.env'));
    const server = await startTestServer({ configYaml: shipped, dir, env: { HOME: dir } });
    try {
      const list = await server.client.get('/processes');
      assert.deepEqual(list.body.processes.map((p: { id: string }) => p.id), ['echo', 'hello-world', 'word-frequencies']);
    } finally {
      await server.stop();
    }
  });
});
