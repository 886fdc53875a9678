import { isFinished, sliceJobs, type JobQuery, type JobRecord, type JobSlice } from './job.js';
import type { JobStore } from './store.js';

/** A JobStore in memory, for unit tests. */
export function createMemoryJobStore(): JobStore {
  const jobs = new Map<string, JobRecord>();
  return {
    insert: (job) => void jobs.set(job.jobID, { ...job }),
    update(jobID, changes, { unlessFinished = false } = {}) {
      const current = jobs.get(jobID);
      if (!current || (unlessFinished && isFinished(current.status))) return undefined;
      const next = { ...current, ...changes };
      jobs.set(jobID, next);
      return { ...next };
    },
    get: (jobID) => {
      const job = jobs.get(jobID);
      return job && { ...job };
    },
    delete: (jobID) => jobs.delete(jobID),
    list: (query: JobQuery): JobSlice => sliceJobs(jobs.values(), query),
    failUnfinished(message, now) {
      let count = 0;
      for (const job of jobs.values()) {
        if (isFinished(job.status)) continue;
        Object.assign(job, { status: 'failed', message, finished: now, updated: now });
        count++;
      }
      return count;
    },
    close: () => jobs.clear(),
  };
}
