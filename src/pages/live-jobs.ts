import type { Response } from 'express';
import { TooManyViewers } from '../errors.js';
import type { Representations } from '../http/representations.js';
import { markStreaming } from '../http/streaming.js';
import type { JobRecord } from '../jobs/job.js';
import type { JobManager } from '../jobs/manager.js';
import type { LiveLogs, LogEvent } from './live-logs.js';

/** The query of the live event stream: one job's changes, or every job's. */
export const jobEventsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    jobID: { type: 'string', minLength: 1, maxLength: 100, description: 'Only the changes of this job (a job of the list); all jobs when left out.' },
    log: { type: 'boolean', description: "With jobID: the job's log too, as it grows (`log` events: JSON strings; `log-reset`: start over; `log-end`). One follow of the log serves every viewer." },
  },
} as const;

interface Viewer {
  res: Response;
  /** Only this job's changes; all jobs' when undefined. */
  jobID?: string;
  /** Stops sending the job's log to this viewer. */
  detachLog?: () => void;
}

const LOG_EVENTS: Record<LogEvent['kind'], string> = { log: 'log', reset: 'log-reset', end: 'log-end' };

export interface LiveJobsOptions {
  maxViewers: number;
  keepAliveMs: number;
  /** A viewer that has not read this much of what was sent is too slow: its stream is closed (its browser reconnects). */
  maxBufferedBytes: number;
}

/**
 * Job changes as server-sent events, for the pages that update themselves. One subscription to the
 * JobManager for the whole server (fed by each backend: the Kubernetes one from its watch-backed
 * cache), fanned out to every viewer: viewers never make the server ask Kubernetes anything.
 */
export class LiveJobs {
  private readonly viewers = new Set<Viewer>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    jobs: JobManager,
    private readonly representations: Representations,
    private readonly logs: LiveLogs,
    private readonly options: LiveJobsOptions,
  ) {
    jobs.onJobChange((job) => this.publish(job));
    // A comment now and then keeps proxies from closing a quiet stream.
    this.keepAlive = setInterval(() => {
      for (const viewer of this.viewers) this.send(viewer, ': keep-alive\n\n');
    }, options.keepAliveMs).unref();
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Job logs followed now for the viewers (one each, however many viewers show it). */
  get logsFollowed(): number {
    return this.logs.followed;
  }

  /** Starts an event stream on the response; it lasts until the client goes away or the server stops. */
  open(res: Response, jobID?: string, withLog = false): void {
    // A client gone while the route awaited (its job looked up) has already closed: 'close' will not come
    // again, so a viewer added now would stay, with its log follow, until the server stops.
    if (res.destroyed) return;
    if (this.viewers.size >= this.options.maxViewers) {
      throw new TooManyViewers(`${this.viewers.size} viewers already follow the jobs live, as many as this server serves at once; the pages still work, reloaded by hand.`);
    }
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
    markStreaming(res);
    res.flushHeaders();
    const viewer: Viewer = { res, ...(jobID !== undefined ? { jobID } : {}) };
    this.viewers.add(viewer);
    res.on('close', () => this.leave(viewer));
    res.write('retry: 5000\n\n');
    if (withLog && jobID !== undefined) {
      viewer.detachLog = this.logs.attach(jobID, (event) => this.send(viewer, `event: ${LOG_EVENTS[event.kind]}\ndata: ${event.kind === 'log' ? JSON.stringify(event.text) : ''}\n\n`));
    }
  }

  private leave(viewer: Viewer): void {
    this.viewers.delete(viewer);
    viewer.detachLog?.();
    delete viewer.detachLog;
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const viewer of this.viewers) {
      this.leave(viewer);
      viewer.res.end();
    }
  }

  private publish(job: JobRecord): void {
    if (this.viewers.size === 0) return;
    const event = `event: job\ndata: ${this.representations.statusInfoJson(job)}\n\n`;
    for (const viewer of this.viewers) {
      if (viewer.jobID === undefined || viewer.jobID === job.jobID) this.send(viewer, event);
    }
  }

  private send(viewer: Viewer, text: string): void {
    if (viewer.res.writableLength > this.options.maxBufferedBytes) {
      this.leave(viewer);
      viewer.res.end();
      return;
    }
    viewer.res.write(text);
  }
}
