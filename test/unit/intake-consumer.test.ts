import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ConsumerStatus, type AsyncMessage, type Connection } from 'rabbitmq-client';
import { pino } from 'pino';
import type { IntakeConfig } from '../../src/config/load.js';
import { ClusterRefusedJob, ClusterUnavailable, InvalidRequest } from '../../src/errors.js';
import { QueueIntake } from '../../src/intake/consumer.js';
import type { JobManager } from '../../src/jobs/manager.js';

/** A connection that hands the consumer's handler to the test and keeps what is published. */
function fakeConnection() {
  const published: Array<{ envelope: unknown; body: Buffer }> = [];
  let handler: ((message: AsyncMessage) => Promise<number>) | undefined;
  const broker = { down: false };
  const consumers: EventEmitter[] = [];
  const connection = {
    createPublisher: () => ({
      send: async (envelope: unknown, body: Buffer) => {
        if (broker.down) throw new Error('publish not confirmed: connection closed');
        published.push({ envelope, body });
      },
      close: async () => undefined,
    }),
    createConsumer: (_props: unknown, take: (message: AsyncMessage) => Promise<number>) => {
      handler = take;
      const consumer = Object.assign(new EventEmitter(), { close: async () => undefined });
      consumers.push(consumer);
      return consumer;
    },
  } as unknown as Connection;
  return { connection, published, broker, consumers, take: (message: Partial<AsyncMessage>) => handler!(message as AsyncMessage) };
}

const config: IntakeConfig = { url: 'amqp://127.0.0.1', host: '127.0.0.1', runInServer: true, prefetch: 4, replyLogBytes: 0, queues: [{ name: 'requests', deadLetterQueue: 'requests.dead-letter' }] };
const options = { limits: { maxBytes: 4096, maxDepth: 10 }, imageOf: () => undefined, refusal: () => undefined, requeuePause: () => 0 };
const { ACK, REQUEUE } = ConsumerStatus;

describe('queue intake: taking messages', () => {
  it('takes copies of one message arriving at once one after the other: one job, both acknowledged, no dead letter', async () => {
    // A store whose job id is unique, like the local jobs' SQLite table: a second insert of the id fails.
    const stored = new Set<string>();
    const jobs = {
      async execute(_process: string, _body: unknown, _preferences: unknown, queued?: { jobID: string }) {
        const id = queued!.jobID;
        if (stored.has(id)) return { mode: 'async', job: { jobID: id, processID: 'echo' }, preferenceApplied: [] };
        await new Promise((resolve) => setTimeout(resolve, 20)); // validation, input files
        if (stored.has(id)) throw new Error('UNIQUE constraint failed: jobs.job_id');
        stored.add(id);
        return { mode: 'async', job: { jobID: id, processID: 'echo' }, preferenceApplied: [] };
      },
    } as unknown as Pick<JobManager, 'execute'>;
    const broker = fakeConnection();
    const intake = new QueueIntake(broker.connection, config, jobs, options, pino({ level: 'silent' }));
    intake.start();
    const message = { body: Buffer.from('{"process": "echo", "execute": {}}'), messageId: 'm-1', redelivered: false };
    const statuses = await Promise.all([broker.take(message), broker.take(message), broker.take(message)]);
    assert.deepEqual(statuses, [0, 0, 0], 'each copy acknowledged');
    assert.equal(stored.size, 1);
    assert.deepEqual(broker.published, [], 'no dead letter');
    assert.equal(intake.metrics.taken, 3);
  });

  it('survives a consumer whose setup fails before it is ready (broker down at start): no unhandled rejection, ready once it is', async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      const broker = fakeConnection();
      const intake = new QueueIntake(broker.connection, config, { execute: async () => ({}) } as unknown as Pick<JobManager, 'execute'>, options, pino({ level: 'silent' }));
      intake.start();
      let ready = false;
      void intake.ready.then(() => (ready = true));
      broker.consumers[0]!.emit('error', new Error('consumer setup failed; channel aquisition timed out'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
      assert.equal(ready, false);
      broker.consumers[0]!.emit('ready'); // the client retried and the broker is back
      await intake.ready;
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it("dead-letters a refused message without the API token it carried", async () => {
    const jobs = { execute: async () => Promise.reject(new Error('boom')) } as unknown as Pick<JobManager, 'execute'>;
    const broker = fakeConnection();
    const intake = new QueueIntake(broker.connection, config, jobs, options, pino({ level: 'silent' }));
    intake.start();
    const status = await broker.take({ body: Buffer.from('{"process": "echo", "execute": {"inputs": {"token": "s3cr3t"}}}'), messageId: 'm-2', redelivered: false });
    assert.equal(status, 0);
    const letter = JSON.parse(broker.published[0]!.body.toString()) as { status: number; originalBody: string };
    assert.equal(letter.status, 500);
    assert.ok(!broker.published[0]!.body.toString().includes('s3cr3t'), letter.originalBody);
  });

  const failing = (error: Error) => ({ execute: async () => Promise.reject(error) }) as unknown as Pick<JobManager, 'execute'>;
  const message = { body: Buffer.from('{"process": "echo", "execute": {}}'), messageId: 'm-3', redelivered: false };

  it('puts a message back when the cluster cannot be reached, and dead-letters it when the cluster refused its Job', async () => {
    const unreachable = fakeConnection();
    new QueueIntake(unreachable.connection, config, failing(new ClusterUnavailable('connect ECONNREFUSED')), options, pino({ level: 'silent' })).start();
    assert.equal(await unreachable.take(message), REQUEUE);
    assert.deepEqual(unreachable.published, []);

    const refused = fakeConnection();
    const intake = new QueueIntake(refused.connection, config, failing(new ClusterRefusedJob('admission webhook "policy" denied the request')), options, pino({ level: 'silent' }));
    intake.start();
    assert.equal(await refused.take(message), ACK, 'asking again would not help: not requeued for ever');
    assert.match((JSON.parse(refused.published[0]!.body.toString()) as { detail: string }).detail, /denied the request/);
    assert.deepEqual(intake.metrics, { taken: 0, deadLettered: 1, requeued: 0 });
  });

  it('keeps a refused message on the queue when its dead letter is not confirmed, and counts it requeued', async () => {
    const broker = fakeConnection();
    broker.broker.down = true;
    const intake = new QueueIntake(broker.connection, config, failing(new InvalidRequest('bad')), options, pino({ level: 'silent' }));
    intake.start();
    assert.equal(await broker.take(message), REQUEUE, 'not acknowledged: it would be lost');
    assert.deepEqual(intake.metrics, { taken: 0, deadLettered: 0, requeued: 1 });
  });
});
