/**
 * `npm run bench:kubernetes`: the Kubernetes side against the real test environment. Seeds 10,000
 * Jobs (suspended, so no pods; dismissed, as most of a namespace's history is finished) in a
 * namespace, starts the server as its own process, and measures with autocannon: GET /jobs/{id} and
 * GET /jobs?limit=100 (both served from the watch cache); then asynchronous submissions at a fixed
 * rate, open loop (each creates a real Job), and the server's CPU time per submission. Prints the
 * server's memory, and two floors to read the figures against: express alone answering the same body,
 * and the same rate of Job creations sent straight to the API server.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import autocannon from 'autocannon';
import { apiClient } from '../../src/kubernetes/cluster.js';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobName } from '../../src/kubernetes/labels.js';
import { cpuMs, memoryMiB } from '../support/process-stats.js';
import { printAtRate, printAutocannon, startBenchServer, startExpressFloor } from './measure.js';
import { startTestEnvironment, stopTestEnvironment, type TestEnvironment } from '../testenv/environment.js';

const SEEDED = Number(process.env.BENCH_JOBS ?? 10_000);
const SEEDED_LABEL = 'ogcapi-bench/seeded';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const TOKEN = randomUUID();

const started = !process.env.OGC_TESTENV_CONNECTION;
const environment: TestEnvironment = started
  ? await startTestEnvironment({ log: (line) => console.log(line) })
  : (JSON.parse(readFileSync(process.env.OGC_TESTENV_CONNECTION!, 'utf8')) as TestEnvironment);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(environment.kubeconfigPath);
const batch = kubeConfig.makeApiClient(BatchV1Api);
const core = kubeConfig.makeApiClient(CoreV1Api);
// BENCH_NAMESPACE keeps the seeded namespace between runs (seeding 10,000 Jobs takes minutes).
const kept = process.env.BENCH_NAMESPACE;
const namespace = kept ?? `bench-${randomUUID().slice(0, 8)}`;

const memory = (pid: number) => `RSS ${memoryMiB(pid, 'VmRSS').toFixed(0)} MB (peak ${memoryMiB(pid, 'VmHWM').toFixed(0)} MB)`;

/** Waits (at most two minutes) until no pod of the namespace is pending or running. */
async function settled(): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const pods = await core.listNamespacedPod({ namespace, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', limit: 1 });
    if (pods.items.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  console.log('  (the cluster was still busy after two minutes)');
}

try {
  const ids: string[] = [];
  const exists = kept !== undefined && (await core.readNamespace({ name: namespace }).then(() => true, () => false));
  if (exists) {
    const seeded = await batch.listNamespacedJob({ namespace, labelSelector: SEEDED_LABEL });
    for (const job of seeded.items) ids.push(job.metadata!.labels![LABELS.jobId]!);
  } else {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  }
  const seedStart = Date.now();
  for (let start = ids.length; start < SEEDED; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, SEEDED - start) }, (_, i) => {
        const jobID = randomUUID();
        ids.push(jobID);
        return batch.createNamespacedJob({
          namespace,
          body: {
            metadata: {
              name: jobName(jobID),
              labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: jobID, [LABELS.processId]: 'bench', [SEEDED_LABEL]: 'true' },
              annotations: {
                [ANNOTATIONS.created]: new Date(Date.now() - (start + i) * 1000).toISOString(),
                [ANNOTATIONS.dismissed]: new Date(Date.now() - (start + i) * 1000 + 500).toISOString(),
                [ANNOTATIONS.resultsRequest]: '{"response":"raw"}',
              },
            },
            spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/bench:1' }] } } },
          },
        });
      }),
    );
  }
  console.log(`${ids.length} Jobs in ${namespace}; seeded in ${((Date.now() - seedStart) / 1000).toFixed(0)} s`);

  const startedAt = Date.now();
  const { child: server, url } = await startBenchServer(environment.kubeconfigPath, namespace, TOKEN);
  try {
    console.log(`server ready with ${ids.length} Jobs cached in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; ${memory(server.pid!)}`);
    // Start-up leaves garbage of the LIST pages behind; V8 returns it once the server has been idle a while.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    console.log(`server idle ${IDLE_SECONDS} s after that: ${memory(server.pid!)}`);
    const get = (path: string): autocannon.Options => ({ url, requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path.replace('{id}', ids[Math.floor(Math.random() * ids.length)]!) }) }] });
    const load = (options: autocannon.Options) => autocannon({ connections: 10, duration: SECONDS, ...options });
    printAutocannon(`GET /jobs/{id} (${ids.length} Jobs)`, await load(get('/jobs/{id}')));
    const floor = await startExpressFloor(await fetch(`${url}/jobs/${ids[0]}`).then((r) => r.json()));
    try {
      printAutocannon('  floor: express alone, same body', await load({ url: floor.url }));
    } finally {
      floor.stop();
    }
    printAutocannon(`GET /jobs?limit=100 (${ids.length} Jobs)`, await load(get('/jobs?limit=100')));

    const execute = () => fetch(`${url}/processes/bench/execution`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ inputs: { token: TOKEN, n: 1 } }),
    }).then((response) => response.status === 201);
    const cpuBefore = cpuMs(server.pid!);
    await printAtRate(`POST execution, respond-async, ${RATE}/s (to the 201)`, RATE, SECONDS, execute);
    await settled();
    // Less at the mercy of the other processes on the machine than the rate: the server's own cost.
    console.log(`  server CPU per submission, each job followed to its end: ${((cpuMs(server.pid!) - cpuBefore) / (RATE * SECONDS)).toFixed(1)} ms`);
    console.log(`server after the runs: ${memory(server.pid!)}`);
    // The same rate of Job creations straight to the API server, once the cluster has caught up.
    const direct = apiClient(kubeConfig, BatchV1Api);
    const createDirectly = () => direct.createNamespacedJob({ namespace, body: {
      metadata: { generateName: 'direct-' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'example.test/bench:1' }] } } },
    } }).then(() => true);
    await printAtRate(`  floor: Job create straight to the API, ${RATE}/s`, RATE, SECONDS, createDirectly);
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  if (!kept) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  else await batch.deleteCollectionNamespacedJob({ namespace, labelSelector: `!${SEEDED_LABEL}`, propagationPolicy: 'Background' }).catch(() => undefined);
  if (started) await stopTestEnvironment(environment.stateDir);
}
