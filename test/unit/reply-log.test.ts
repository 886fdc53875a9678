import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { LogsNotAvailable } from '../../src/errors.js';
import { readTail, replyLog } from '../../src/intake/reply-log.js';
import type { LogRequest } from '../../src/jobs/backend.js';

/** A log of `count` chunks made on demand: never held whole, as a pod's log of GiBs is not. */
function* chunks(count: number, make: (index: number) => Buffer): Generator<Buffer> {
  for (let index = 0; index < count; index++) yield make(index);
}

const HREF = 'http://server.test/jobs/j-1/logs';

describe('reply log: the tail of a job\'s log in its queue reply', () => {
  describe('readTail', () => {
    it('keeps a short log whole: not truncated, its size counted', async () => {
      assert.deepEqual(await readTail(Readable.from([Buffer.from('line 1\n'), Buffer.from('line 2\n')]), 64), { tail: 'line 1\nline 2\n', truncated: false, bytes: 14 });
      assert.deepEqual(await readTail(Readable.from([]), 64), { tail: '', truncated: false, bytes: 0 });
      assert.deepEqual(await readTail(Readable.from([Buffer.from('x'.repeat(64))]), 64), { tail: 'x'.repeat(64), truncated: false, bytes: 64 });
    });

    it('gives exactly the last bytes of a log whose chunks straddle the bound, whatever their sizes', async () => {
      const text = Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join('');
      for (const size of [1, 7, 64, 100, 1000, text.length]) {
        const parts = Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size)));
        assert.deepEqual(await readTail(Readable.from(parts), 100), { tail: text.slice(-100), truncated: true, bytes: text.length }, `chunks of ${size} bytes`);
      }
    });

    it('reads a 512 MiB log in a memory of the bound, not of the log', async () => {
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const log = chunks(512, (index) => {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        return index === 511 ? Buffer.concat([chunk.subarray(5), Buffer.from('last!')]) : chunk;
      });
      const tail = await readTail(Readable.from(log), 64 * 1024);
      assert.equal(tail.bytes, 512 * 1024 * 1024);
      assert.equal(tail.truncated, true);
      assert.equal(tail.tail.length, 64 * 1024);
      assert.ok(tail.tail.endsWith('aaaalast!'));
      assert.ok(peak - before < 32 * 1024 * 1024, `memory grew by ${peak - before} bytes`);
    });

    it('starts a cut tail at a whole UTF-8 character, never with half of one', async () => {
      const text = 'añ€😀'.repeat(50); // characters of 1, 2, 3 and 4 bytes
      const bytes = Buffer.from(text);
      for (let bound = 10; bound < 21; bound++) {
        const { tail, truncated } = await readTail(Readable.from([bytes.subarray(0, 33), bytes.subarray(33)]), bound);
        assert.equal(truncated, true);
        assert.ok(!tail.includes('\uFFFD'), `bound ${bound}: no replacement character in ${JSON.stringify(tail)}`);
        assert.ok(text.endsWith(tail) && Buffer.byteLength(tail) > bound - 4 && Buffer.byteLength(tail) <= bound, `bound ${bound}: ${JSON.stringify(tail)}`);
      }
    });
  });

  describe('replyLog', () => {
    const options = { maxBytes: 16, timeoutMs: 1000 };

    it('reads the log once, not followed, and says where the whole of it is', async () => {
      const requests: LogRequest[] = [];
      const reply = await replyLog(async (request) => {
        requests.push(request);
        return Readable.from([Buffer.from('starting\nHELLO FROM BUSYBOX\n')]);
      }, HREF, options);
      assert.deepEqual(reply, { log: { tail: 'LO FROM BUSYBOX\n', truncated: true, bytes: 28, href: HREF } });
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.follow, false);
      assert.equal(requests[0]!.container, undefined, 'the main container');
    });

    it('says why there is no log instead of failing: a local process, a log that cannot be read', async () => {
      const local = await replyLog(async () => {
        throw new LogsNotAvailable('Job j-1 ran inside the server (a local process), so it has no container logs.');
      }, HREF, options);
      assert.deepEqual(local, { logUnavailable: 'Job j-1 ran inside the server (a local process), so it has no container logs.' });
      const broken = await replyLog(async () => Readable.from((async function* () {
        yield Buffer.from('half');
        throw new Error('the connection to the node was reset');
      })()), HREF, options);
      assert.deepEqual(broken, { logUnavailable: 'the connection to the node was reset' });
    });

    it('gives up within its timeout on a log that never opens or never ends', async () => {
      const started = Date.now();
      const never = await replyLog(() => new Promise<Readable>(() => undefined), HREF, { ...options, timeoutMs: 200 });
      assert.match((never as { logUnavailable: string }).logUnavailable, /could not be read within 0.2 s; it is at http:\/\/server.test\/jobs\/j-1\/logs/);
      let destroyed = false;
      const endless = new Readable({ read() {}, destroy(_error, callback) {
        destroyed = true;
        callback(null);
      } });
      endless.push('some lines\n');
      const hung = await replyLog(async () => endless, HREF, { ...options, timeoutMs: 200 });
      assert.ok('logUnavailable' in hung);
      assert.ok(destroyed, 'the stream is closed');
      assert.ok(Date.now() - started < 2000);
    });

    it('never repeats the API token, should a log print it', async () => {
      const reply = await replyLog(async () => Readable.from(['token=s3cret-token ok\n']), HREF, { maxBytes: 1024, timeoutMs: 1000, secret: 's3cret-token' });
      assert.deepEqual(reply, { log: { tail: 'token=(redacted) ok\n', truncated: false, bytes: 22, href: HREF } });
    });
  });
});
