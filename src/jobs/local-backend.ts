import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { NotReady } from '../errors.js';
import type { JobFiles } from '../job-data/job-files.js';
import type { LocalProcess } from '../processes/process.js';
import type { JobBackend, Submission } from './backend.js';
import { initialNotifications, isFinished, sameNotificationState, type JobRecord, type NotificationKind, type NotificationState } from './job.js';
import { mediaTypeOf } from './manager.js';
import type { JobStore } from './store.js';

export const INTERRUPTED_MESSAGE =
  'The server stopped while this job was unfinished, so it did not complete. Submit it again.';

/** Runs local processes inside the server and records their jobs in a JobStore. */
export class LocalJobBackend implements JobBackend {
  readonly name = 'local';
  private readonly running = new Map<string, AbortController>();
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  private closed = false;

  constructor(
    private readonly store: JobStore,
    private readonly files: JobFiles,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    const interrupted = store.failUnfinished(INTERRUPTED_MESSAGE, clock.now());
    if (interrupted > 0) logger.warn({ interrupted }, 'jobs left unfinished by the previous run are now failed');
  }

  async submit({ jobID, process, inputs, response, outputs, subscriber, origin }: Submission): Promise<JobRecord> {
    const now = this.clock.now();
    const notifications = initialNotifications(subscriber, origin);
    const job: JobRecord = { jobID, processID: process.description.id, status: 'accepted', message: 'Accepted', created: now, updated: now, progress: 0, response };
    if (outputs) job.outputs = outputs;
    if (subscriber) job.subscriber = subscriber;
    if (origin) job.origin = origin;
    if (notifications) job.notifications = notifications;
    this.store.insert(job);
    this.emit(job);
    setImmediate(() => void this.run(process as LocalProcess, job.jobID, inputs));
    return job;
  }

  async get(jobID: string) {
    return this.store.get(jobID);
  }

  async list(query: Parameters<JobBackend['list']>[0]) {
    return this.store.list(query);
  }

  async dismiss(jobID: string): Promise<JobRecord | undefined> {
    const job = this.store.get(jobID);
    if (!job) return undefined;
    if (isFinished(job.status)) {
      await this.files.removeJob(jobID); // first: a failure leaves the record, so dismissing again retries
      this.store.delete(jobID);
      this.logger.info({ jobId: jobID }, 'finished job removed');
      return { ...job, status: 'dismissed', message: job.status === 'dismissed' ? job.message : 'Dismissed and removed' };
    }
    this.running.get(jobID)?.abort();
    const now = this.clock.now();
    const dismissed = this.update(jobID, { status: 'dismissed', message: 'Dismissed by request', finished: now });
    this.logger.info({ jobId: jobID }, 'job dismissed');
    return dismissed;
  }

  /** The store is this replica's alone, and JavaScript runs one thing at a time: a plain check and write is atomic. */
  async recordNotification(jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean> {
    const job = this.store.get(jobID);
    if (!job || !sameNotificationState(job.notifications?.[kind], expected)) return false;
    this.store.update(jobID, { notifications: { ...job.notifications, [kind]: next } });
    return true;
  }

  async withNotifications(finishedSince: number): Promise<JobRecord[]> {
    return this.store.withNotifications(finishedSince);
  }

  subscribe(listener: (job: JobRecord) => void): void {
    this.listeners.push(listener);
  }

  async checkReady(): Promise<void> {
    if (this.closed) throw new NotReady('The local job store is closed.');
    this.store.get('readiness-probe');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.running.values()) controller.abort();
    this.store.close();
  }

  private async run(process: LocalProcess, jobID: string, inputs: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    const started = this.update(jobID, { status: 'running', message: 'Running', started: this.clock.now() }, true);
    if (!started) return; // dismissed before it started
    const controller = new AbortController();
    this.running.set(jobID, controller);
    const log = this.logger.child({ jobId: jobID, processId: process.description.id });
    const files: NonNullable<JobRecord['files']> = {};
    try {
      const results = await process.run(inputs, {
        signal: controller.signal,
        reportProgress: (progress) => this.updateUnlessFinished(jobID, { progress: Math.round(progress) }),
        writeOutputFile: async (outputId, body) => {
          const output = process.description.outputs[outputId];
          if (!output) throw new Error(`process '${process.description.id}' has no output '${outputId}'`);
          files[outputId] = await this.files.write(jobID, 'outputs', outputId, body, mediaTypeOf(output));
        },
        openInputFile: async (inputId) => (await this.files.open(jobID, 'inputs', inputId)) ?? Readable.from([]),
      });
      const produced = Object.keys(files).length ? { files } : {};
      this.updateUnlessFinished(jobID, { status: 'successful', message: 'Finished', progress: 100, results, ...produced, finished: this.clock.now() });
      log.debug('job successful');
    } catch (error) {
      // dismissed or shutting down: the record already says so
      if (controller.signal.aborted) {
        await this.files.removeJob(jobID).catch((removal: unknown) => log.warn({ err: removal }, 'removing the files of a dismissed job failed'));
        return;
      }
      log.warn({ err: error }, 'job failed');
      this.updateUnlessFinished(jobID, { status: 'failed', message: `Failed: ${(error as Error).message}`, finished: this.clock.now() });
    } finally {
      this.running.delete(jobID);
    }
  }

  /** Progress and outcome of a run; once dismissed (or shutting down) the record keeps saying so. */
  private updateUnlessFinished(jobID: string, changes: Partial<JobRecord>): void {
    if (!this.closed) this.update(jobID, changes, true);
  }

  private update(jobID: string, changes: Partial<JobRecord>, unlessFinished = false): JobRecord | undefined {
    const job = this.store.update(jobID, { ...changes, updated: this.clock.now() }, { unlessFinished });
    if (job) this.emit(job);
    return job;
  }

  private emit(job: JobRecord): void {
    for (const listener of this.listeners) listener(job);
  }
}
