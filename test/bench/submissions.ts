/**
 * `npm run bench:submissions`: what our /execution endpoint adds on top of the API server. The same
 * Jobs (the body our server builds, with a new id each time) are created at the same concurrency,
 * closed loop, straight through a plain @kubernetes/client-node client, through the same client on
 * one shared HTTP/2 connection (what our server uses, decision 0010: the best a client does), and
 * through POST /processes/{id}/execution (async, answered once the Job exists), in alternating rounds.
 * Prints both, our throughput as a share of the plain client's (target ≥ 90%) and the p50 difference
 * (target ≤ 10 ms).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { apiClient } from '../../src/kubernetes/cluster.js';
import { LABELS } from '../../src/kubernetes/labels.js';
import { startTestEnvironment, stopTestEnvironment, type TestEnvironment } from '../testenv/environment.js';
import { closedLoop, printLine, startBenchServer, type LoopFigures } from './measure.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TOKEN = randomUUID();

const started = !process.env.OGC_TESTENV_CONNECTION;
const environment: TestEnvironment = started
  ? await startTestEnvironment({ log: (line) => console.log(line) })
  : (JSON.parse(readFileSync(process.env.OGC_TESTENV_CONNECTION!, 'utf8')) as TestEnvironment);
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(environment.kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const plain = kubeConfig.makeApiClient(BatchV1Api);
const http2 = apiClient(kubeConfig, BatchV1Api);
const namespace = `bench-submit-${randomUUID().slice(0, 8)}`;
console.log(`Node ${process.version}; ${CONCURRENCY} concurrent senders, ${ROUNDS} rounds of ${SECONDS} s each way`);

try {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const { child: server, url } = await startBenchServer(environment.kubeconfigPath, namespace, TOKEN);
  try {
    const execute = () => fetch(`${url}/processes/bench/execution`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ inputs: { token: TOKEN, n: 1 } }),
    }).then(async (response) => (await response.arrayBuffer(), response.status === 201));

    // The Job our server builds, as the template of the plain client's: the same bytes to the API server.
    await execute();
    const template = (await plain.listNamespacedJob({ namespace })).items[0]!;
    const sameJob = (): V1Job => {
      const jobID = randomUUID();
      const { name: _name, uid: _uid, resourceVersion: _rv, creationTimestamp: _created, managedFields: _managed, ...metadata } = template.metadata!;
      const labels: Record<string, string> = { ...metadata.labels, [LABELS.jobId]: jobID };
      const podLabels: Record<string, string> = { ...template.spec!.template.metadata!.labels, [LABELS.jobId]: jobID };
      for (const key of ['batch.kubernetes.io/controller-uid', 'controller-uid', 'batch.kubernetes.io/job-name', 'job-name']) delete podLabels[key];
      for (const key of ['batch.kubernetes.io/controller-uid', 'controller-uid', 'batch.kubernetes.io/job-name', 'job-name']) delete labels[key];
      const { selector: _selector, ...spec } = template.spec!;
      return { metadata: { ...metadata, name: `plain-${jobID}`, labels }, spec: { ...spec, template: { ...spec.template, metadata: { ...spec.template.metadata, labels: podLabels } } } };
    };
    const ways = {
      'plain client (HTTP/1.1), Job create': () => plain.createNamespacedJob({ namespace, body: sameJob() }).then(() => true),
      'client on one HTTP/2 connection, Job create': () => http2.createNamespacedJob({ namespace, body: sameJob() }).then(() => true),
      'POST /processes/bench/execution': execute,
    };
    const figures = new Map<string, LoopFigures[]>(Object.keys(ways).map((way) => [way, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [way, send] of Object.entries(ways)) {
        const result = await closedLoop(CONCURRENCY, SECONDS, send);
        figures.get(way)!.push(result);
        printLine(`round ${round}: ${way}`, result.perSecond, result.p50, result.p99, result.failures, '/s   ');
      }
    }
    const mean = (way: string, key: keyof LoopFigures) => figures.get(way)!.reduce((sum, f) => sum + f[key], 0) / ROUNDS;
    const ours = 'POST /processes/bench/execution';
    console.log('');
    for (const floor of Object.keys(ways).filter((way) => way !== ours)) {
      console.log(`ours against ${floor}: throughput ${((mean(ours, 'perSecond') / mean(floor, 'perSecond')) * 100).toFixed(0)}% (target ≥ 90%), p50 ${(mean(ours, 'p50') - mean(floor, 'p50')).toFixed(1)} ms more (target ≤ 10 ms)`);
    }
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  if (started) await stopTestEnvironment(environment.stateDir);
}
