/**
 * `npm run bench`: throughput and latency of the core API, measured with autocannon against a real
 * server process (its own core; the load generator takes the other) on 127.0.0.1.
 * Seeds 10,000 jobs in the embedded store first. Prints one line per scenario.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { openSqliteJobStore } from '../../src/jobs/sqlite-store.js';
import type { JobRecord } from '../../src/jobs/job.js';
import { repoRoot } from '../support/paths.js';
import { freePort } from '../support/server.js';
import { printAutocannon, startExpressFloor } from './measure.js';

const SEEDED_JOBS = 10_000;
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const dir = mkdtempSync(join(tmpdir(), 'ogcapi-bench-'));
const store = openSqliteJobStore(join(dir, 'jobs.sqlite'));
const jobIds: string[] = [];
const start = Date.now() - SEEDED_JOBS * 1000;
for (let i = 0; i < SEEDED_JOBS; i++) {
  const created = start + i * 1000;
  const job: JobRecord = { jobID: `seeded-${i}`, processID: 'echo', status: 'successful', created, started: created + 10, finished: created + 20, updated: created + 20, progress: 100, response: 'raw', results: { string_input: `value ${i}` } };
  store.insert(job);
  jobIds.push(job.jobID);
}
store.close();

const port = await freePort();
writeFileSync(join(dir, 'server-config.yaml'), `
server: {bind: {host: 127.0.0.1, port: ${port}}, logging: {level: warn}}
manager: {local_store: {path: jobs.sqlite}}
resources:
  echo: {type: process, processor: {name: Echo}}
`);
const server = spawn(process.execPath, [join(repoRoot, 'dist/src/main.js'), '--config', join(dir, 'server-config.yaml')], { stdio: ['ignore', 'inherit', 'inherit'] });
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if (i > 100) throw new Error('the server did not start within 10 s');
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const scenarios: Array<{ name: string; options: autocannon.Options }> = [
    { name: 'GET /processes', options: { url: `${url}/processes` } },
    {
      name: `GET /jobs/{id} (${SEEDED_JOBS} jobs stored)`,
      options: { url, requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/jobs/${jobIds[Math.floor(Math.random() * jobIds.length)]}` }) }] },
    },
    { name: 'GET /jobs?limit=100', options: { url: `${url}/jobs?limit=100` } },
    {
      name: 'POST /processes/echo/execution (sync)',
      options: { url: `${url}/processes/echo/execution`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: { string_input: 'bench', number_input: 1 }, response: 'document' }) },
    },
  ];
  console.log(`autocannon: ${CONNECTIONS} connections, ${DURATION_SECONDS} s per scenario, server and load generator on this machine (${(await import('node:os')).cpus().length} cores)`);
  const load = (options: autocannon.Options) => autocannon({ ...options, connections: CONNECTIONS, duration: DURATION_SECONDS });
  for (const { name, options } of scenarios) printAutocannon(name, await load(options));
  const floor = await startExpressFloor(await fetch(`${url}/jobs/${jobIds[0]}`).then((r) => r.json()));
  try {
    printAutocannon('  floor: express alone, a job status body', await load({ url: floor.url }));
  } finally {
    floor.stop();
  }
} finally {
  server.kill('SIGTERM');
}
