import { setTimeout as sleep } from 'node:timers/promises';
import { isFinished } from '../jobs/job.js';
import type { JobManager } from '../jobs/manager.js';

/** What a viewer of a job's log is sent: the text so far, each new piece, a restart from the top, the end. */
export type LogEvent = { kind: 'log'; text: string } | { kind: 'reset' } | { kind: 'end' };

export interface LiveLogsOptions {
  /** How much of the log's end a viewer who comes late is sent first (the page shows a tail too). */
  tailChars: number;
  /** The pause before asking for the log again while the job may still run, growing to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
}

interface SharedLog {
  viewers: Set<(event: LogEvent) => void>;
  tail: string;
  stop: AbortController;
  /** Ends the pause before the next try: the job changed (its pod may have started). */
  wake?: () => void;
}

/**
 * The logs of running jobs for the pages: one follow of a job's log (one pods/log stream for a
 * Kubernetes job) however many pages show it, fanned out to them, and stopped when the last one leaves.
 * A viewer who comes late gets the log's tail first. While the job has not started, or between
 * containers, the follow is tried again, less and less often, as long as the job may run, and at once
 * when the job changes.
 */
export class LiveLogs {
  private readonly logs = new Map<string, SharedLog>();

  constructor(
    private readonly jobs: Pick<JobManager, 'logs' | 'getJob' | 'onJobChange'>,
    private readonly options: LiveLogsOptions,
  ) {
    // A job that starts running is followed at once, not at the end of a pause.
    jobs.onJobChange((job) => this.logs.get(job.jobID)?.wake?.());
  }

  /** The number of logs followed now (each one stream to the job's backend). */
  get followed(): number {
    return this.logs.size;
  }

  /** Sends the job's log to the viewer as it grows; returns what to call when the viewer leaves. */
  attach(jobID: string, viewer: (event: LogEvent) => void): () => void {
    let shared = this.logs.get(jobID);
    if (!shared) {
      shared = { viewers: new Set(), tail: '', stop: new AbortController() };
      this.logs.set(jobID, shared);
      void this.follow(jobID, shared);
    } else if (shared.tail) {
      viewer({ kind: 'log', text: shared.tail });
    }
    shared.viewers.add(viewer);
    const joined = shared;
    return () => {
      joined.viewers.delete(viewer);
      if (joined.viewers.size === 0) this.release(jobID, joined);
    };
  }

  private release(jobID: string, shared: SharedLog): void {
    shared.stop.abort();
    if (this.logs.get(jobID) === shared) this.logs.delete(jobID);
  }

  private async follow(jobID: string, shared: SharedLog): Promise<void> {
    const { signal } = shared.stop;
    const broadcast = (event: LogEvent) => {
      for (const viewer of shared.viewers) viewer(event);
    };
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const log = await this.jobs.logs(jobID, { follow: true, signal });
        // A follow that starts again sends the log from the top: the pages start over.
        if (shared.tail) broadcast({ kind: 'reset' });
        shared.tail = '';
        const decoder = new TextDecoder();
        for await (const chunk of log as AsyncIterable<Buffer>) {
          const text = decoder.decode(chunk, { stream: true });
          if (!text) continue;
          shared.tail = (shared.tail + text).slice(-this.options.tailChars);
          broadcast({ kind: 'log', text });
          attempt = 0; // a follow that delivered: the next pause starts short again
        }
      } catch {
        // not started yet, between containers, or the stream was cut: asked again below while the job may run
      }
      if (signal.aborted) break;
      const job = await this.jobs.getJob(jobID).catch(() => undefined);
      if (!job || isFinished(job.status)) break;
      const woken = new AbortController();
      shared.wake = () => woken.abort();
      await sleep(Math.min(this.options.maxRetryMs, this.options.retryMs * (attempt + 1)), undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => undefined);
      delete shared.wake;
    }
    if (!signal.aborted) broadcast({ kind: 'end' });
    this.release(jobID, shared);
  }
}
