// How our Jobs and Pods are marked in the cluster. The cluster is the job database: these labels
// find our objects, these annotations carry what the OGC job needs beyond the Job's own status.

import type { NotificationKind } from '../jobs/job.js';

const PREFIX = 'ogcapi-k8s-manager.io';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  jobId: `${PREFIX}/job-id`,
  processId: `${PREFIX}/process-id`,
} as const;

export const MANAGED_BY = 'ogcapi-k8s-manager';
/** Selects every Job and Pod this server manages. */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

export const ANNOTATIONS = {
  /** Creation time with milliseconds (metadata.creationTimestamp has seconds only). */
  created: `${PREFIX}/created`,
  /** The inputs as JSON, secret-looking values masked. */
  inputs: `${PREFIX}/inputs`,
  /** The requested response mode and outputs, as JSON. */
  resultsRequest: `${PREFIX}/results-request`,
  /** Set when a client dismissed the job: the time. */
  dismissed: `${PREFIX}/dismissed`,
  /** Set when the server failed the job itself (stuck before running): why. */
  failure: `${PREFIX}/failure`,
  /** The outputs copied from the finished container's termination message, as JSON. */
  results: `${PREFIX}/results`,
  /** The file outputs the container should leave in /outputs: output id → media type, as JSON. */
  fileOutputs: `${PREFIX}/file-outputs`,
  /** The file outputs found in the bucket once the Job completed: output id → {mediaType, size}, as JSON. */
  files: `${PREFIX}/files`,
  /** The callback URIs of the execute request's subscriber, as JSON. */
  subscriber: `${PREFIX}/subscriber`,
  /** Where the request came from when not over HTTP (a queue message: queue, message id, reply_to), as JSON. */
  origin: `${PREFIX}/origin`,
} as const;

/** Where one notification of the job stands (NotificationState, as JSON); updated only by compare-and-set. */
export function notificationAnnotation(kind: NotificationKind): string {
  return `${PREFIX}/notification-${kind.toLowerCase()}`;
}

export const MAIN_CONTAINER = 'main';

/** Put on every job pod when log archiving is on: the pod stays until its logs are in the bucket. */
export const LOG_FINALIZER = `${PREFIX}/log-archive`;

/** The Job's name: DNS-safe, unique, short enough for the pods' generated names. */
export function jobName(jobId: string): string {
  return `ogc-job-${jobId}`;
}
