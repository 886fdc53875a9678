import { JobIndex } from './job-index.js';
import { isFinished } from './job.js';
import type { JobStore } from './store.js';

/** A JobStore in memory, for unit tests. */
export function createMemoryJobStore(): JobStore {
  const jobs = new JobIndex();
  return {
    insert: (job) => jobs.set({ ...job }),
    update(jobID, changes, { unlessFinished = false } = {}) {
      const current = jobs.get(jobID);
      if (!current || (unlessFinished && isFinished(current.status))) return undefined;
      const next = { ...current, ...changes };
      jobs.set(next);
      return { ...next };
    },
    get: (jobID) => {
      const job = jobs.get(jobID);
      return job && { ...job };
    },
    delete: (jobID) => jobs.delete(jobID),
    list: (query) => jobs.slice(query),
    withNotifications: (finishedSince) => [...jobs.values()].filter((job) => job.notifications && (job.finished === undefined || job.finished >= finishedSince)).map((job) => ({ ...job })),
    failUnfinished(message, now) {
      const unfinished = [...jobs.values()].filter((job) => !isFinished(job.status));
      for (const job of unfinished) jobs.set({ ...job, status: 'failed', message, finished: now, updated: now });
      return unfinished.length;
    },
    close: () => undefined,
  };
}
