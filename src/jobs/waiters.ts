import { isFinished, type JobRecord } from './job.js';

/** Lets a synchronous execution wait for its job to finish, woken by the backend's change events. */
export class FinishWaiters {
  private readonly waiting = new Map<string, Set<(job: JobRecord) => void>>();

  /** Feed every job change here. */
  notify(job: JobRecord): void {
    if (!isFinished(job.status)) return;
    const wake = this.waiting.get(job.jobID);
    if (!wake) return;
    this.waiting.delete(job.jobID);
    for (const resolve of wake) resolve(job);
  }

  /**
   * Resolves with the finished job, or with undefined after `timeoutMs`. `current` reads the job
   * once the wait is registered, so a job that finished before that is not missed.
   */
  async wait(jobID: string, timeoutMs: number, current: () => Promise<JobRecord | undefined>): Promise<JobRecord | undefined> {
    let resolve!: (job: JobRecord | undefined) => void;
    const finished = new Promise<JobRecord | undefined>((r) => (resolve = r));
    const set = this.waiting.get(jobID) ?? new Set();
    set.add(resolve);
    this.waiting.set(jobID, set);
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    const job = await current();
    if (job && isFinished(job.status)) resolve(job);
    try {
      return await finished;
    } finally {
      clearTimeout(timer);
      set.delete(resolve);
      if (set.size === 0 && this.waiting.get(jobID) === set) this.waiting.delete(jobID);
    }
  }
}
