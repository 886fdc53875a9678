import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What the server knows of a job's file; its bytes stay in the JobFiles store. */
export interface StoredFile {
  mediaType: string;
  size: number;
}

/** A job's input files (given by the client) and output files (produced by the job). */
export type FileArea = 'inputs' | 'outputs';

/** A file was larger than its limit; nothing of it is kept. */
export class FileTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

/** Where the files of jobs are kept: `<job>/<area>/<name>`, removed with the job. */
export interface JobFiles {
  /** Stores (or replaces) one file of a job, streaming the body; FileTooLarge past `maxBytes`. */
  write(jobID: string, area: FileArea, name: string, body: Readable | Uint8Array | string, mediaType: string, maxBytes?: number): Promise<StoredFile>;
  /** The bytes of a file, or undefined if there is none. */
  open(jobID: string, area: FileArea, name: string): Promise<Readable | undefined>;
  /** Removes every file of the job. */
  removeJob(jobID: string): Promise<void>;
  /**
   * An object of the store's bucket that an input names as `s3://<bucket>/<key>`: its bytes and media
   * type, undefined if there is none. Only stores with a bucket have it.
   */
  openObject?(bucket: string, key: string): Promise<{ body: Readable; mediaType?: string } | undefined>;
  /** A link straight to the stored file, for stores that clients reach themselves; else undefined. */
  publicLink?(jobID: string, area: FileArea, name: string, mediaType: string, expiresInSeconds: number): Promise<string | undefined>;
  close(): void;
}

/** Job ids are UUIDs the server made; anything else (a crafted path) names no file. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job files on local disk under `root` (the embedded default: no bucket needed). */
export class DiskJobFiles implements JobFiles {
  constructor(private readonly root: string) {}

  async write(jobID: string, area: FileArea, name: string, body: Readable | Uint8Array | string, mediaType: string, maxBytes = Infinity): Promise<StoredFile> {
    const path = this.path(jobID, area, name);
    if (!path) throw new Error(`not a job id: ${jobID}`);
    await mkdir(join(this.root, jobID, area), { recursive: true });
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(size > maxBytes ? new FileTooLarge(maxBytes) : null, chunk);
      },
    });
    try {
      await pipeline(typeof body === 'string' || body instanceof Uint8Array ? Readable.from([body]) : body, counted, createWriteStream(path));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { mediaType, size: (await stat(path)).size };
  }

  async open(jobID: string, area: FileArea, name: string): Promise<Readable | undefined> {
    const path = this.path(jobID, area, name);
    if (!path) return undefined;
    const stream = createReadStream(path);
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(undefined) : reject(error)));
    });
  }

  async removeJob(jobID: string): Promise<void> {
    if (JOB_ID.test(jobID)) await rm(join(this.root, jobID), { recursive: true, force: true });
  }

  close(): void {
    // nothing held open between calls
  }

  /** Names are any string (input and output ids): encoded, so none can climb out of the job's folder. */
  private path(jobID: string, area: FileArea, name: string): string | undefined {
    return JOB_ID.test(jobID) ? join(this.root, jobID, area, encodeURIComponent(name).replace(/\./g, '%2E')) : undefined;
  }
}
