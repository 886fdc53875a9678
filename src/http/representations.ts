// The OGC documents this server sends, built from the domain's records. Links are absolute, from
// the configured public URL.
import { isFinished, type Cursor, type JobRecord, type NotificationState } from '../jobs/job.js';
import type { JobListPage } from '../jobs/manager.js';
import type { Process } from '../processes/process.js';

export const OGC_REL = 'http://www.opengis.net/def/rel/ogc/1.0';
const JSON_TYPE = 'application/json';

export interface Link {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

export class Representations {
  /**
   * The statusInfo of a record, as JSON: a backend that keeps its records in memory hands out the same
   * object until the job changes (a change is a new record), so a page of 100 jobs is mostly joined, not
   * built and serialized again on every request.
   */
  private readonly statusJson = new WeakMap<JobRecord, string>();

  constructor(private readonly baseUrl: string) {}

  url(path: string, query?: Record<string, string | number | undefined>): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, String(value));
    const text = search.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ''}`;
  }

  statusInfo(job: JobRecord): Record<string, unknown> {
    const self = this.url(`/jobs/${encodeURIComponent(job.jobID)}`);
    const links: Link[] = [
      { href: self, rel: 'self', type: JSON_TYPE, title: 'This job status' },
      { href: self, rel: 'status', type: JSON_TYPE, title: 'Job status' },
      { href: this.url('/jobs'), rel: 'up', type: JSON_TYPE, title: 'The job list' },
    ];
    if (job.status === 'successful') {
      links.push({ href: `${self}/results`, rel: `${OGC_REL}/results`, title: 'Job results' });
    }
    if (job.logs) {
      links.push({ href: `${self}/logs`, rel: 'related', type: 'text/plain', title: 'Container logs: live while the pod exists, archived afterwards' });
    }
    return {
      jobID: job.jobID,
      type: 'process',
      processID: job.processID,
      status: job.status,
      ...(job.message !== undefined ? { message: job.message } : {}),
      created: iso(job.created),
      ...(job.started !== undefined ? { started: iso(job.started) } : {}),
      ...(job.finished !== undefined ? { finished: iso(job.finished) } : {}),
      updated: iso(job.updated),
      ...(job.progress !== undefined ? { progress: job.progress } : {}),
      ...(job.notifications ? { notifications: notificationsOf(job) } : {}),
      ...(job.origin ? { origin: job.origin } : {}),
      links,
    };
  }

  statusInfoJson(job: JobRecord): string {
    let json = this.statusJson.get(job);
    if (json === undefined) this.statusJson.set(job, (json = JSON.stringify(this.statusInfo(job))));
    return json;
  }

  processSummary(process: Process): Record<string, unknown> {
    const { inputs: _inputs, outputs: _outputs, ...summary } = process.description;
    const self = this.url(`/processes/${encodeURIComponent(summary.id)}`);
    return {
      ...summary,
      links: [
        { href: self, rel: 'self', type: JSON_TYPE, title: 'Process description' },
        { href: `${self}/execution`, rel: `${OGC_REL}/execute`, title: 'Execute this process' },
        { href: this.url('/jobs', { processID: summary.id }), rel: `${OGC_REL}/job-list`, type: JSON_TYPE, title: 'Jobs of this process' },
      ],
    };
  }

  processDescription(process: Process): Record<string, unknown> {
    const { inputs, outputs } = process.description;
    return { ...this.processSummary(process), inputs, outputs };
  }

  /** The job list document (jobList.yaml), as JSON. */
  jobListJson(page: JobListPage, query: Record<string, string | number | undefined>): string {
    const pageLink = (rel: string, cursor: Cursor | undefined): Link | undefined =>
      cursor && { href: this.url('/jobs', { ...query, cursor: encodeCursor(cursor) }), rel, type: JSON_TYPE };
    const links = [
      { href: this.url('/jobs', query), rel: 'self', type: JSON_TYPE, title: 'This page of jobs' },
      pageLink('next', page.next),
      pageLink('prev', page.prev),
    ].filter((link): link is Link => link !== undefined);
    const rest = JSON.stringify({ links, numberMatched: page.numberMatched, numberReturned: page.jobs.length });
    return `{"jobs":[${page.jobs.map((job) => this.statusInfoJson(job)).join(',')}],${rest.slice(1)}`;
  }
}

export const NOTIFICATION_STATUS: Record<NotificationState['state'], string> = { pending: 'pending', sending: 'sending', waiting: 'retrying', sent: 'sent', failed: 'failed' };

/** How the callbacks of the job went (never their URIs): what was sent, what is retried, what was given up and why. */
function notificationsOf(job: JobRecord): Record<string, unknown> {
  // Once the job has ended, a notification never tried will never be: only the one of its outcome is due.
  const outcome = job.status === 'successful' ? 'success' : job.status === 'failed' ? 'failed' : undefined;
  const shown = Object.entries(job.notifications ?? {}).filter(([kind, state]) => !(isFinished(job.status) && state.state === 'pending' && kind !== outcome && kind !== 'reply'));
  return Object.fromEntries(
    shown.map(([kind, state]) => [kind, { status: NOTIFICATION_STATUS[state.state], attempts: state.attempts, ...('error' in state ? { message: state.error } : {}) }]),
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Cursors travel as opaque base64url text; a tampered one is a client error, not a crash. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', cursor.created, cursor.jobID])).toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3) return undefined;
    const [direction, created, jobID] = value as unknown[];
    if ((direction !== 'n' && direction !== 'p') || !Number.isSafeInteger(created) || typeof jobID !== 'string') return undefined;
    return { direction: direction === 'n' ? 'next' : 'prev', created: created as number, jobID };
  } catch {
    return undefined;
  }
}
