import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What the server knows of a file a job produced; its bytes stay in the JobFiles store. */
export interface StoredFile {
  mediaType: string;
  size: number;
}

/** Where the files of jobs are kept: `<job>/outputs/<output id>`, removed with the job. */
export interface JobFiles {
  /** Stores (or replaces) one output file of a job, streaming the body. */
  writeOutput(jobID: string, outputId: string, body: Readable | Uint8Array | string, mediaType: string): Promise<StoredFile>;
  /** The bytes of an output file, or undefined if there is none. */
  openOutput(jobID: string, outputId: string): Promise<Readable | undefined>;
  /** Removes every file of the job. */
  removeJob(jobID: string): Promise<void>;
}

/** Job ids are UUIDs the server made; anything else (a crafted path) names no file. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job files on local disk under `root` (the embedded default: no bucket needed). */
export class DiskJobFiles implements JobFiles {
  constructor(private readonly root: string) {}

  async writeOutput(jobID: string, outputId: string, body: Readable | Uint8Array | string, mediaType: string): Promise<StoredFile> {
    const path = this.outputPath(jobID, outputId);
    if (!path) throw new Error(`not a job id: ${jobID}`);
    await mkdir(join(this.root, jobID, 'outputs'), { recursive: true });
    await pipeline(typeof body === 'string' || body instanceof Uint8Array ? Readable.from([body]) : body, createWriteStream(path));
    return { mediaType, size: (await stat(path)).size };
  }

  async openOutput(jobID: string, outputId: string): Promise<Readable | undefined> {
    const path = this.outputPath(jobID, outputId);
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

  /** Output ids are any string: encoded, so none can climb out of the job's folder. */
  private outputPath(jobID: string, outputId: string): string | undefined {
    return JOB_ID.test(jobID) ? join(this.root, jobID, 'outputs', encodeURIComponent(outputId).replace(/\./g, '%2E')) : undefined;
  }
}
