import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { S3Client } from '../../src/s3/client.js';
import { uploadStream } from '../../src/s3/streams.js';

describe('S3 streaming upload', () => {
  it('rejects (and aborts the multipart upload) when a part fails while the body is still arriving; nothing goes unhandled', async () => {
    const sent: string[] = [];
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        const name = command.constructor.name;
        sent.push(name);
        if (name === 'CreateMultipartUploadCommand') return { UploadId: 'u-1' };
        if (name === 'UploadPartCommand') throw new Error('part refused');
        return {};
      },
    } as unknown as S3Client;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // a slow body larger than two parts: the first part fails while more bytes are still awaited
      const body = Readable.from((async function* () {
        for (let i = 0; i < 12; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          yield Buffer.alloc(1024 * 1024);
        }
      })());
      await assert.rejects(uploadStream(client, { Bucket: 'b', Key: 'k', ContentType: 'text/plain' }, body), /part refused/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
      assert.equal(sent.at(-1), 'AbortMultipartUploadCommand');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
