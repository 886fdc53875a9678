import type { Readable } from 'node:stream';
import type { Process } from '../processes/process.js';
import type { JobOrigin, JobQuery, JobRecord, JobSlice, NotificationKind, NotificationState, ResultsRequest, Subscriber } from './job.js';

export interface LogRequest {
  /** The container whose log is wanted; undefined means the job's main container. */
  container?: string;
  /** Keep streaming while the container runs. */
  follow: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface Submission extends ResultsRequest {
  /** Chosen before the job exists, so its input files can be stored under it first. */
  jobID: string;
  process: Process;
  /** Validated inputs, with secrets already removed where the process asked for that. */
  inputs: Record<string, unknown>;
  /** Callback URIs, already checked. */
  subscriber?: Subscriber;
  /** Set for a request that came from a queue (src/intake/). */
  origin?: JobOrigin;
  /** The request's own bound on the job's time, below the process's (a compatible queue message's timeout). */
  timeoutSeconds?: number;
}

/**
 * Where jobs of some processes run and are recorded: in-process with an embedded store, or as
 * Kubernetes Jobs. The JobManager routes each process to its backend by name; the HTTP layer
 * never sees a backend.
 */
export interface JobBackend {
  readonly name: string;
  /** Creates the job and starts it; the job exists (GET finds it) once this resolves. */
  submit(submission: Submission): Promise<JobRecord>;
  get(jobID: string): Promise<JobRecord | undefined>;
  list(query: JobQuery): Promise<JobSlice>;
  /**
   * Stops an unfinished job (it then reads dismissed) or removes a finished one. Returns the job as
   * dismissed, or undefined if there is no such job.
   */
  dismiss(jobID: string): Promise<JobRecord | undefined>;
  /**
   * The log of one of the job's containers, for backends whose jobs have logs; undefined if there is
   * no such job. Throws LogsNotAvailable, saying why, when the job exists but the log does not.
   */
  openLogs?(jobID: string, request: LogRequest): Promise<Readable | undefined>;
  /**
   * Sets one notification's state if it still is `expected`: a compare-and-set that holds across
   * replicas, so exactly one of them claims a delivery. False when the state moved on or the job is gone.
   */
  recordNotification(jobID: string, kind: NotificationKind, expected: NotificationState, next: NotificationState): Promise<boolean>;
  /** Jobs with notifications (callbacks, a reply), unfinished or finished since `finishedSince`: those whose notifications may be due. */
  withNotifications(finishedSince: number): Promise<JobRecord[]>;
  /** Calls the listener with the job whenever one changes. */
  subscribe(listener: (job: JobRecord) => void): void;
  /** Throws, saying why, when the backend cannot serve (store closed, cluster unreachable). */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}
