import assert from 'node:assert/strict';
import type { IntakeQueueConfig } from '../../src/config/load.js';
import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from '../../src/errors.js';
import { jobIdOf, readQueueMessage, REDACTED, withoutToken, type QueueMessage } from '../../src/intake/messages.js';

const limits = { maxBytes: 4096, maxDepth: 10 };
const plain: IntakeQueueConfig = { name: 'requests', deadLetterQueue: 'requests.dead-letter' };
const compatible: IntakeQueueConfig = { ...plain, compatible: { processes: ['copy'], inputs: { job_name: 'name', input_bucket: 'source', output_bucket: 'target' }, timeoutField: 'timeout' } };
const imageOf = (id: string) => (id === 'copy' ? 'registry.test/copy:1' : undefined);
const message = (body: unknown, properties: Partial<QueueMessage> = {}): QueueMessage => ({
  body: Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)),
  messageId: 'm-1',
  ...properties,
});
const read = (m: QueueMessage, queue = plain) => readQueueMessage(m, queue, limits, imageOf);

describe('queue intake: reading a message into an execute request', () => {
  it('takes the process id and the execute request, and records the origin with reply_to and correlation_id', () => {
    const request = read(message({ process: 'echo', execute: { inputs: { text: 'hi' } } }, { replyTo: 'answers', correlationId: 'c-7' }));
    assert.equal(request.processId, 'echo');
    assert.deepEqual(request.execute, { inputs: { text: 'hi' } });
    assert.deepEqual(request.origin, { kind: 'amqp', queue: 'requests', messageId: 'm-1', replyTo: 'answers', correlationId: 'c-7' });
    assert.equal(request.jobID, jobIdOf('requests', 'm-1'));
  });

  it('derives one UUID-shaped job id per queue and message_id, so a redelivery finds its job', () => {
    assert.equal(jobIdOf('q', 'a'), jobIdOf('q', 'a'));
    assert.notEqual(jobIdOf('q', 'a'), jobIdOf('q', 'b'));
    assert.notEqual(jobIdOf('q', 'a'), jobIdOf('r', 'a'));
    assert.match(jobIdOf('q', 'a'), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('takes a body the client library already parsed (application/json) under the same limits', () => {
    assert.equal(read({ body: { process: 'echo', execute: {} }, messageId: 'm-2', contentType: 'application/json' }).processId, 'echo');
    assert.throws(() => read({ body: { process: 'echo', execute: { inputs: { big: 'x'.repeat(5000) } } }, messageId: 'm-2' }), PayloadTooLarge);
  });

  const refusals: Array<[string, QueueMessage, new (...args: never[]) => Error, RegExp]> = [
    ['no message_id', message({ process: 'echo', execute: {} }, { messageId: undefined }), InvalidRequest, /message_id/],
    ['not JSON', message(Buffer.from('{"process": ')), InvalidRequest, /not JSON/],
    ['a media type other than JSON', message({ process: 'echo', execute: {} }, { contentType: 'text/xml' }), UnsupportedMediaType, /text\/xml/],
    ['too large', message({ process: 'echo', execute: { inputs: { text: 'x'.repeat(5000) } } }), PayloadTooLarge, /max_body_bytes/],
    ['nested too deeply', message({ process: 'echo', execute: JSON.parse('['.repeat(12) + ']'.repeat(12)) as unknown }), InvalidRequest, /max_body_depth/],
    ['not an object', message([1, 2]), InvalidRequest, /JSON object/],
    ['no process', message({ execute: {} }), InvalidRequest, /'process'/],
    ['no execute request', message({ process: 'echo' }), InvalidRequest, /'execute'/],
    ['unknown members', message({ process: 'echo', execute: {}, image: 'evil:1' }), InvalidRequest, /'image'/],
  ];
  for (const [what, given, type, reason] of refusals) {
    it(`refuses a message with ${what}, saying why`, () => assert.throws(() => read(given), (error: Error) => error instanceof type && reason.test(error.message)));
  }

  describe('the simpler shape of queue workers (a queue with `compatible`)', () => {
    it('maps its fields to the inputs of the configured process, and its timeout field to the bound on the job', () => {
      const request = read(message({ job_name: 'nightly', input_bucket: 's3://in', output_bucket: 's3://out', timeout: 600 }), compatible);
      assert.equal(request.processId, 'copy');
      assert.deepEqual(request.execute, { inputs: { name: 'nightly', source: 's3://in', target: 's3://out' }, response: 'document' });
      assert.equal(request.timeoutSeconds, 600);
      assert.equal(read(message({ job_name: 'nightly' }), compatible).timeoutSeconds, undefined, 'no timeout: the process bounds it alone');
    });

    it('refuses a field it does not map, naming it: dropped, it would be an input lost', () => {
      assert.throws(
        () => read(message({ job_name: 'nightly', extra: 'lost', other: 1 }), compatible),
        (error: Error) => error instanceof InvalidRequest && /does not map: 'extra', 'other' \(it takes process, image, job_name, input_bucket, output_bucket, timeout\)/.test(error.message),
      );
      const untimed: IntakeQueueConfig = { ...plain, compatible: { processes: ['copy'], inputs: { job_name: 'name' } } };
      assert.throws(() => read(message({ job_name: 'nightly', timeout: 60 }), untimed), /does not map: 'timeout'/);
    });

    for (const bad of [0, -5, 2.5, '60', null, 1e300]) {
      it(`refuses a timeout of ${JSON.stringify(bad)}: whole seconds, a positive integer`, () => {
        assert.throws(() => read(message({ job_name: 'x', timeout: bad }), compatible), (error: Error) => error instanceof InvalidRequest && /'timeout' must be whole seconds, a positive integer/.test(error.message));
      });
    }

    it("accepts the process's own image, and refuses any other: a message never chooses an image", () => {
      assert.equal(read(message({ image: 'registry.test/copy:1', job_name: 'x' }), compatible).processId, 'copy');
      assert.throws(() => read(message({ image: 'evil.test/miner:latest', job_name: 'x' }), compatible), /never chooses an image/);
    });

    it('refuses a process the queue is not configured for', () => {
      assert.throws(() => read(message({ process: 'echo', job_name: 'x' }), compatible), /not one this queue takes \(copy\)/);
    });

    it('still takes the OGC shape on the same queue', () => {
      assert.equal(read(message({ process: 'echo', execute: {} }), compatible).processId, 'echo');
    });
  });

  describe("a dead letter's copy of the message", () => {
    const secret = 's3cr3t-t0ken';
    it('replaces the API token, given plainly or as a qualified value, and keeps every other byte', () => {
      const plainly = `{"process": "echo", "execute": {"inputs": {"token": "${secret}", "n": 1}}}`;
      assert.equal(withoutToken(plainly, plain), `{"process": "echo", "execute": {"inputs": {"token": "${REDACTED}", "n": 1}}}`);
      const qualified = `{"process":"echo","execute":{"inputs":{"n":2,"token":{"value":"${secret}"}}}}`;
      assert.equal(withoutToken(qualified, plain), `{"process":"echo","execute":{"inputs":{"n":2,"token":"${REDACTED}"}}}`);
      assert.equal(withoutToken(`{"token": "a\\"${secret}"}`, plain), `{"token": "${REDACTED}"}`, 'an escaped quote does not end it early');
      assert.equal(withoutToken('{"process": ', plain), '{"process": ', 'a body that is not JSON is kept');
    });

    it('replaces the field a compatible queue maps to the token input', () => {
      const queue: IntakeQueueConfig = { ...compatible, compatible: { processes: ['copy'], inputs: { job_name: 'name', api_key: 'token' } } };
      const text = withoutToken(`{"job_name": "nightly", "api_key": "${secret}"}`, queue);
      assert.ok(!text.includes(secret), text);
      assert.match(text, /"job_name": "nightly"/);
    });
  });
});
