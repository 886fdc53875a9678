import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { FilesUnavailable, InvalidInputs, PayloadTooLarge, type InputProblem } from '../errors.js';
import { FileTooLarge, type JobFiles, type StoredFile } from './job-files.js';
import { guardedLookup, urlRefusal, type UrlPolicy } from '../net/url-guard.js';

/** An input that a process takes as a file: the media types it accepts and its largest size. */
export interface FileInputSpec {
  mediaTypes: string[];
  maxBytes: number;
  required: boolean;
}

/** A problem with one file input, reported with its name; nothing of the job is kept. */
class InputRefused extends Error {
  constructor(
    readonly input: string,
    readonly problem: string,
    readonly tooLarge = false,
  ) {
    super(problem);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Stores the file inputs of an execution before its job exists, each given as text, as a qualified
 * value (`{"value", "mediaType", "encoding": "base64"}`) or by reference (`{"href", "type"}`, fetched
 * under the UrlPolicy). Media types and sizes are checked on the way in; any problem removes what was
 * stored and is reported naming the input.
 */
export class FileInputs {
  private readonly agent: Agent;

  constructor(
    private readonly files: JobFiles,
    private readonly policy: UrlPolicy,
    timeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { lookup: guardedLookup(policy), timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  async store(jobID: string, specs: Record<string, FileInputSpec>, given: Record<string, unknown>): Promise<Record<string, StoredFile>> {
    const stored: Record<string, StoredFile> = {};
    try {
      for (const [name, spec] of Object.entries(specs)) {
        const value = given[name];
        if (value === undefined) {
          if (spec.required) throw new InputRefused(name, 'is required');
          continue;
        }
        stored[name] = await this.storeOne(jobID, name, spec, value);
      }
      return stored;
    } catch (error) {
      await this.files.removeJob(jobID).catch(() => undefined);
      if (!(error instanceof InputRefused)) {
        throw new FilesUnavailable(`The job's input files could not be stored, so no job was created: ${(error as Error).message}`);
      }
      const problem: InputProblem = { input: error.input, problem: error.problem };
      throw error.tooLarge ? new PayloadTooLarge(`input '${error.input}': ${error.problem}`) : new InvalidInputs([problem]);
    }
  }

  private async storeOne(jobID: string, name: string, spec: FileInputSpec, value: unknown): Promise<StoredFile> {
    const accepted = (mediaType: string) => {
      const bare = mediaType.split(';')[0]!.trim().toLowerCase();
      if (!spec.mediaTypes.includes(bare)) throw new InputRefused(name, `has media type ${bare}; this input takes ${spec.mediaTypes.join(', ')}`);
      return bare;
    };
    // `type` of a link, `mediaType` of a value: absent, or a media type this input takes.
    const declared = (object: Record<string, unknown>, member: 'type' | 'mediaType') => {
      const given = object[member];
      if (given === undefined) return undefined;
      if (typeof given !== 'string') throw new InputRefused(name, `has a ${member} that is not a string`);
      return accepted(given);
    };
    const write = async (body: Readable | Buffer, mediaType: string) => {
      try {
        return await this.files.write(jobID, 'inputs', name, body, mediaType, spec.maxBytes);
      } catch (error) {
        if (error instanceof FileTooLarge) throw new InputRefused(name, `is larger than its limit of ${spec.maxBytes} bytes`, true);
        throw error;
      }
    };
    if (typeof value === 'string') {
      const text = spec.mediaTypes.find((type) => type.startsWith('text/'));
      if (!text) throw new InputRefused(name, `is a file of ${spec.mediaTypes.join(' or ')}: give it as {"value": ..., "mediaType": ..., "encoding": "base64"} or {"href": ...}`);
      return write(Buffer.from(value), text);
    }
    if (isObject(value) && typeof value.href === 'string' && value.href.startsWith('s3://')) {
      return this.copyObject(name, value.href, declared(value, 'type'), accepted, write);
    }
    if (isObject(value) && typeof value.href === 'string') return this.fetch(name, value.href, declared(value, 'type'), accepted, write);
    if (isObject(value) && typeof value.value === 'string') {
      const mediaType = declared(value, 'mediaType') ?? accepted(spec.mediaTypes[0]!);
      if (value.encoding === undefined || value.encoding === 'utf-8' || value.encoding === 'utf8') return write(Buffer.from(value.value), mediaType);
      if (value.encoding !== 'base64') throw new InputRefused(name, `has encoding '${String(value.encoding)}'; file values are plain text or "base64"`);
      const compact = value.value.replace(/\s+/g, '');
      if (!BASE64.test(compact)) throw new InputRefused(name, 'is not valid base64');
      return write(Buffer.from(compact, 'base64'), mediaType);
    }
    throw new InputRefused(name, 'is a file input: give text, {"value": ..., "mediaType": ..., "encoding": "base64"}, or {"href": ..., "type": ...}');
  }

  /** Fetches a reference under the policy: no redirects, the size limit while streaming, the media type checked. */
  private async fetch(name: string, href: string, declared: string | undefined, accepted: (mediaType: string) => string, write: (body: Readable, mediaType: string) => Promise<StoredFile>): Promise<StoredFile> {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new InputRefused(name, `href '${href.slice(0, 200)}' is not a URL`);
    }
    const refusal = urlRefusal(url, this.policy);
    if (refusal) throw new InputRefused(name, `href ${url.origin} is not fetched: ${refusal}`);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, { dispatcher: this.agent, headers: { accept: declared ?? '*/*' } }); // undici follows no redirect
    } catch (error) {
      const cause = (error as { code?: string; message?: string });
      throw new InputRefused(name, `href ${url.origin}${url.pathname} could not be fetched: ${cause.message ?? String(error)}`);
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      const redirect = response.statusCode >= 300 && response.statusCode < 400 ? ' (redirects are not followed)' : '';
      throw new InputRefused(name, `href ${url.origin}${url.pathname} answered ${response.statusCode}${redirect}`);
    }
    const contentType = response.headers['content-type'];
    let mediaType: string;
    try {
      mediaType = typeof contentType === 'string' ? accepted(contentType) : (declared ?? accepted('application/octet-stream'));
    } catch (error) {
      void response.body.dump().catch(() => undefined); // refused unread: free the connection now
      throw error;
    }
    return write(response.body, mediaType);
  }

  /** An `s3://<bucket>/<key>` reference: an object of the data bucket, copied under the job. */
  private async copyObject(name: string, href: string, declared: string | undefined, accepted: (mediaType: string) => string, write: (body: Readable, mediaType: string) => Promise<StoredFile>): Promise<StoredFile> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(href);
    if (!match) throw new InputRefused(name, `href '${href.slice(0, 200)}' is not s3://<bucket>/<key>`);
    if (!this.files.openObject) throw new InputRefused(name, 'is an s3:// reference, but this server keeps no data bucket (K8S_MANAGER_DATA_BUCKET_*)');
    let object: Awaited<ReturnType<NonNullable<JobFiles['openObject']>>>;
    try {
      object = await this.files.openObject(match[1]!, decodeURIComponent(match[2]!));
    } catch (error) {
      throw new InputRefused(name, `href ${href} could not be read: ${(error as Error).message}`);
    }
    if (!object) throw new InputRefused(name, `href ${href} names no object`);
    let mediaType: string;
    try {
      mediaType = declared ?? accepted(object.mediaType ?? 'application/octet-stream');
    } catch (error) {
      object.body.on('error', () => undefined).destroy(); // refused unread: give the connection back to the client's pool
      throw error;
    }
    return write(object.body, mediaType);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
