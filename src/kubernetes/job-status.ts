import type { V1ContainerStatus, V1Job, V1Pod } from './client-node.js';
import { isFinished, NOTIFICATION_KINDS, type JobOrigin, type JobRecord, type NotificationState, type ResultsRequest, type Subscriber } from '../jobs/job.js';
import { ANNOTATIONS, LABELS, LOG_FINALIZER, MAIN_CONTAINER, notificationAnnotation } from './labels.js';

/** Reasons a pod can wait with before it ever runs, which will not go away by waiting. */
const STUCK_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull']);

/** Why a job cannot start, and since when, for the stuck-job sweep. */
export interface Stuck {
  reason: string;
  message: string;
  since: number;
}

export interface ObservedJob {
  record: JobRecord;
  /** Set while the job is accepted but cannot start (bad image, unschedulable, bad config). */
  stuck?: Stuck;
  /** The outputs read from the finished main container, when not yet copied to the Job. */
  unsavedResults?: string;
  /** The Job completed and its file outputs are still to be looked for in the bucket: output id → media type. */
  uncollectedFiles?: Record<string, string>;
}

/** Init containers first, then containers: every container status of a pod. */
export function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/** The pods oldest first, so the last one is the newest attempt. */
export function oldestFirst(pods: Iterable<V1Pod>): V1Pod[] {
  return [...pods].sort((a, b) => (toMs(a.metadata?.creationTimestamp) ?? 0) - (toMs(b.metadata?.creationTimestamp) ?? 0));
}

/** Times arrive as Date from a LIST and as strings from a WATCH. */
export function toMs(time: Date | string | undefined): number | undefined {
  if (time === undefined || time === null) return undefined;
  const ms = new Date(time).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The OGC view of a Kubernetes Job and its pods; `now` stands in for times the cluster has not set yet. */
export function observeJob(job: V1Job, pods: V1Pod[], now: number): ObservedJob {
  const observed = observeStatus(job, pods, now);
  observed.record.logs = true;
  const annotations = job.metadata?.annotations ?? {};
  const subscriber = parseJson<Subscriber>(annotations[ANNOTATIONS.subscriber]);
  if (subscriber) observed.record.subscriber = subscriber;
  const origin = parseJson<JobOrigin>(annotations[ANNOTATIONS.origin]);
  if (origin) observed.record.origin = origin;
  const states = NOTIFICATION_KINDS.flatMap((kind) => {
    const state = parseJson<NotificationState>(annotations[notificationAnnotation(kind)]);
    return state ? [[kind, state] as const] : [];
  });
  if (states.length > 0) observed.record.notifications = Object.fromEntries(states);
  // A pod that has ended but still holds the log finalizer: the archive has not (yet) succeeded.
  const waiting = pods.some((pod) => pod.metadata?.finalizers?.includes(LOG_FINALIZER) && (pod.metadata.deletionTimestamp || ['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')));
  if (waiting && isFinished(observed.record.status)) observed.record.message = `${observed.record.message ?? ''}; its logs are waiting to be archived`;
  return observed;
}

function observeStatus(job: V1Job, pods: V1Pod[], now: number): ObservedJob {
  const annotations = job.metadata?.annotations ?? {};
  const labels = job.metadata?.labels ?? {};
  const created = toMs(annotations[ANNOTATIONS.created]) ?? toMs(job.metadata?.creationTimestamp) ?? 0;
  const request = parseJson<ResultsRequest>(annotations[ANNOTATIONS.resultsRequest]) ?? { response: 'raw' };
  const record: JobRecord = {
    jobID: labels[LABELS.jobId] ?? job.metadata?.name ?? '',
    processID: labels[LABELS.processId] ?? '',
    status: 'accepted',
    created,
    updated: created,
    response: request.response,
    ...(request.outputs ? { outputs: request.outputs } : {}),
  };
  const podsNewestLast = oldestFirst(pods);
  const started = earliest(pods.map((pod) => toMs(pod.status?.startTime) ?? runningSince(pod)));
  if (started !== undefined) record.started = started;
  const conditions = job.status?.conditions ?? [];
  const condition = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const finishedAt = (time: Date | string | undefined) => toMs(time) ?? toMs(job.status?.completionTime) ?? now;
  const updated = [created, started, ...pods.map((pod) => latestTransition(pod)), ...conditions.map((c) => toMs(c.lastTransitionTime))];

  const dismissed = toMs(annotations[ANNOTATIONS.dismissed]);
  const failure = annotations[ANNOTATIONS.failure];
  const complete = condition('Complete') ?? condition('SuccessCriteriaMet');
  const failed = condition('Failed') ?? condition('FailureTarget');

  if (dismissed !== undefined) {
    Object.assign(record, { status: 'dismissed', message: 'Dismissed by request', finished: dismissed });
  } else if (failure) {
    Object.assign(record, { status: 'failed', message: failure, finished: finishedAt(conditions.find((c) => c.type === 'Suspended')?.lastTransitionTime) });
  } else if (complete) {
    record.status = 'successful';
    record.finished = finishedAt(job.status?.completionTime ?? complete.lastTransitionTime);
    record.progress = 100;
    const saved = annotations[ANNOTATIONS.results];
    const message = saved ?? terminated(mainContainer(podsNewestLast.filter((p) => p.status?.phase === 'Succeeded').pop()))?.message;
    const fileOutputs = parseJson<Record<string, string>>(annotations[ANNOTATIONS.fileOutputs]);
    const files = parseJson<JobRecord['files']>(annotations[ANNOTATIONS.files]);
    if (fileOutputs && !files) {
      // Successful only once its files are found in the bucket (or failed, naming the missing ones).
      Object.assign(record, { status: 'running', message: 'Finished; collecting its output files', progress: 99 });
      delete record.finished;
      return { record: withUpdated(record, updated), uncollectedFiles: fileOutputs };
    }
    if (files) record.files = files;
    // A process whose outputs are all files may leave its termination message empty.
    const results = fileOutputs && (message ?? '').trim() === '' ? {} : parseResults(message);
    if (typeof results === 'string') {
      record.message = `Finished, but the container returned no readable result: ${results}`;
    } else {
      record.message = 'Finished';
      record.results = results;
    }
    const observed: ObservedJob = { record: withUpdated(record, updated) };
    if (saved === undefined && message !== undefined && typeof results !== 'string') observed.unsavedResults = message;
    return observed;
  } else if (failed) {
    record.status = 'failed';
    record.finished = finishedAt(failed.lastTransitionTime);
    record.message = failureMessage(failed.reason, failed.message, podsNewestLast, job.spec?.activeDeadlineSeconds);
  } else {
    const running = pods.find((pod) => pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp);
    if (running) {
      Object.assign(record, { status: 'running', message: 'Running' });
    } else {
      const stuck = stuckReason(pods, now);
      record.message = stuck ? `Waiting: ${stuck.reason}: ${stuck.message}` : pods.length ? 'Starting' : 'Accepted';
      const observed: ObservedJob = { record: withUpdated(record, updated) };
      if (stuck) observed.stuck = stuck;
      return observed;
    }
  }
  return { record: withUpdated(record, updated) };
}

function withUpdated(record: JobRecord, times: Array<number | undefined>): JobRecord {
  record.updated = Math.max(...times.filter((t): t is number => t !== undefined), record.finished ?? 0);
  return record;
}

function earliest(times: Array<number | undefined>): number | undefined {
  const defined = times.filter((t): t is number => t !== undefined);
  return defined.length ? Math.min(...defined) : undefined;
}

function runningSince(pod: V1Pod): number | undefined {
  return toMs(mainContainer(pod)?.state?.running?.startedAt);
}

function latestTransition(pod: V1Pod): number {
  return Math.max(0, ...(pod.status?.conditions ?? []).map((c) => toMs(c.lastTransitionTime) ?? 0));
}

function mainContainer(pod: V1Pod | undefined): V1ContainerStatus | undefined {
  return pod?.status?.containerStatuses?.find((c) => c.name === MAIN_CONTAINER);
}

function terminated(status: V1ContainerStatus | undefined) {
  return status?.state?.terminated ?? status?.lastState?.terminated;
}

/** The outputs object, or why there is none. */
function parseResults(message: string | undefined): Record<string, unknown> | string {
  if (message === undefined || message.trim() === '') return 'its termination message is empty';
  const value = parseJson<unknown>(message);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `its termination message is not a JSON object (output id → value): ${message.slice(0, 200)}`;
  }
  return value as Record<string, unknown>;
}

function failureMessage(reason: string | undefined, message: string | undefined, pods: V1Pod[], deadline: number | undefined): string {
  if (reason === 'DeadlineExceeded') return `Timed out: the job ran longer than its limit of ${deadline ?? '?'} s and was stopped`;
  const exit = pods
    .map((pod) => terminated(mainContainer(pod)) ?? pod.status?.initContainerStatuses?.map(terminated).find((t) => t && t.exitCode !== 0))
    .filter((t) => t && t.exitCode !== 0)
    .pop();
  // The message is what the container wrote to its termination log, or else the tail of its log.
  const said = exit?.message ? `: ${exit.message.trim()}` : '';
  let exitText: string | undefined;
  if (exit?.reason === 'OOMKilled') {
    exitText = `the container ran out of memory and was killed at its memory limit (OOMKilled, exit code ${exit.exitCode})${said}`;
  } else if (exit) {
    exitText = `the container exited with code ${exit.exitCode}${exit.reason ? ` (${exit.reason})` : ''}${said}`;
  }
  if (reason === 'BackoffLimitExceeded') return `Failed: ${exitText ?? 'its pod failed'}${pods.length > 1 ? ` (after ${pods.length} attempts)` : ''}`;
  return `Failed: ${[reason, message, exitText].filter(Boolean).join(': ') || 'the Job failed'}`;
}

function stuckReason(pods: V1Pod[], now: number): Stuck | undefined {
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    for (const status of containerStatuses(pod)) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
        const since = toMs(pod.status?.startTime) ?? toMs(pod.metadata?.creationTimestamp) ?? now;
        return { reason: waiting.reason, message: waiting.message ?? `container ${status.name} cannot start (image ${status.image})`, since };
      }
    }
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return { reason: 'Unschedulable', message: scheduled.message ?? 'no node can run the pod', since: toMs(scheduled.lastTransitionTime) ?? now };
    }
  }
  return undefined;
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
