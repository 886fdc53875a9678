import { Transform, type Readable } from 'node:stream';
import type { BucketConfig } from '../config/load.js';
import { GetObjectCommand, ListObjectsV2Command, S3Client, Upload } from './s3-client.js';

/** Where archived logs are kept. An interface so that tests of the controller's logic need no S3. */
export interface LogBucket {
  /** Stores the stream under the key (the same key again replaces it); resolves with the bytes written. */
  write(key: string, body: Readable, signal?: AbortSignal): Promise<number>;
  /** The stored object, or undefined if there is none. */
  read(key: string): Promise<Readable | undefined>;
  /** The keys under a prefix, in lexical order (at most 1,000: a job has a handful of pods). */
  keys(prefix: string): Promise<string[]>;
  close(): void;
}

/** Where the logs of one job are archived: `<prefix><job id>/`. */
export function jobLogPrefix(prefix: string, jobID: string): string {
  return `${prefix}${jobID}/`;
}

/** The archive key of one container's log. Pod and container names are DNS labels, safe in keys. */
export function logKey(prefix: string, jobID: string, podName: string, container: string): string {
  return `${jobLogPrefix(prefix, jobID)}${podName}/${container}.log`;
}

// Multipart parts of 5 MiB (S3's smallest), one in flight: an upload holds a few parts' worth of memory,
// whatever the log size (measured in test/kubernetes/log-archive.test.ts).
const PART_SIZE = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT = 1;

/** A client for S3 or any S3-compatible server: path-style URLs, checksums only where the API requires them. */
export function s3ClientFor(server: Pick<BucketConfig, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>, options: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...options,
  });
}

/** S3 or any S3-compatible server (path-style URLs, checksums only where the API requires them). */
export class S3LogBucket implements LogBucket {
  private readonly client: S3Client;

  constructor(private readonly config: BucketConfig) {
    // The controller retries whole pods with its own backoff; one quick SDK retry covers blips.
    this.client = s3ClientFor(config, { maxAttempts: 2 });
  }

  async write(key: string, body: Readable, signal?: AbortSignal): Promise<number> {
    // Counted in a transform: a 'data' listener on `body` would make it flow past the upload's pace.
    let bytes = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
    );
    body.once('error', (error) => counted.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.config.bucket, Key: key, Body: counted, ContentType: 'text/plain; charset=utf-8' },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    return bytes;
  }

  async read(key: string): Promise<Readable | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return object.Body as Readable;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async keys(prefix: string): Promise<string[]> {
    const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
  }

  close(): void {
    this.client.destroy();
  }
}
