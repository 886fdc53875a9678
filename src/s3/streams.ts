import type { Readable } from 'node:stream';
import type { BucketConfig } from '../config/load.js';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from './client.js';

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

/** The answer of a read, or undefined when the object is not there (NoSuchKey, or a 404 to a HEAD). */
export async function unlessMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (name === 'NoSuchKey' || $metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/** The body went past `maxBytes`; the upload was aborted and nothing was stored. */
export class ObjectTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

/**
 * Streams the body into one object through two buffers of a part's size, reused for every part (one
 * fills while the other uploads): an upload holds 10 MiB, whatever the size (decision 0014). A body that
 * fits in one part is one PutObject; a larger one a multipart upload, aborted on failure so no incomplete
 * upload stays. Resolves with the bytes stored.
 */
export async function uploadStream(
  client: S3Client,
  object: { Bucket: string; Key: string; ContentType: string },
  body: Readable,
  { signal, maxBytes = Infinity }: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<number> {
  const { ContentType, ...target } = object;
  const options = signal ? { abortSignal: signal } : {};
  const buffers = [Buffer.allocUnsafe(PART_SIZE), Buffer.allocUnsafe(PART_SIZE)];
  let part = buffers[0]!;
  let filled = 0;
  let bytes = 0;
  let uploadId: string | undefined;
  const parts: Array<Promise<{ ETag: string; PartNumber: number }>> = [];
  /** Starts uploading the full buffer and switches to the other one, once its own upload is done. */
  const sendPart = async () => {
    uploadId ??= (await client.send(new CreateMultipartUploadCommand({ ...target, ContentType }), options)).UploadId!;
    const PartNumber = parts.length + 1;
    const sent = client.send(new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: part.subarray(0, filled) }), options);
    const stored = sent.then(({ ETag }) => ({ ETag: ETag!, PartNumber }));
    stored.catch(() => undefined); // awaited below; a failure must not be "unhandled" before then
    parts.push(stored);
    if (parts.length > 1) await parts.at(-2); // the other buffer is free once its part is stored
    part = buffers[PartNumber % 2]!;
    filled = 0;
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new ObjectTooLarge(maxBytes);
      for (let offset = 0; offset < chunk.length; ) {
        const copied = chunk.copy(part, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === PART_SIZE) await sendPart();
      }
    }
    if (uploadId === undefined) {
      await client.send(new PutObjectCommand({ ...target, ContentType, Body: part.subarray(0, filled) }), options);
      return bytes;
    }
    if (filled > 0) await sendPart();
    const Parts = await Promise.all(parts);
    await client.send(new CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts } }), options);
    return bytes;
  } catch (error) {
    body.destroy();
    await Promise.allSettled(parts);
    if (uploadId !== undefined) await client.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/** Deletes every object under the prefix and aborts every multipart upload left unfinished there. */
export async function removePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (let token: string | undefined, more = true; more; ) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (keys.length > 0) {
      const deleted = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      const failed = deleted.Errors ?? [];
      if (failed.length > 0) throw new Error(`${failed.length} objects under ${prefix} could not be deleted (${failed[0]!.Code}: ${failed[0]!.Key})`);
    }
    token = listed.NextContinuationToken;
    more = Boolean(listed.IsTruncated && token);
  }
  for (let keyMarker: string | undefined, uploadIdMarker: string | undefined, more = true; more; ) {
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}) }));
    for (const upload of listed.Uploads ?? []) {
      if (upload.Key && upload.UploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    keyMarker = listed.NextKeyMarker;
    uploadIdMarker = listed.NextUploadIdMarker;
    more = Boolean(listed.IsTruncated && keyMarker);
  }
}
