import { compareJobs, isUnfiltered, matchesFilter, type JobQuery, type JobRecord, type JobSlice } from './job.js';

/**
 * Job records kept in list order (newest first), for backends that hold their jobs in memory: a
 * page is found by binary search from its cursor instead of sorting every job on every request.
 */
export class JobIndex {
  private readonly sorted: JobRecord[] = [];
  private readonly byId = new Map<string, JobRecord>();

  get size(): number {
    return this.byId.size;
  }

  get(jobID: string): JobRecord | undefined {
    return this.byId.get(jobID);
  }

  values(): IterableIterator<JobRecord> {
    return this.byId.values();
  }

  set(job: JobRecord): void {
    const previous = this.byId.get(job.jobID);
    this.byId.set(job.jobID, job);
    // A job's place in the list never changes once created (the common case: a status update), so it
    // is replaced where it stands instead of moving every later job twice.
    if (previous && compareJobs(previous, job) === 0) {
      this.sorted[this.firstAtOrAfter(previous)] = job;
      return;
    }
    if (previous) this.sorted.splice(this.firstAtOrAfter(previous), 1);
    this.sorted.splice(this.firstAtOrAfter(job), 0, job);
  }

  delete(jobID: string): boolean {
    const previous = this.byId.get(jobID);
    if (!previous) return false;
    this.sorted.splice(this.firstAtOrAfter(previous), 1);
    return this.byId.delete(jobID);
  }

  /** The query's page: up to limit + 1 matching jobs on the cursor's side, and the count of all matches. */
  slice(query: JobQuery): JobSlice {
    const unfiltered = isUnfiltered(query);
    const matches = unfiltered ? () => true : (job: JobRecord) => matchesFilter(job, query, query.now);
    // Counting is the one pass over every job; with no filter, every job matches.
    let numberMatched = unfiltered ? this.sorted.length : 0;
    if (!unfiltered) for (const job of this.sorted) if (matches(job)) numberMatched++;
    const jobs: JobRecord[] = [];
    const { cursor, limit } = query;
    if (cursor?.direction === 'prev') {
      for (let i = this.firstAtOrAfter(cursor) - 1; i >= 0 && jobs.length <= limit; i--) {
        if (matches(this.sorted[i]!)) jobs.unshift(this.sorted[i]!);
      }
    } else {
      const start = cursor ? this.firstAfter(cursor) : 0;
      for (let i = start; i < this.sorted.length && jobs.length <= limit; i++) {
        if (matches(this.sorted[i]!)) jobs.push(this.sorted[i]!);
      }
    }
    return { jobs, numberMatched };
  }

  /** Index of the first job that does not come before `key` in list order. */
  private firstAtOrAfter(key: Pick<JobRecord, 'created' | 'jobID'>): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareJobs(this.sorted[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Index of the first job that comes after `key` in list order. */
  private firstAfter(key: Pick<JobRecord, 'created' | 'jobID'>): number {
    const at = this.firstAtOrAfter(key);
    return at < this.sorted.length && compareJobs(this.sorted[at]!, key) === 0 ? at + 1 : at;
  }
}
