import assert from 'node:assert/strict';
import type { AsyncMessage, Connection } from 'rabbitmq-client';
import { pino } from 'pino';
import type { IntakeConfig } from '../../src/config/load.js';
import { QueueIntake } from '../../src/intake/consumer.js';
import type { JobManager } from '../../src/jobs/manager.js';

/** A connection that hands the consumer's handler to the test and keeps what is published. */
function fakeConnection() {
  const published: Array<{ envelope: unknown; body: Buffer }> = [];
  let handler: ((message: AsyncMessage) => Promise<number>) | undefined;
  const connection = {
    createPublisher: () => ({ send: async (envelope: unknown, body: Buffer) => void published.push({ envelope, body }), close: async () => undefined }),
    createConsumer: (_props: unknown, take: (message: AsyncMessage) => Promise<number>) => {
      handler = take;
      return { on: () => undefined, close: async () => undefined };
    },
  } as unknown as Connection;
  return { connection, published, take: (message: Partial<AsyncMessage>) => handler!(message as AsyncMessage) };
}

const config: IntakeConfig = { url: 'amqp://127.0.0.1', host: '127.0.0.1', runInServer: true, prefetch: 4, replyLogBytes: 0, queues: [{ name: 'requests', deadLetterQueue: 'requests.dead-letter' }] };
const options = { limits: { maxBytes: 4096, maxDepth: 10 }, imageOf: () => undefined, refusal: () => undefined };

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
});
