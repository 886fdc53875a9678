import type { Readable } from 'node:stream';
import type { BucketConfig } from '../config/load.js';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from './s3-client.js';

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

// Multipart parts of 5 MiB, S3's smallest (decision 0014).
const PART_SIZE = 5 * 1024 * 1024;

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

const LOG_TYPE = 'text/plain; charset=utf-8';

/** S3 or any S3-compatible server (path-style URLs, checksums only where the API requires them). */
export class S3LogBucket implements LogBucket {
  private readonly client: S3Client;

  constructor(private readonly config: BucketConfig) {
    // The controller retries whole pods with its own backoff; one quick SDK retry covers blips.
    this.client = s3ClientFor(config, { maxAttempts: 2 });
  }

  /**
   * Streams the body through two buffers of a part's size, reused for every part (one fills while the
   * other uploads): an upload holds 10 MiB, whatever the log size (decision 0014). A log that fits in one
   * part is one PutObject; a larger one a multipart upload, aborted on failure so no incomplete upload stays.
   */
  async write(key: string, body: Readable, signal?: AbortSignal): Promise<number> {
    const object = { Bucket: this.config.bucket, Key: key };
    const options = signal ? { abortSignal: signal } : {};
    const buffers = [Buffer.allocUnsafe(PART_SIZE), Buffer.allocUnsafe(PART_SIZE)];
    let part = buffers[0]!;
    let filled = 0;
    let bytes = 0;
    let uploadId: string | undefined;
    const parts: Array<Promise<{ ETag: string; PartNumber: number }>> = [];
    /** Starts uploading the full buffer and switches to the other one, once its own upload is done. */
    const sendPart = async () => {
      uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ ...object, ContentType: LOG_TYPE }), options)).UploadId!;
      const PartNumber = parts.length + 1;
      const sent = this.client.send(new UploadPartCommand({ ...object, UploadId: uploadId, PartNumber, Body: part.subarray(0, filled) }), options);
      parts.push(sent.then(({ ETag }) => ({ ETag: ETag!, PartNumber })));
      sent.catch(() => undefined); // awaited below
      if (parts.length > 1) await parts.at(-2); // the other buffer is free once its part is stored
      part = buffers[PartNumber % 2]!;
      filled = 0;
    };
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        for (let offset = 0; offset < chunk.length; ) {
          const copied = chunk.copy(part, filled, offset);
          filled += copied;
          offset += copied;
          if (filled === PART_SIZE) await sendPart();
        }
      }
      if (uploadId === undefined) {
        await this.client.send(new PutObjectCommand({ ...object, ContentType: LOG_TYPE, Body: part.subarray(0, filled) }), options);
        return bytes;
      }
      if (filled > 0) await sendPart();
      const Parts = await Promise.all(parts);
      await this.client.send(new CompleteMultipartUploadCommand({ ...object, UploadId: uploadId, MultipartUpload: { Parts } }), options);
      return bytes;
    } catch (error) {
      await Promise.allSettled(parts);
      if (uploadId !== undefined) await this.client.send(new AbortMultipartUploadCommand({ ...object, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
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
