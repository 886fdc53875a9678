// What the templates show, built from the domain's records: texts and URLs ready to print, so the
// templates hold no logic beyond loops and conditions.
import type { Representations } from '../http/representations.js';
import { durationSeconds, isFinished, type JobRecord } from '../jobs/job.js';

export interface TimelineStep {
  label: string;
  /** RFC 3339, for the <time> element; undefined while the step has not happened. */
  at?: string;
  shown: string;
}

export interface Timeline {
  steps: TimelineStep[];
  /** Shares of the bar (0-100): waiting to run, then running (or ran). */
  waiting: number;
  running: number;
  state: string;
}

export interface JobView {
  jobID: string;
  processID: string;
  status: string;
  finished: boolean;
  message?: string;
  progress?: number;
  created: string;
  createdIso: string;
  duration: string;
  /** Set while the job runs: the page's script counts its duration up from here. */
  runningSince?: string;
  page: string;
  json: string;
  processPage: string;
  results?: string;
  logsPage?: string;
  /** The log as text, for the page's script to read (and follow while the job runs). */
  logsText?: string;
  dismiss: string;
  timeline: Timeline;
}

export function timeText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function durationText(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** accepted (created) → running (started) → its outcome (finished), with times and a bar to scale. */
export function timeline(job: JobRecord, now: number): Timeline {
  const step = (label: string, ms: number | undefined): TimelineStep => (ms === undefined ? { label, shown: 'not yet' } : { label, at: new Date(ms).toISOString(), shown: timeText(ms) });
  const end = job.finished ?? now;
  const total = Math.max(1, end - job.created);
  const startedAt = job.started ?? (isFinished(job.status) ? end : now);
  // Clamped: a backend's clocks may put the start a moment before the creation.
  const waiting = Math.min(100, Math.max(0, Math.round(((startedAt - job.created) / total) * 1000) / 10));
  return {
    steps: [step('accepted', job.created), step('running', job.started), step(isFinished(job.status) ? job.status : 'finished', job.finished)],
    waiting,
    running: job.started === undefined ? 0 : Math.round((100 - waiting) * 10) / 10,
    state: job.status,
  };
}

export function jobView(job: JobRecord, representations: Representations, now: number): JobView {
  const path = `/jobs/${encodeURIComponent(job.jobID)}`;
  const page = (sub = '') => representations.url(`${path}${sub}`, { f: 'html' });
  return {
    jobID: job.jobID,
    processID: job.processID,
    status: job.status,
    finished: isFinished(job.status),
    ...(job.message !== undefined ? { message: job.message } : {}),
    ...(job.progress !== undefined ? { progress: job.progress } : {}),
    created: timeText(job.created),
    createdIso: new Date(job.created).toISOString(),
    duration: durationText(durationSeconds(job, now)),
    ...(job.status === 'running' && job.started !== undefined ? { runningSince: new Date(job.started).toISOString() } : {}),
    page: page(),
    json: representations.url(path, { f: 'json' }),
    processPage: representations.url(`/processes/${encodeURIComponent(job.processID)}`, { f: 'html' }),
    ...(job.status === 'successful' ? { results: page('/results') } : {}),
    ...(job.logs ? { logsPage: page('/logs'), logsText: representations.url(`${path}/logs`) } : {}),
    dismiss: representations.url(`${path}/dismissal`),
    timeline: timeline(job, now),
  };
}
