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

/** Where the client wants to be called when its job runs, succeeds or fails (Part 1 callbacks). */
export interface Subscriber {
  successUri?: string;
  inProgressUri?: string;
  failedUri?: string;
}

/** Callbacks to the subscriber's URIs, and the answer to a queued request's reply_to (src/intake/). */
export type CallbackKind = 'inProgress' | 'success' | 'failed';
export type NotificationKind = CallbackKind | 'reply';
export const NOTIFICATION_KINDS: readonly NotificationKind[] = ['inProgress', 'success', 'failed', 'reply'];

/** Where a job's request came from, when not over HTTP: a message of a queue (src/intake/). */
export interface JobOrigin {
  kind: 'amqp';
  queue: string;
  messageId: string;
  /** Where the answer goes, with the message's correlation id, once the job has ended. */
  replyTo?: string;
  correlationId?: string;
}

/**
 * Where one notification of a job stands, kept with the job so that any replica, and a restarted
 * server, carries on: `sending` is a claim that expires (`until`), so exactly one replica sends at a time.
 */
export type NotificationState =
  | { state: 'pending'; attempts: number }
  | { state: 'sending'; attempts: number; since: number; by: string; until: number }
  | { state: 'waiting'; attempts: number; since: number; nextAt: number; error: string }
  | { state: 'sent'; attempts: number; since: number; at: number }
  | { state: 'failed'; attempts: number; since: number; at: number; error: string };

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
  subscriber?: Subscriber;
  origin?: JobOrigin;
  /** One state for each notification the subscriber (or the origin's reply_to) asked for. */
  notifications?: Partial<Record<NotificationKind, NotificationState>>;
}

/** States are compared as the JSON they are stored as. */
export function sameNotificationState(a: NotificationState | undefined, b: NotificationState): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** The URI each kind of callback goes to. */
export const NOTIFICATION_URIS: Record<CallbackKind, keyof Subscriber> = { inProgress: 'inProgressUri', success: 'successUri', failed: 'failedUri' };

/** The states a job's notifications start in: pending, one for each URI the subscriber gave, and one for a reply_to. */
export function initialNotifications(subscriber: Subscriber | undefined, origin?: JobOrigin): JobRecord['notifications'] {
  const callbacks = (Object.keys(NOTIFICATION_URIS) as CallbackKind[]).filter((kind) => subscriber?.[NOTIFICATION_URIS[kind]]);
  const kinds: NotificationKind[] = [...callbacks, ...(origin?.replyTo ? ['reply' as const] : [])];
  return kinds.length > 0 ? Object.fromEntries(kinds.map((kind) => [kind, { state: 'pending', attempts: 0 }])) : undefined;
}

/**
 * The notifications of the job still to be delivered: in-progress while it runs (once it has ended
 * there is no point), success or failed once it has (none for a dismissed job), and the reply once it
 * has ended in any way.
 */
export function pendingNotifications(job: JobRecord): NotificationKind[] {
  const callback: NotificationKind | undefined = job.status === 'running' ? 'inProgress' : job.status === 'successful' ? 'success' : job.status === 'failed' ? 'failed' : undefined;
  const due = [...(callback ? [callback] : []), ...(isFinished(job.status) ? ['reply' as const] : [])];
  return due.filter((kind) => {
    const state = job.notifications?.[kind];
    return state && state.state !== 'sent' && state.state !== 'failed';
  });
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

/** No filter set: every job matches. Every field of JobFilter is named (the compiler insists), so a new one counts too. */
export function isUnfiltered(filter: JobFilter): boolean {
  const fields: Record<keyof JobFilter, unknown> = {
    processIDs: filter.processIDs,
    statuses: filter.statuses,
    createdFrom: filter.createdFrom,
    createdTo: filter.createdTo,
    minDuration: filter.minDuration,
    maxDuration: filter.maxDuration,
  };
  return Object.values(fields).every((value) => value === undefined);
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
