/**
 * `npm run bench:kubernetes`: the Kubernetes side against the real test environment. Seeds 10,000
 * Jobs (suspended, so no pods) in a namespace, starts the server as its own process, and measures
 * with autocannon: GET /jobs/{id} and GET /jobs?limit=100 (both served from the watch cache), then
 * asynchronous submissions at a fixed rate (each creates a real Job). Prints the server's memory.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import autocannon from 'autocannon';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobName } from '../../src/kubernetes/labels.js';
import { repoRoot } from '../support/paths.js';
import { freePort } from '../support/server.js';
import { startTestEnvironment, stopTestEnvironment, type TestEnvironment } from '../testenv/environment.js';

const SEEDED = Number(process.env.BENCH_JOBS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TOKEN = randomUUID();

const started = !process.env.OGC_TESTENV_CONNECTION;
const environment: TestEnvironment = started
  ? await startTestEnvironment({ log: (line) => console.log(line) })
  : (JSON.parse(readFileSync(process.env.OGC_TESTENV_CONNECTION!, 'utf8')) as TestEnvironment);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(environment.kubeconfigPath);
const batch = kubeConfig.makeApiClient(BatchV1Api);
const core = kubeConfig.makeApiClient(CoreV1Api);
const namespace = `bench-${randomUUID().slice(0, 8)}`;

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

try {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const seedStart = Date.now();
  const ids: string[] = [];
  for (let start = 0; start < SEEDED; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, SEEDED - start) }, (_, i) => {
        const jobID = randomUUID();
        ids.push(jobID);
        return batch.createNamespacedJob({
          namespace,
          body: {
            metadata: {
              name: jobName(jobID),
              labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: jobID, [LABELS.processId]: 'bench' },
              annotations: { [ANNOTATIONS.created]: new Date(Date.now() - (start + i) * 1000).toISOString(), [ANNOTATIONS.resultsRequest]: '{"response":"raw"}' },
            },
            spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/bench:1' }] } } },
          },
        });
      }),
    );
  }
  console.log(`seeded ${SEEDED} Jobs in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ogcapi-bench-k8s-'));
  writeFileSync(join(dir, 'server-config.yaml'), `
server: {bind: {host: 127.0.0.1, port: ${port}}, logging: {level: warn}}
manager: {local_store: {path: ':memory:'}}
resources:
  bench:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/bench:1
      metadata: {title: Bench, inputs: {n: {minOccurs: 0, schema: {type: integer}}}}
`);
  const server = spawn(process.execPath, [join(repoRoot, 'dist/src/main.js'), join(dir, 'server-config.yaml')], {
    env: { ...process.env, KUBECONFIG: environment.kubeconfigPath, K8S_MANAGER_NAMESPACE: namespace, K8S_MANAGER_API_TOKEN: TOKEN },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const startedAt = Date.now();
    for (let i = 0; !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); i++) {
      if (i > 600) throw new Error('the server did not become ready within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`server ready with ${SEEDED} Jobs cached in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; RSS ${rssMb(server.pid!).toFixed(0)} MB`);
    const run = async (name: string, options: autocannon.Options) => {
      const result = await autocannon({ connections: 10, duration: SECONDS, ...options });
      const errors = result.errors + result.non2xx;
      console.log(`${name.padEnd(46)} ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms${errors ? `   ${errors} errors/non-2xx` : ''}`);
    };
    await run(`GET /jobs/{id} (${SEEDED} Jobs)`, {
      url,
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/jobs/${ids[Math.floor(Math.random() * ids.length)]}` }) }],
    });
    await run(`GET /jobs?limit=100 (${SEEDED} Jobs)`, { url: `${url}/jobs?limit=100` });
    await run('POST execution, Prefer: respond-async, 100/s', {
      url: `${url}/processes/bench/execution`,
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ inputs: { token: TOKEN, n: 1 } }),
      overallRate: 100,
    });
    console.log(`server RSS after the runs: ${rssMb(server.pid!).toFixed(0)} MB`);
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  if (started) await stopTestEnvironment(environment.stateDir);
}
