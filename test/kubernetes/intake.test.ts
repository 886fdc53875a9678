import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, type AsyncMessage, type Consumer, type Publisher } from 'rabbitmq-client';
import { jobIdOf } from '../../src/intake/messages.js';
import { LABELS } from '../../src/kubernetes/labels.js';
import { assertOgc } from '../support/ogc-schemas.js';
import { parsePrometheusText, sumOf } from '../support/prometheus-text.js';
import { eventually, type TestServer } from '../support/server.js';
import { restartAmqpBroker, type AmqpBroker } from '../testenv/amqp-broker.js';
import { loadTestEnvironment } from '../testenv/connect.js';
import { realNodeProcess } from '../testenv/real-node.js';
import { API_TOKEN, ClusterFixture, imageProcess, imageProcessesConfig, realNodeOrSkip, startIntakeProcess } from './support.js';

/** The broker of the test environment; a suite that cannot have one fails, never skips. */
export function amqpBroker(): AmqpBroker {
  const environment = loadTestEnvironment();
  if (!environment.amqp) throw new Error(`no AMQP broker in this test environment (missing: ${environment.amqpMissing?.join('; ') ?? 'unknown'}): the queue intake suites need one`);
  return environment.amqp;
}

/** A queue's messages as they arrive, for the test to wait on. */
class Collected {
  readonly messages: AsyncMessage[] = [];
  constructor(readonly consumer: Consumer) {}

  async atLeast(count: number, timeoutMs: number): Promise<AsyncMessage[]> {
    await eventually(async () => this.published().length, (length) => length >= count, timeoutMs);
    return this.messages;
  }

  /**
   * One per message published: the broker delivers again what this test's consumer had not yet
   * acknowledged when its connection dropped (a restarted broker without the redelivered flag), which
   * is the test's own at-least-once. A reply carries its attempt (x-attempt): a second publication has
   * another one and counts.
   */
  published(): AsyncMessage[] {
    const seen = new Set<string>();
    return this.messages.filter((message) => {
      const key = `${message.messageId}/${String(message.headers?.['x-attempt'] ?? '')}`;
      const repeat = seen.has(key);
      seen.add(key);
      return !repeat;
    });
  }
}

/** The test's side of the broker: publishes requests with confirms, collects replies and dead letters. */
export class QueueClient {
  readonly connection: Connection;
  private readonly publisher: Publisher;
  private readonly consumers: Consumer[] = [];

  constructor(url: string) {
    this.connection = new Connection({ url, retryLow: 200, retryHigh: 1000 });
    this.connection.on('error', () => undefined); // it reconnects by itself (the broker restart)
    this.publisher = this.connection.createPublisher({ confirm: true });
  }

  /** Confirmed by the broker; tried again (bounded) while the broker restarts. */
  async publish(queue: string, body: unknown, properties: { messageId?: string; correlationId?: string; replyTo?: string; contentType?: string } = {}): Promise<void> {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.publisher.send({ routingKey: queue, durable: true, contentType: 'application/json', ...properties }, raw);
        return;
      } catch (error) {
        if (attempt >= 30) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async collect(queue: string): Promise<Collected> {
    await this.connection.queueDeclare({ queue, durable: true });
    const collected = new Collected(
      this.connection.createConsumer({ queue, queueOptions: { durable: true } }, (message) => {
        collected.messages.push(message);
      }),
    );
    collected.consumer.on('error', () => undefined);
    this.consumers.push(collected.consumer);
    return collected;
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.close()));
    await this.publisher.close();
    await this.connection.close();
  }
}

const asJson = (message: AsyncMessage): Record<string, unknown> => (Buffer.isBuffer(message.body) ? JSON.parse(message.body.toString()) : message.body) as Record<string, unknown>;

describe('queue intake: execute requests from RabbitMQ become the same jobs as over HTTP, each made once and answered once', function () {
  this.timeout(300_000);
  const cluster = new ClusterFixture();
  let broker: AmqpBroker;
  let client: QueueClient;

  before(async () => {
    broker = amqpBroker();
    await cluster.setUp('intake');
    client = new QueueClient(broker.url);
  });
  after(async () => {
    await client?.close();
    await cluster.tearDown();
  });

  /** Each test its own queues, named after the namespace (the broker outlives the suite). */
  const queuesOf = (name: string) => ({ requests: `${cluster.namespace}.${name}`, replies: `${cluster.namespace}.${name}.replies`, deadLetters: `${cluster.namespace}.${name}.dead-letter` });
  const intakeConfig = (queue: string, extra = '', processes = '') =>
    imageProcessesConfig(processes).replace(
      'manager:\n',
      `manager:\n  intake: {prefetch: 20, queues: [{name: '${queue}'${extra}}]}\n  notifications: {timeout_seconds: 3, initial_backoff_seconds: 0.2, max_backoff_seconds: 2, max_attempts: 100, sweep_seconds: 1}\n`,
    );
  const server = async (config: string) => {
    const started = await cluster.server(config, API_TOKEN, { K8S_MANAGER_AMQP_URL: broker.url, LOG_LEVEL: process.env.INTAKE_LOG_LEVEL ?? '' });
    await started.services.intake!.ready; // the queue exists: what is published now is kept
    return started;
  };
  const request = (process: string, inputs: Record<string, unknown> = {}) => ({ process, execute: { inputs: { token: API_TOKEN, ...inputs }, response: 'document' } });

  it('a request runs as a Kubernetes Job on a real node, shows in /jobs with its origin, and its answer goes to reply_to once', async function () {
    const node = realNodeOrSkip(this);
    const queues = queuesOf('happy');
    const replies = await client.collect(queues.replies);
    const processes = realNodeProcess(node, 'shout', 'echo shouting on stdout; printf \'{"greeting": "HELLO FROM BUSYBOX"}\' > /dev/termination-log', {
      metadata: '{title: shout, outputs: {greeting: {schema: {type: string, contentMediaType: text/plain}}}}',
    });
    const api = await server(intakeConfig(queues.requests, '', processes));
    const messageId = randomUUID();
    await client.publish(queues.requests, request('shout'), { messageId, correlationId: 'corr-happy', replyTo: queues.replies });

    const [reply] = await replies.atLeast(1, 120_000);
    assert.equal(reply!.correlationId, 'corr-happy');
    const answer = asJson(reply!) as { statusInfo: Record<string, unknown>; results: unknown; log: { tail: string; truncated: boolean; bytes: number; href: string } };
    assertOgc('statusInfo', answer.statusInfo);
    assertOgc('results', answer.results);
    assert.equal(answer.statusInfo.status, 'successful');
    assert.deepEqual(answer.results, { greeting: 'HELLO FROM BUSYBOX' });
    const jobID = jobIdOf(queues.requests, messageId);
    assert.equal(answer.statusInfo.jobID, jobID);
    assert.match(answer.log.tail, /shouting on stdout/, 'the reply carries the log the container printed');
    assert.deepEqual([answer.log.truncated, answer.log.bytes], [false, Buffer.byteLength(answer.log.tail)]);
    assert.equal(answer.log.href, api.services.representations.url(`/jobs/${jobID}/logs`));

    // The reply is settled on the Job once the broker confirmed it: the watch may bring that a moment after the reply.
    const status = await eventually(() => api.client.get(`/jobs/${jobID}`), (res) => res.body.notifications?.reply?.status !== 'sending');
    assert.equal(status.status, 200);
    assertOgc('statusInfo', status.body);
    assert.deepEqual(status.body.origin, { kind: 'amqp', queue: queues.requests, messageId, replyTo: queues.replies, correlationId: 'corr-happy' });
    assert.deepEqual(status.body.notifications, { reply: { status: 'sent', attempts: 1 } });
    const listed = await api.client.get('/jobs?processID=shout');
    assertOgc('jobList', listed.body);
    assert.ok((listed.body.jobs as Array<{ jobID: string }>).some((job) => job.jobID === jobID));
    assert.ok(!JSON.stringify(reply).includes(API_TOKEN) && !JSON.stringify(status.body).includes(API_TOKEN), 'the token is never stored or sent');
    await cluster.stopServer(api);
  });

  it('a local process runs in the server like over HTTP, its job in the store with its origin, answered with its results', async () => {
    const queues = queuesOf('local');
    const replies = await client.collect(queues.replies);
    const api = await server(intakeConfig(queues.requests, '', `\n  echo: {type: process, processor: {name: Echo}}\n`));
    const body = { process: 'echo', execute: { inputs: { string_input: 'from the queue' }, response: 'document' } };
    await client.publish(queues.requests, body, { messageId: 'local-1', correlationId: 'local-1', replyTo: queues.replies });
    const [reply] = await replies.atLeast(1, 30_000);
    const answer = asJson(reply!) as { statusInfo: Record<string, unknown>; results: Record<string, unknown>; log?: unknown; logUnavailable: string };
    assertOgc('statusInfo', answer.statusInfo);
    assertOgc('results', answer.results);
    assert.deepEqual(answer.results, { string_input: 'from the queue' });
    assert.equal(answer.log, undefined);
    assert.match(answer.logUnavailable, /a local process/, 'the reply says why it has no log');
    const status = await eventually(() => api.client.get(`/jobs/${jobIdOf(queues.requests, 'local-1')}`), (res) => res.body.notifications?.reply?.status !== 'sending');
    assert.deepEqual([status.body.status, status.body.origin?.messageId, status.body.notifications?.reply?.status], ['successful', 'local-1', 'sent']);
    await cluster.stopServer(api);
  });

  it('the reply of a job with a long log carries its last 64 KiB, marked truncated, with the whole size and a link', async () => {
    const queues = queuesOf('long-log');
    const replies = await client.collect(queues.replies);
    const line = 'a line of a long log: ünïcödé\n';
    const annotations = { 'testenv.ogcapi/termination-message': '{"greeting": "hi"}', 'testenv.ogcapi/log': line, 'testenv.ogcapi/log-repeat': '5000' };
    const api = await server(intakeConfig(queues.requests, '', imageProcess('chatty', 'example.test/chatty:1', annotations, 'check_auth: false')));
    await client.publish(queues.requests, { process: 'chatty', execute: {} }, { messageId: 'long-log', correlationId: 'long-log', replyTo: queues.replies });
    const [reply] = await replies.atLeast(1, 60_000);
    const { log } = asJson(reply!) as { log: { tail: string; truncated: boolean; bytes: number; href: string } };
    assert.equal(log.truncated, true);
    assert.equal(log.bytes, Buffer.byteLength(line) * 5000);
    assert.ok(Buffer.byteLength(log.tail) <= 65536 && Buffer.byteLength(log.tail) > 65536 - 4, `${Buffer.byteLength(log.tail)} bytes`);
    assert.ok(log.tail.endsWith(line + line) && !log.tail.includes('\uFFFD'));
    assert.equal(log.href, api.services.representations.url(`/jobs/${jobIdOf(queues.requests, 'long-log')}/logs`));
    await cluster.stopServer(api);
  });

  it('a redelivered message (the same message_id) finds its job: no second Job, one answer', async () => {
    const queues = queuesOf('redelivered');
    const replies = await client.collect(queues.replies);
    const api = await server(intakeConfig(queues.requests));
    const messageId = randomUUID();
    for (let i = 0; i < 3; i++) await client.publish(queues.requests, request('greeter'), { messageId, correlationId: 'once', replyTo: queues.replies });
    await replies.atLeast(1, 60_000);
    await eventually(async () => api.services.intake!.metrics.taken, (taken) => taken === 3, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // sweeps: time for a repeated answer to show
    assert.equal(replies.published().length, 1, 'one answer');
    const jobs = (await cluster.jobsInNamespace()).filter((job) => job.metadata?.labels?.[LABELS.jobId] === jobIdOf(queues.requests, messageId));
    assert.equal(jobs.length, 1, 'one Job');
    await cluster.stopServer(api);
  });

  it('a malformed or invalid message goes to the dead-letter queue as problem+json saying why, and makes no job', async () => {
    const queues = queuesOf('invalid');
    const api = await server(intakeConfig(queues.requests, `, compatible: {processes: [open], inputs: {job_name: name}}`));
    const deadLetters = await client.collect(queues.deadLetters);
    const before = (await cluster.jobsInNamespace()).length;
    const cases: Array<[string, unknown, RegExp, number]> = [
      ['not-json', Buffer.from('{"process": "greeter", '), /not JSON/, 400],
      ['no-process', request('no-such-process'), /no-such-process/, 404],
      ['bad-input', request('greeter', { name: 42 }), /name/, 400],
      ['no-token', { process: 'greeter', execute: { inputs: {} } }, /token/, 401],
      ['other-image', { image: 'evil.test/miner:1', job_name: 'x' }, /never chooses an image/, 400],
    ];
    for (const [messageId, body] of cases) await client.publish(queues.requests, body, { messageId, correlationId: `c-${messageId}` });
    await client.publish(queues.requests, request('greeter'), {}); // no message_id
    const letters = await deadLetters.atLeast(cases.length + 1, 30_000);
    for (const [messageId, body, reason, status] of cases) {
      const letter = letters.find((m) => m.messageId === messageId);
      assert.ok(letter, `${messageId} is dead-lettered`);
      assert.equal(letter.contentType, 'application/problem+json');
      assert.equal(letter.correlationId, `c-${messageId}`);
      const problem = asJson(letter) as { status: number; detail: string; originalBody: string; queue: string };
      assertOgc('exception', problem);
      assert.equal(problem.status, status, problem.detail);
      assert.match(problem.detail, reason);
      assert.equal(problem.queue, queues.requests);
      assert.equal(problem.originalBody, (Buffer.isBuffer(body) ? body.toString() : JSON.stringify(body)).replace(API_TOKEN, '(redacted)'));
      assert.ok(!JSON.stringify(letter.body).includes(API_TOKEN), `${messageId}: the dead letter never repeats the API token`);
    }
    assert.match((asJson(letters.find((m) => !m.messageId)!) as { detail: string }).detail, /message_id/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(deadLetters.messages.length, cases.length + 1, 'each once: never requeued');
    assert.equal((await cluster.jobsInNamespace()).length, before, 'no job');
    assert.equal(api.services.intake!.metrics.taken, 0);
    await cluster.stopServer(api);
  });

  it("a compatible message's timeout shortens the Job's deadline below the process's; a bad timeout or an unmapped field is dead-lettered", async () => {
    const queues = queuesOf('timed');
    const timed = `
  timed:
    type: process
    processor:
      name: GenericImageProcessor
      image: example.test/greeter:1
      check_auth: false
      timeout_seconds: 60
      annotations: {testenv.ogcapi/termination-message: '{"greeting": "in time"}'}
      metadata: {title: timed, inputs: {name: {minOccurs: 0, schema: {type: string}}}, outputs: {greeting: {schema: {type: string}}}}
`;
    const api = await server(intakeConfig(queues.requests, `, compatible: {processes: [timed], inputs: {job_name: name}, timeout_field: timeout}`, timed));
    const deadLetters = await client.collect(queues.deadLetters);
    await client.publish(queues.requests, { job_name: 'nightly', timeout: 2 }, { messageId: 'timed-1' });
    await client.publish(queues.requests, { job_name: 'nightly', timeout: '2' }, { messageId: 'bad-timeout' });
    await client.publish(queues.requests, { job_name: 'nightly', input_bucket: 's3://in' }, { messageId: 'unmapped' });

    const jobID = jobIdOf(queues.requests, 'timed-1');
    const job = await eventually(
      async () => (await cluster.batch.listNamespacedJob({ namespace: cluster.namespace, labelSelector: `${LABELS.jobId}=${jobID}` })).items[0],
      (found) => found !== undefined,
      30_000,
    );
    assert.equal(job!.spec!.activeDeadlineSeconds, 2, 'the lesser of the message (2 s) and the process (60 s)');
    assert.deepEqual(JSON.parse(job!.spec!.template.spec!.containers.flatMap((c) => c.env ?? []).find((v) => v.name === 'K8S_MANAGER_INPUTS')!.value!), { name: 'nightly' }, 'the timeout is no input');

    const letters = await deadLetters.atLeast(2, 30_000);
    const detail = (id: string) => (asJson(letters.find((m) => m.messageId === id)!) as { status: number; detail: string });
    assert.deepEqual([detail('bad-timeout').status, detail('unmapped').status], [400, 400]);
    assertOgc('exception', detail('bad-timeout'));
    assert.match(detail('bad-timeout').detail, /'timeout' must be whole seconds, a positive integer/);
    assert.match(detail('unmapped').detail, /does not map: 'input_bucket'/);
    await cluster.stopServer(api);
  });

  it('a broker restart in the middle of a burst of 500 messages: every job made once, every answer published once', async () => {
    const queues = queuesOf('burst');
    const replies = await client.collect(queues.replies);
    const api = await server(intakeConfig(queues.requests, '', imageProcess('quick', 'example.test/quick:1', { 'testenv.ogcapi/termination-message': '{"greeting": "hi"}' }, 'check_auth: false')));
    const ids = Array.from({ length: 500 }, (_, i) => `burst-${i}`);
    const publishing = (async () => {
      for (const id of ids) await client.publish(queues.requests, { process: 'quick', execute: {} }, { messageId: id, correlationId: id, replyTo: queues.replies });
    })();
    publishing.catch(() => undefined); // awaited below
    await eventually(async () => api.services.intake!.metrics.taken, (taken) => taken >= 150, 120_000);
    await restartAmqpBroker(broker); // the server's and the test's connections drop and come back
    await publishing;
    const jobIDs = new Set(ids.map((id) => jobIdOf(queues.requests, id)));
    const ours = async () => (await cluster.jobsInNamespace()).map((job) => job.metadata!.labels![LABELS.jobId]!).filter((id) => jobIDs.has(id));
    const made = await eventually(ours, (found) => found.length >= 500, 180_000);
    assert.equal(new Set(made).size, 500, 'every message made a job');
    assert.equal(made.length, 500, 'no job twice');
    await replies.atLeast(500, 180_000);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // sweeps: time for a repeated answer to show
    const byCorrelation = new Map<string, number>();
    for (const reply of replies.published()) byCorrelation.set(reply.correlationId!, (byCorrelation.get(reply.correlationId!) ?? 0) + 1);
    assert.deepEqual(ids.filter((id) => byCorrelation.get(id) !== 1).map((id) => `${id}: ${byCorrelation.get(id) ?? 0}`), [], 'every answer exactly once');
    assert.equal(replies.published().length, 500);
    await cluster.stopServer(api);
  });

  it('the intake as its own process takes requests for image processes, answers them, and dead-letters local ones; a server with run_in_server: false takes none', async () => {
    const queues = queuesOf('alone');
    const replies = await client.collect(queues.replies);
    const deadLetters = await client.collect(queues.deadLetters);
    const local = `\n  echo: {type: process, processor: {name: Echo}}\n`;
    const config = intakeConfig(queues.requests, '', local).replace('intake: {', 'intake: {run_in_server: false, ');
    const dir = mkdtempSync(join(tmpdir(), 'intake-alone-'));
    const configFile = join(dir, 'server-config.yaml');
    writeFileSync(configFile, config);
    const api = await cluster.server(config, API_TOKEN, { K8S_MANAGER_AMQP_URL: broker.url });
    assert.equal(api.services.intake, undefined, 'the server runs no intake');
    const intake = await startIntakeProcess(configFile, cluster.env({ K8S_MANAGER_AMQP_URL: broker.url, K8S_MANAGER_API_TOKEN: API_TOKEN, LOG_LEVEL: 'info' }));
    try {
      await client.publish(queues.requests, request('greeter'), { messageId: 'alone-1', correlationId: 'alone-1', replyTo: queues.replies });
      await client.publish(queues.requests, { process: 'echo', execute: { inputs: {} } }, { messageId: 'alone-2' });
      const [reply] = await replies.atLeast(1, 60_000);
      assert.equal((asJson(reply!) as { statusInfo: { status: string } }).statusInfo.status, 'successful');
      const status = await api.client.get(`/jobs/${jobIdOf(queues.requests, 'alone-1')}`);
      assert.equal(status.status, 200, 'the server shows the job');
      const [letter] = await deadLetters.atLeast(1, 30_000);
      assert.match((asJson(letter!) as { detail: string }).detail, /runs inside the API server/);
      const metrics = parsePrometheusText(await (await fetch(intake.metricsUrl())).text());
      assert.equal(sumOf(metrics, 'ogcapi_intake_messages_total', 'ogcapi_intake_messages_total', { outcome: 'taken' }), 1, 'its /metrics counts the message taken');
      assert.equal(sumOf(metrics, 'ogcapi_intake_messages_total', 'ogcapi_intake_messages_total', { outcome: 'dead_lettered' }), 1, 'and the one dead-lettered');
      assert.equal(sumOf(metrics, 'ogcapi_jobs_submitted_total', 'ogcapi_jobs_submitted_total', { process: 'greeter' }), 1);
      assert.ok(!intake.output().includes(broker.url.split('@')[0]!.split('//')[1]!), 'the broker credentials are never logged');
    } finally {
      await intake.stop();
      await cluster.stopServer(api);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two replicas consume one queue: every message becomes one job, answered once', async () => {
    const queues = queuesOf('replicas');
    const replies = await client.collect(queues.replies);
    const config = intakeConfig(queues.requests).replace('prefetch: 20', 'prefetch: 4');
    const replicas = [await server(config), await server(config)];
    const ids = Array.from({ length: 80 }, (_, i) => `replica-${i}`);
    for (const id of ids) await client.publish(queues.requests, request('greeter'), { messageId: id, correlationId: id, replyTo: queues.replies });
    await replies.atLeast(80, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const taken = replicas.map((replica) => replica.services.intake!.metrics.taken);
    assert.ok(taken.every((count) => count > 0), `both replicas took messages: ${taken.join(', ')}`);
    assert.equal(taken[0]! + taken[1]!, 80);
    const jobIDs = new Set(ids.map((id) => jobIdOf(queues.requests, id)));
    const made = (await cluster.jobsInNamespace()).map((job) => job.metadata!.labels![LABELS.jobId]!).filter((id) => jobIDs.has(id));
    assert.equal(made.length, 80);
    assert.equal(new Set(replies.published().map((m) => m.correlationId)).size, 80);
    assert.equal(replies.published().length, 80);
    for (const replica of replicas) await cluster.stopServer(replica as TestServer);
  });

  it('a Job the cluster refuses (a quota of no Jobs) is dead-lettered with the API\'s reason, not requeued for ever', async () => {
    const queues = queuesOf('refused');
    const deadLetters = await client.collect(queues.deadLetters);
    const api = await server(intakeConfig(queues.requests));
    const quota = 'no-more-jobs';
    await cluster.core.createNamespacedResourceQuota({ namespace: cluster.namespace, body: { metadata: { name: quota }, spec: { hard: { 'count/jobs.batch': '0' } } } });
    try {
      await client.publish(queues.requests, request('greeter'), { messageId: 'refused-1', correlationId: 'refused-1' });
      const [letter] = await deadLetters.atLeast(1, 30_000);
      const problem = asJson(letter!) as { status: number; detail: string };
      assertOgc('exception', problem);
      assert.equal(problem.status, 502);
      assert.match(problem.detail, /forbidden|exceeded quota|quota/i);
      assert.equal(api.services.intake!.metrics.requeued, 0, 'the refusal was not taken for a passing failure');
    } finally {
      await cluster.core.deleteNamespacedResourceQuota({ name: quota, namespace: cluster.namespace });
      await cluster.stopServer(api);
    }
  });
});
