import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import type { Readable } from 'node:stream';
import type { Ajv, ValidateFunction } from 'ajv';
import type { Clock } from '../clock.js';
import {
  ExecutionModeNotSupported,
  InvalidRequest,
  JobFailed,
  LogsNotAvailable,
  NoSuchJob,
  NotFound,
  OutputTooLarge,
  ProblemList,
  ResultNotReady,
  shortName,
  SyncTimeout,
  TokenNotConfigured,
  Unauthorized,
} from '../errors.js';
import type { FileInputs } from '../job-data/file-inputs.js';
import type { JobFiles, StoredFile } from '../job-data/job-files.js';
import type { SignedLinks } from '../job-data/signed-links.js';
import { executeRequestSchema, type ExecuteRequest, type OutputDescription } from '../ogc/schemas.js';
import type { InputValidator } from '../processes/inputs.js';
import type { Process } from '../processes/process.js';
import type { ProcessRegistry } from '../processes/registry.js';
import { describeErrors } from '../validation/ajv.js';
import type { JobBackend, LogRequest } from './backend.js';
import { urlRefusal, type UrlPolicy } from '../net/url-guard.js';
import {
  compareJobs,
  isFinished,
  JOB_STATUSES,
  type Cursor,
  type JobFilter,
  type JobOrigin,
  type JobRecord,
  type JobStatus,
  type NotificationKind,
  type NotificationState,
  type OutputRequest,
  type Subscriber,
} from './job.js';
import { FinishWaiters } from './waiters.js';

/** A qualified value's value (the token may come as {"value": ...} like any input), else the value itself. */
function plainValue(given: unknown): unknown {
  return typeof given === 'object' && given !== null && Object.hasOwn(given, 'value') ? (given as { value: unknown }).value : given;
}

/** The input that carries the API token of protected processes. */
export const TOKEN_INPUT = 'token';

/** What the client prefers (RFC 7240), already parsed. */
export interface ExecutionPreferences {
  respondAsync: boolean;
  waitSeconds?: number;
}

/**
 * A request taken from a queue (src/intake/): its job id is derived from the message, so a redelivered
 * message finds the job it made; it never waits for the job, whose end is answered to its reply_to.
 */
export interface QueuedRequest {
  jobID: string;
  origin: JobOrigin;
  /** A compatible message's timeout: the job's deadline is at most this (Kubernetes Jobs only; config load checks). */
  timeoutSeconds?: number;
}

export interface Execution {
  /** 'sync': the job has finished and its outcome is the response; 'async': answer 201 with its status. */
  mode: 'sync' | 'async';
  job: JobRecord;
  /** Preferences honoured, for the Preference-Applied header. */
  preferenceApplied: string[];
}

export interface JobListPage {
  jobs: JobRecord[];
  numberMatched: number;
  next?: Cursor;
  prev?: Cursor;
}

/** A file output as the results show it: an expiring link, its bytes when asked by value, or a stream. */
export interface FileResult extends StoredFile {
  href: string;
  /** The whole file, when a results document asked for it by value (never more than maxInlineBytes). */
  bytes?: Buffer;
  open(): Promise<Readable>;
}

export interface JobResults {
  job: JobRecord;
  /** The requested outputs that the job produced, in the order the process declares them. */
  outputs: Array<{ id: string; value?: unknown; file?: FileResult; description: OutputDescription; request: OutputRequest }>;
}

/**
 * The OGC job semantics, independent of HTTP and of where jobs run: execution modes, input
 * validation before anything is created, listing across backends, results and dismissal.
 */
export class JobManager {
  private readonly waiters = new FinishWaiters();
  private readonly submittedListeners: Array<(job: JobRecord) => void> = [];
  private readonly backends: Map<string, JobBackend>;
  private readonly validateExecute: ValidateFunction<ExecuteRequest>;

  constructor(
    private readonly registry: ProcessRegistry,
    backends: JobBackend[],
    private readonly inputs: InputValidator,
    private readonly clock: Clock,
    private readonly options: { syncWaitSeconds: number; apiToken?: string | undefined; maxInlineBytes: number; subscriberPolicy: UrlPolicy },
    ajv: Ajv,
    private readonly data: { files: JobFiles; links: SignedLinks; inputs: FileInputs },
  ) {
    this.backends = new Map(backends.map((backend) => [backend.name, backend]));
    for (const backend of backends) backend.subscribe((job) => this.waiters.notify(job));
    for (const process of registry.list()) {
      if (!this.backends.has(process.backend)) {
        throw new Error(`process '${process.description.id}' needs job backend '${process.backend}', which is not configured`);
      }
      inputs.register(process.description);
    }
    this.validateExecute = ajv.compile<ExecuteRequest>(executeRequestSchema);
  }

  async execute(processId: string, body: unknown, preferences: ExecutionPreferences, queued?: QueuedRequest): Promise<Execution> {
    // A redelivered message finds the job it made, whatever has changed since (a token, the process).
    const existing = queued && (await this.findJob(queued.jobID));
    if (existing) return { mode: 'async', job: existing, preferenceApplied: [] };
    const process = this.registry.get(processId);
    const request = this.checkRequest(process, body);
    const subscriber = request.subscriber && this.checkSubscriber(request.subscriber);
    const given = (request.inputs ?? {}) as Record<string, unknown>;
    if (process.requiresToken) this.checkToken(processId, plainValue(given[TOKEN_INPUT]));
    const fileInputs = process.fileInputs ?? {};
    const inputs = this.inputs.validate(process.description, given, new Set(Object.keys(fileInputs)));
    delete inputs[TOKEN_INPUT]; // checked; it must not be stored, injected or logged
    const { jobControlOptions } = process.description;
    const allowsSync = jobControlOptions.includes('sync-execute');
    const allowsAsync = jobControlOptions.includes('async-execute');
    const preferenceApplied: string[] = [];

    const async = (preferences.respondAsync && allowsAsync) || !allowsSync;
    if (preferences.respondAsync && allowsAsync) preferenceApplied.push('respond-async');
    let waitSeconds = this.options.syncWaitSeconds;
    if (!async && preferences.waitSeconds !== undefined) {
      waitSeconds = Math.min(preferences.waitSeconds, this.options.syncWaitSeconds);
      preferenceApplied.push(`wait=${waitSeconds}`);
    }

    const jobID = queued?.jobID ?? randomUUID();
    // The job's input files are stored first: a bad one refuses the execution before the job exists.
    Object.assign(inputs, await this.data.inputs.store(jobID, fileInputs, given));
    const submission = {
      jobID,
      process,
      inputs,
      response: request.response ?? 'raw',
      ...(request.outputs ? { outputs: request.outputs as Record<string, OutputRequest> } : {}),
      ...(subscriber ? { subscriber } : {}),
      ...(queued ? { origin: queued.origin } : {}),
      ...(queued?.timeoutSeconds !== undefined ? { timeoutSeconds: queued.timeoutSeconds } : {}),
    };
    const job = await this.backendOf(process).submit(submission).catch(async (error: unknown) => {
      await this.data.files.removeJob(jobID);
      throw error;
    });
    for (const listener of this.submittedListeners) listener(job);
    if (async || queued) return { mode: 'async', job, preferenceApplied };

    const finished = await this.waiters.wait(job.jobID, waitSeconds * 1000, () => this.backendOf(process).get(job.jobID));
    if (finished) return { mode: 'sync', job: finished, preferenceApplied };
    const current = (await this.backendOf(process).get(job.jobID)) ?? job;
    if (allowsAsync) return { mode: 'async', job: current, preferenceApplied };
    throw new SyncTimeout(
      `Job ${job.jobID} did not finish within ${waitSeconds} s and process '${processId}' cannot answer asynchronously. It goes on; follow it at /jobs/${job.jobID}.`,
    );
  }

  async getJob(jobID: string): Promise<JobRecord> {
    const job = await this.findJob(jobID);
    if (!job) throw new NoSuchJob(jobID);
    return job;
  }

  private async findJob(jobID: string): Promise<JobRecord | undefined> {
    for (const backend of this.backends.values()) {
      const job = await backend.get(jobID);
      if (job) return job;
    }
    return undefined;
  }

  /** One page of the jobs matching the filter, newest first, merged across backends. */
  async listJobs(filter: JobFilter, limit: number, cursor?: Cursor): Promise<JobListPage> {
    const query = { ...filter, limit, now: this.clock.now(), ...(cursor ? { cursor } : {}) };
    const slices = await Promise.all([...this.backends.values()].map((backend) => backend.list(query)));
    const merged = slices.flatMap((slice) => slice.jobs).sort(compareJobs);
    const numberMatched = slices.reduce((sum, slice) => sum + slice.numberMatched, 0);
    const backwards = cursor?.direction === 'prev';
    // Each slice holds up to limit + 1 jobs nearest the cursor; keep the limit + 1 nearest overall.
    const nearest = backwards ? merged.slice(-(limit + 1)) : merged.slice(0, limit + 1);
    const more = nearest.length > limit;
    const jobs = backwards ? nearest.slice(more ? 1 : 0) : nearest.slice(0, limit);
    const first = jobs[0];
    const last = jobs[jobs.length - 1];
    const page: JobListPage = { jobs, numberMatched };
    const hasNext = backwards ? true : more;
    const hasPrev = backwards ? more : cursor !== undefined;
    if (hasNext && last) page.next = { created: last.created, jobID: last.jobID, direction: 'next' };
    if (hasPrev && first) page.prev = { created: first.created, jobID: first.jobID, direction: 'prev' };
    return page;
  }

  /** The results as the job's request asked for them; `filesByReference` gives every file as a link (for callbacks). */
  async results(jobID: string, { filesByReference = false } = {}): Promise<JobResults> {
    const job = await this.getJob(jobID);
    switch (job.status) {
      case 'accepted':
      case 'running':
        throw new ResultNotReady(`Job ${jobID} is ${job.status}; its results exist once it is successful. GET /jobs/${jobID} tells its status.`);
      case 'dismissed':
        throw new ResultNotReady(`Job ${jobID} was dismissed; it has no results.`);
      case 'failed':
        throw new JobFailed(`Job ${jobID} failed, so it has no results: ${job.message ?? 'no reason was given'}`);
      case 'successful':
        break;
    }
    const process = this.registry.get(job.processID);
    const produced = job.results ?? {};
    const files = job.files ?? {};
    const requested = job.outputs ?? Object.fromEntries(Object.keys(process.description.outputs).map((id) => [id, {}]));
    const outputs: JobResults['outputs'] = [];
    for (const [id, description] of Object.entries(process.description.outputs)) {
      // Own members only: a process may declare an output called 'toString'.
      const request = Object.hasOwn(requested, id) ? requested[id] : undefined;
      if (!request) continue;
      const file = Object.hasOwn(files, id) ? files[id] : undefined;
      const asked = filesByReference && file ? { ...request, transmissionMode: 'reference' as const } : request;
      if (file) outputs.push({ id, file: await this.fileResult(job, id, file, asked), description, request: asked });
      else if (Object.hasOwn(produced, id)) outputs.push({ id, value: produced[id], description, request });
    }
    return { job, outputs };
  }

  /** The bytes of a file output behind a link from the results: checked, then streamed. */
  async outputFile(jobID: string, outputId: string, expires: number, signature: string): Promise<{ file: StoredFile; stream: Readable }> {
    this.data.links.check(jobID, outputId, expires, signature);
    const file = (await this.getJob(jobID)).files?.[outputId];
    const stream = file && (await this.data.files.open(jobID, 'outputs', outputId));
    if (!file || !stream) throw new NotFound(`Job ${jobID} has no output file '${outputId}' (any more).`);
    return { file, stream };
  }

  private async fileResult(job: JobRecord, outputId: string, file: StoredFile, request: OutputRequest): Promise<FileResult> {
    const open = async () => {
      const stream = await this.data.files.open(job.jobID, 'outputs', outputId);
      if (!stream) throw new NotFound(`Job ${job.jobID} has no output file '${outputId}' (any more).`);
      return stream;
    };
    // Straight from the store when clients reach it (no hop through a server), else through this server.
    const direct = await this.data.files.publicLink?.(job.jobID, 'outputs', outputId, file.mediaType, this.data.links.ttlSeconds);
    const result: FileResult = { ...file, href: direct ?? this.data.links.href(job.jobID, outputId), open };
    if (job.response !== 'document' || request.transmissionMode === 'reference') return result;
    if (file.size > this.options.maxInlineBytes) {
      throw new OutputTooLarge(
        `Output '${outputId}' is a file of ${file.size} bytes; results documents carry files of at most ${this.options.maxInlineBytes} bytes by value. Ask for it with "transmissionMode": "reference" (a link), or with "response": "raw". This job's file is at ${result.href}`,
      );
    }
    return { ...result, bytes: await buffer(await open()) };
  }

  /** A container log of the job: live while its pod exists, then the archived copy. */
  async logs(jobID: string, request: LogRequest): Promise<Readable> {
    for (const backend of this.backends.values()) {
      if (!(await backend.get(jobID))) continue;
      const log = await backend.openLogs?.(jobID, request);
      if (log) return log;
      throw new LogsNotAvailable(`Job ${jobID} ran inside the server (a local process), so it has no container logs.`);
    }
    throw new NoSuchJob(jobID);
  }

  async dismiss(jobID: string): Promise<JobRecord> {
    for (const backend of this.backends.values()) {
      const job = await backend.get(jobID);
      if (!job) continue;
      const process = this.registry.find(job.processID);
      if (process && !isFinished(job.status) && !process.description.jobControlOptions.includes('dismiss')) {
        throw new ExecutionModeNotSupported(`Process '${job.processID}' does not allow dismissing its jobs while they run.`);
      }
      const dismissed = await backend.dismiss(jobID);
      if (dismissed) return dismissed;
    }
    throw new NoSuchJob(jobID);
  }

  /** Calls the listener whenever a job of any backend changes. */
  onJobChange(listener: (job: JobRecord) => void): void {
    for (const backend of this.backends.values()) backend.subscribe(listener);
  }

  /** Calls the listener with each job this server has just created (before any change of it). */
  onJobSubmitted(listener: (job: JobRecord) => void): void {
    this.submittedListeners.push(listener);
  }

  /** How many jobs each backend holds in each status now. */
  async countByStatus(): Promise<Array<{ backend: string; status: JobStatus; count: number }>> {
    const now = this.clock.now();
    const counts = [...this.backends.values()].flatMap((backend) =>
      JOB_STATUSES.map(async (status) => ({ backend: backend.name, status, count: (await backend.list({ statuses: [status], limit: 0, now })).numberMatched })),
    );
    return Promise.all(counts);
  }

  /** Compare-and-set of one notification's state, on the backend that holds the job. */
  async recordNotification(jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean> {
    for (const backend of this.backends.values()) {
      if (await backend.get(jobID)) return backend.recordNotification(jobID, kind, expected, next);
    }
    return false;
  }

  async withNotifications(finishedSince: number): Promise<JobRecord[]> {
    return (await Promise.all([...this.backends.values()].map((backend) => backend.withNotifications(finishedSince)))).flat();
  }

  async checkReady(): Promise<void> {
    await Promise.all([...this.backends.values()].map((backend) => backend.checkReady()));
  }

  async close(): Promise<void> {
    await Promise.all([...[...this.backends.values()].map((backend) => backend.close()), this.data.inputs.close()]);
    this.data.files.close();
  }

  /** Compares in constant time; a missing, wrong or unconfigured token creates nothing. */
  private checkToken(processId: string, given: unknown): void {
    const expected = this.options.apiToken;
    if (!expected) {
      throw new TokenNotConfigured(`Process '${processId}' is protected, and this server has no API token configured (K8S_MANAGER_API_TOKEN), so it does not run it.`);
    }
    if (typeof given !== 'string' || given === '') {
      throw new Unauthorized(`Process '${processId}' needs the input '${TOKEN_INPUT}' with this server's API token.`);
    }
    const digest = (text: string) => createHash('sha256').update(text).digest();
    if (!timingSafeEqual(digest(given), digest(expected))) {
      throw new Unauthorized(`The input '${TOKEN_INPUT}' does not match this server's API token.`);
    }
  }

  /**
   * Callback URIs are checked before the job exists: http(s), well formed, and no address the server
   * must not reach (host names are checked again, as resolved, when a notification is sent).
   */
  private checkSubscriber(subscriber: Subscriber): Subscriber {
    const problems: string[] = [];
    for (const [member, uri] of Object.entries(subscriber) as Array<[keyof Subscriber, string]>) {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        problems.push(`subscriber.${member} '${uri.slice(0, 200)}' is not a URL`);
        continue;
      }
      const refusal = urlRefusal(url, this.options.subscriberPolicy);
      if (refusal) problems.push(`subscriber.${member} is refused: ${refusal}`);
    }
    if (problems.length > 0) throw new InvalidRequest(`The execute request's subscriber cannot be called back: ${problems.join('; ')}.`);
    return subscriber;
  }

  private backendOf(process: Process): JobBackend {
    return this.backends.get(process.backend)!;
  }

  /**
   * The execute document must follow the standard's schema and name only members and outputs that
   * exist. Names are checked first, each problem list bounded: ajv, reporting all errors, would make
   * an error object for each of tens of thousands of unknown members.
   */
  private checkRequest(process: Process, body: unknown): ExecuteRequest {
    const { outputs, outputTransmission, id } = process.description;
    const problems = new ProblemList<string>();
    const rejectIfAny = () => {
      if (problems.total > 0) throw new InvalidRequest(problems.describe((problem) => problem));
    };
    if (isObject(body)) {
      for (const member of Object.keys(body)) {
        // `mode` came from drafts of the standard; 1.0 asks for the mode in the Prefer header.
        const hint = member === 'mode' ? '; ask for asynchronous execution with the header Prefer: respond-async' : '';
        if (!Object.hasOwn(executeRequestSchema.properties, member)) problems.add(`'${shortName(member)}' is not a member of an execute request (${EXECUTE_MEMBERS})${hint}`);
      }
      const offered = `its outputs: ${Object.keys(outputs).join(', ') || 'none'}`;
      for (const outputId of isObject(body.outputs) ? Object.keys(body.outputs) : []) {
        // Own members only: 'constructor' or 'toString' is an unknown output, not Object's.
        if (!Object.hasOwn(outputs, outputId)) problems.add(`output '${shortName(outputId)}' is not an output of process '${id}' (${offered})`);
      }
      rejectIfAny();
    }
    if (!this.validateExecute(body)) {
      throw new InvalidRequest(`The execute request does not follow the OGC execute schema: ${describeErrors(this.validateExecute.errors).join('; ')}`);
    }
    for (const [outputId, request] of Object.entries(body.outputs ?? {})) {
      const output = outputs[outputId]!;
      const mode = request.transmissionMode ?? 'value';
      if (!outputTransmission.includes(mode)) {
        problems.add(`output '${outputId}': transmissionMode '${mode}' is not offered (offered: ${outputTransmission.join(', ')})`);
      }
      const wanted = request.format?.mediaType;
      const offered = mediaTypeOf(output);
      if (wanted && wanted !== offered) problems.add(`output '${outputId}': format mediaType '${shortName(wanted)}' is not offered (offered: ${offered})`);
    }
    rejectIfAny();
    return body;
  }
}

const EXECUTE_MEMBERS = `its members: ${Object.keys(executeRequestSchema.properties).join(', ')}`;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The media type an output is delivered in: its schema's contentMediaType, else JSON. */
export function mediaTypeOf(output: OutputDescription): string {
  const declared = (output.schema as { contentMediaType?: unknown }).contentMediaType;
  return typeof declared === 'string' ? declared : 'application/json';
}
