import type { StoredFile } from '../job-data/job-files.js';
import type { JobOutputs } from '../processes/process.js';

export type JobStatus = 'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';
export const JOB_STATUSES: readonly JobStatus[] = ['accepted', 'running', 'successful', 'failed', 'dismissed'];

export function isFinished(status: JobStatus): boolean {
  return status === 'successful' || status === 'failed' || status === 'dismissed';
}

export interface OutputRequest {
  transmissionMode?: 'value' | 'reference';
  format?: { mediaType?: string; encoding?: string; schema?: unknown };
}

/** What the client asked for the results to look like; kept with the job for GET /jobs/{id}/results. */
export interface ResultsRequest {
  response: 'raw' | 'document';
  /** Requested outputs; undefined means every output of the process. */
  outputs?: Record<string, OutputRequest>;
}

/** One job as every backend reports it. Times are milliseconds since the epoch. */
export interface JobRecord extends ResultsRequest {
  jobID: string;
  processID: string;
  status: JobStatus;
  message?: string;
  created: number;
  started?: number;
  finished?: number;
  updated: number;
  progress?: number;
  results?: JobOutputs;
  /** Outputs that are files (their bytes are in the job files store): output id → file. */
  files?: Record<string, StoredFile>;
  /** The job's container logs can be read at /jobs/{id}/logs. */
  logs?: boolean;
}

/** Job-list filters of GET /jobs, already validated. */
export interface JobFilter {
  processIDs?: string[];
  statuses?: JobStatus[];
  createdFrom?: number;
  createdTo?: number;
  /** Seconds between started and finished (or now, while running). */
  minDuration?: number;
  maxDuration?: number;
}

/** A position in the list, which is ordered newest first (created, then jobID, descending). */
export interface Cursor {
  created: number;
  jobID: string;
  /** 'next': the jobs after this one; 'prev': the jobs before it. */
  direction: 'next' | 'prev';
}

export interface JobQuery extends JobFilter {
  limit: number;
  cursor?: Cursor;
  now: number;
}

/**
 * What a store answers: at most limit + 1 jobs in list order, on the cursor's side of it (the extra
 * one tells whether more exist), and how many jobs match the filter in all.
 */
export interface JobSlice {
  jobs: JobRecord[];
  numberMatched: number;
}

/** Newest first; the job id breaks ties so that the order is total. */
export function compareJobs(a: Pick<JobRecord, 'created' | 'jobID'>, b: Pick<JobRecord, 'created' | 'jobID'>): number {
  return b.created - a.created || (a.jobID < b.jobID ? 1 : a.jobID > b.jobID ? -1 : 0);
}

export function durationSeconds(job: JobRecord, now: number): number | undefined {
  if (job.started === undefined) return undefined;
  return ((job.finished ?? now) - job.started) / 1000;
}

export function matchesFilter(job: JobRecord, filter: JobFilter, now: number): boolean {
  if (filter.processIDs && !filter.processIDs.includes(job.processID)) return false;
  if (filter.statuses && !filter.statuses.includes(job.status)) return false;
  if (filter.createdFrom !== undefined && job.created < filter.createdFrom) return false;
  if (filter.createdTo !== undefined && job.created > filter.createdTo) return false;
  if (filter.minDuration !== undefined || filter.maxDuration !== undefined) {
    const duration = durationSeconds(job, now);
    if (duration === undefined) return false;
    if (filter.minDuration !== undefined && duration < filter.minDuration) return false;
    if (filter.maxDuration !== undefined && duration > filter.maxDuration) return false;
  }
  return true;
}
