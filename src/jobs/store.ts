import type { JobQuery, JobRecord, JobSlice } from './job.js';

/** Where the records of local jobs are kept. Synchronous: both implementations answer at once. */
export interface JobStore {
  insert(job: JobRecord): void;
  /**
   * Applies the changes and returns the job as it now is, or undefined if there is no such job (or,
   * with `unlessFinished`, if it has already finished: a late update never overrides the end).
   */
  update(jobID: string, changes: Partial<Omit<JobRecord, 'jobID'>>, options?: { unlessFinished?: boolean }): JobRecord | undefined;
  get(jobID: string): JobRecord | undefined;
  delete(jobID: string): boolean;
  list(query: JobQuery): JobSlice;
  /** Jobs with notifications (callbacks, a reply) that are unfinished or finished since then: those whose notifications may be due. */
  withNotifications(finishedSince: number): JobRecord[];
  /** Marks every job that was accepted or running as failed; used at start-up. Returns how many. */
  failUnfinished(message: string, now: number): number;
  close(): void;
}
