/**
 * `npm run bench:intake`: the queue intake beside HTTP submission, on the same server and cluster.
 * Throughput: `BENCH_MESSAGES` requests published at once (confirmed), counted until the last one's
 * Job exists, against POST /processes/{id}/execution in a closed loop at the same concurrency as the
 * intake's prefetch. Latency, one request at a time: publish → the job exists (GET /jobs/{id} polled
 * every 2 ms) against POST → 201 (the job exists when it answers). Prints both, side by side.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Connection } from 'rabbitmq-client';
import { jobIdOf } from '../../src/intake/messages.js';
import { startAmqpBroker, stopAmqpBroker, type AmqpBroker } from '../testenv/amqp-broker.js';
import { startTestEnvironment, stopTestEnvironment, type TestEnvironment } from '../testenv/environment.js';
import { closedLoop, printLine, startBenchServer } from './measure.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const CONCURRENCY = 64; // the intake's prefetch (startBenchServer)
const TOKEN = randomUUID();

const started = !process.env.OGC_TESTENV_CONNECTION;
const environment: TestEnvironment = started
  ? await startTestEnvironment({ log: (line) => console.log(line) })
  : (JSON.parse(readFileSync(process.env.OGC_TESTENV_CONNECTION!, 'utf8')) as TestEnvironment);
// An environment started without a broker (an older one): a broker of the benchmark's own.
const ownBrokerDir = environment.amqp ? undefined : mkdtempSync(join(tmpdir(), 'bench-amqp-'));
const broker: AmqpBroker = environment.amqp ?? (await startAmqpBroker(ownBrokerDir!));
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(environment.kubeconfigPath);
const core = kubeConfig.makeApiClient(CoreV1Api);
const namespace = `bench-intake-${randomUUID().slice(0, 8)}`;
const queue = `${namespace}.requests`;
const rabbit = new Connection({ url: broker.url });
rabbit.on('error', () => undefined);
const publisher = rabbit.createPublisher({ confirm: true });
console.log(`Node ${process.version}; ${MESSAGES} messages at once against ${CONCURRENCY} concurrent HTTP senders for ${SECONDS} s; ${SAMPLES} one-at-a-time samples each way`);

try {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const { child: server, url } = await startBenchServer(environment.kubeconfigPath, namespace, TOKEN, { url: broker.url, queue });
  try {
    const body = { inputs: { token: TOKEN, n: 1 } };
    const execute = () =>
      fetch(`${url}/processes/bench/execution`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: JSON.stringify(body) }).then(
        async (response) => (await response.arrayBuffer(), response.status === 201),
      );
    const publish = (messageId: string) => publisher.send({ routingKey: queue, durable: true, contentType: 'application/json', messageId }, { process: 'bench', execute: body });
    const jobsMade = async () => ((await (await fetch(`${url}/jobs?processID=bench&limit=1`)).json()) as { numberMatched: number }).numberMatched;
    const exists = async (jobID: string) => (await fetch(`${url}/jobs/${jobID}`).then(async (r) => (await r.arrayBuffer(), r.status))) === 200;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await execute(); // warm: connections, the Job cache

    const http = await closedLoop(CONCURRENCY, SECONDS, execute);
    const before = await jobsMade();
    const burstStart = performance.now();
    await Promise.all(Array.from({ length: MESSAGES }, () => publish(randomUUID())));
    const published = performance.now();
    for (let i = 0; (await jobsMade()) < before + MESSAGES; i++) {
      if (i > 6000) throw new Error('the intake did not take every message within 10 minutes');
      await sleep(50);
    }
    const intakeRate = MESSAGES / ((performance.now() - burstStart) / 1000);

    const quantiles = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
      return { p50: at(0.5), p99: at(0.99) };
    };
    const httpLatency: number[] = [];
    const intakeLatency: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      let sent = performance.now();
      if (await execute()) httpLatency.push(performance.now() - sent);
      const messageId = randomUUID();
      sent = performance.now();
      await publish(messageId);
      for (let polls = 0; !(await exists(jobIdOf(queue, messageId))); polls++) {
        if (polls > 5000) throw new Error(`message ${messageId} made no job within 10 s`);
        await sleep(2);
      }
      intakeLatency.push(performance.now() - sent);
    }
    const h = quantiles(httpLatency);
    const q = quantiles(intakeLatency);
    console.log('');
    printLine(`POST /execution, ${CONCURRENCY} concurrent (closed loop)`, http.perSecond, http.p50, http.p99, http.failures, '/s   ');
    console.log(`${`queue intake, ${MESSAGES} published at once`.padEnd(52)} ${intakeRate.toFixed(0).padStart(6)} msg/s  (publishing them, confirmed: ${((published - burstStart) / 1000).toFixed(2)} s)`);
    printLine('POST → 201, one at a time', 1000 / h.p50, h.p50, h.p99, 0, '/s   ');
    printLine('publish → job exists, one at a time', 1000 / q.p50, q.p50, q.p99, 0, '/s   ');
    console.log(`\nintake against HTTP: throughput ${((intakeRate / http.perSecond) * 100).toFixed(0)}%, latency p50 ${(q.p50 - h.p50).toFixed(1)} ms more (p99 ${(q.p99 - h.p99).toFixed(1)} ms)`);
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  await publisher.close().catch(() => undefined);
  await rabbit.close().catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  if (ownBrokerDir) await stopAmqpBroker(ownBrokerDir);
  if (started) await stopTestEnvironment(environment.stateDir);
}
