import { Readable } from 'node:stream';
import type { BucketConfig } from '../config/load.js';
import { DeleteObjectCommand, GetObjectCommand, getSignedUrl, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '../s3/client.js';
import { ObjectTooLarge, removePrefix, s3ClientFor, unlessMissing, uploadStream } from '../s3/streams.js';
import { FileTooLarge, type FileArea, type JobFiles, type StoredFile } from './job-files.js';

const JOB_ID_SEGMENT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AREAS: FileArea[] = ['inputs', 'outputs'];
/** The longest a presigned URL may live (SigV4). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
/** Beside the job prefixes: one empty object per Kubernetes job with files, under its namespace (see `recordClusterJob`). */
const CLUSTER_JOBS = 'cluster-jobs/';

/**
 * Job files in the data bucket, `<prefix><job>/<area>/<name>`: shared by every replica (and, for
 * image processes, by the job's pod). The bucket stays private: clients reach a file through the
 * server's signed link, which streams it.
 */
export class S3JobFiles implements JobFiles {
  private readonly client: S3Client;
  /** Signs URLs for the store's public address; it never sends a request. */
  private readonly publicClient: S3Client | undefined;

  constructor(private readonly config: BucketConfig) {
    this.client = s3ClientFor(config);
    if (config.publicEndpoint) this.publicClient = s3ClientFor({ ...config, endpoint: config.publicEndpoint });
  }

  async write(jobID: string, area: FileArea, name: string, body: Readable | Uint8Array | string, mediaType: string, maxBytes?: number): Promise<StoredFile> {
    const stream = typeof body === 'string' || body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
    try {
      const size = await uploadStream(this.client, { Bucket: this.config.bucket, Key: this.key(jobID, area, name), ContentType: mediaType }, stream, maxBytes === undefined ? {} : { maxBytes });
      return { mediaType, size };
    } catch (error) {
      if (error instanceof ObjectTooLarge) throw new FileTooLarge(error.limit);
      throw error;
    }
  }

  async open(jobID: string, area: FileArea, name: string): Promise<Readable | undefined> {
    const object = await unlessMissing(() => this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(jobID, area, name) })));
    return object?.Body as Readable | undefined;
  }

  async openObject(bucket: string, key: string): Promise<{ body: Readable; mediaType?: string } | undefined> {
    if (bucket !== this.config.bucket) throw new Error(`s3:// references name the data bucket '${this.config.bucket}' only, not '${bucket}'`);
    // Job files (and archived logs) sit under a job id; they are reached through their job, never by name.
    if (key.split('/').some((segment) => JOB_ID_SEGMENT.test(segment))) throw new Error('s3:// references may not name the files of a job');
    const object = await unlessMissing(() => this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    return object && { body: object.Body as Readable, ...(object.ContentType ? { mediaType: object.ContentType } : {}) };
  }

  /** The size and media type of a stored file, or undefined if there is none (e.g. what a job's pod left). */
  async stat(jobID: string, area: FileArea, name: string): Promise<StoredFile | undefined> {
    const head = await unlessMissing(() => this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(jobID, area, name) })));
    return head && { mediaType: head.ContentType ?? 'application/octet-stream', size: head.ContentLength ?? 0 };
  }

  /**
   * A URL that lets its holder, and nobody else, read one file of a job (`get`) or write it with the
   * given media type (`put`) until it expires: what a job's staging containers get instead of credentials.
   */
  presign(jobID: string, area: FileArea, name: string, access: { get: true } | { put: string }, expiresInSeconds: number): Promise<string> {
    const object = { Bucket: this.config.bucket, Key: this.key(jobID, area, name) };
    const command = 'put' in access ? new PutObjectCommand({ ...object, ContentType: access.put }) : new GetObjectCommand(object);
    return getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
  }

  /**
   * With a public endpoint, a link clients download a job's file with straight from the store (no hop
   * through a server), expiring after `expiresInSeconds`; the store serves it in `mediaType`.
   */
  async publicLink(jobID: string, area: FileArea, name: string, mediaType: string, expiresInSeconds: number): Promise<string | undefined> {
    if (!this.publicClient) return undefined;
    const command = new GetObjectCommand({ Bucket: this.config.bucket, Key: this.key(jobID, area, name), ResponseContentType: mediaType });
    return getSignedUrl(this.publicClient, command, { expiresIn: Math.min(expiresInSeconds, MAX_PRESIGN_SECONDS) });
  }

  /** Removes the job's files, unfinished uploads included; only its areas, so a log archive may share the prefix. */
  async removeJob(jobID: string): Promise<void> {
    for (const area of AREAS) await removePrefix(this.client, this.config.bucket, `${this.config.pathPrefix}${jobID}/${area}/`);
  }

  /**
   * Notes that a Kubernetes job keeps files here, before its Job exists. The note lives outside the
   * job's prefix, so files a pod uploads after their removal (a sidecar stopping after a dismissal)
   * are still found: `clusterJobs` lists the notes, `forgetClusterJob` removes files and note.
   */
  async recordClusterJob(namespace: string, jobID: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: this.clusterJobKey(namespace, jobID), Body: new Uint8Array(0) }));
  }

  /** The Kubernetes jobs of the namespace with files, and when each was noted (ms): an installation sweeps its own only. */
  async *clusterJobs(namespace: string): AsyncGenerator<{ jobID: string; since: number }> {
    const prefix = this.clusterJobKey(namespace, '');
    for (let token: string | undefined, more = true; more; ) {
      const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const { Key, LastModified } of listed.Contents ?? []) {
        const jobID = Key?.slice(prefix.length) ?? '';
        if (JOB_ID_SEGMENT.test(jobID)) yield { jobID, since: LastModified?.getTime() ?? 0 };
      }
      token = listed.NextContinuationToken;
      more = Boolean(listed.IsTruncated && token);
    }
  }

  async forgetClusterJob(namespace: string, jobID: string): Promise<void> {
    await this.removeJob(jobID);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.clusterJobKey(namespace, jobID) }));
  }

  close(): void {
    this.client.destroy();
    this.publicClient?.destroy();
  }

  private clusterJobKey(namespace: string, jobID: string): string {
    return `${this.config.pathPrefix}${CLUSTER_JOBS}${namespace}/${jobID}`;
  }

  /** Names are any string (input and output ids): encoded, so each is one key segment. */
  private key(jobID: string, area: FileArea, name: string): string {
    return `${this.config.pathPrefix}${jobID}/${area}/${encodeURIComponent(name)}`;
  }
}
