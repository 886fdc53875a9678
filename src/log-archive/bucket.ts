import type { Readable } from 'node:stream';
import type { BucketConfig } from '../config/load.js';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '../s3/client.js';
import { s3ClientFor, unlessMissing, uploadStream } from '../s3/streams.js';

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

const LOG_TYPE = 'text/plain; charset=utf-8';

/** S3 or any S3-compatible server (path-style URLs, checksums only where the API requires them). */
export class S3LogBucket implements LogBucket {
  private readonly client: S3Client;

  constructor(private readonly config: BucketConfig) {
    // The controller retries whole pods with its own backoff; one quick SDK retry covers blips.
    this.client = s3ClientFor(config, { maxAttempts: 2 });
  }

  /** Streams the body into the object (decision 0014: an upload holds 10 MiB, whatever the log size). */
  async write(key: string, body: Readable, signal?: AbortSignal): Promise<number> {
    return uploadStream(this.client, { Bucket: this.config.bucket, Key: key, ContentType: LOG_TYPE }, body, signal ? { signal } : {});
  }

  async read(key: string): Promise<Readable | undefined> {
    const object = await unlessMissing(() => this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key })));
    return object?.Body as Readable | undefined;
  }

  async keys(prefix: string): Promise<string[]> {
    const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
  }

  close(): void {
    this.client.destroy();
  }
}
