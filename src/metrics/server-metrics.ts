import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isFinished, type JobRecord, type JobStatus } from '../jobs/job.js';

/** How many jobs one backend holds in one status, as its store or cache says now. */
export interface JobCount {
  backend: string;
  status: JobStatus;
  count: number;
}

/** What the log archive controller counts itself, read at each scrape (its LogArchiveMetrics). */
export interface LogArchiveCounts {
  leader: boolean;
  archivedPods: number;
  archivedBytes: number;
  failedAttempts: number;
  pendingFinalizers: number;
}

/** What the queue intake counts itself, read at each scrape (its IntakeMetrics). */
export interface IntakeCounts {
  taken: number;
  deadLettered: number;
  requeued: number;
}

/** How one attempt to call a subscriber back was settled (the state its notification moved to), and its label. */
const DELIVERY_OUTCOMES = { sent: 'delivered', waiting: 'retrying', failed: 'given_up' } as const;

/** Counts kept by the components that do the work; each is read when Prometheus scrapes. */
export interface MetricSources {
  /** Jobs by backend and status (local: this replica's store; kubernetes: the namespace, from the cache). */
  jobCounts?: () => Promise<JobCount[]>;
  /** Restarts of each watch since this process started, by watch name. */
  watchRestarts?: Array<() => Record<string, number>>;
  logArchive?: () => LogArchiveCounts;
  intake?: () => IntakeCounts;
}

const SECONDS_TO_HOURS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600];
const REQUEST_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

/** Unfinished jobs followed at most; beyond, the oldest are no longer counted when they finish. */
const MAX_FOLLOWED_JOBS = 100_000;

/** The route label of requests no route took (unknown paths): one value, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

interface Series {
  observe(value: number): void;
}

/**
 * The server's Prometheus metrics, in a registry of its own (never prom-client's global one), so that
 * several servers in one process (tests) keep theirs apart. Other components do not know it: they
 * report through their own listeners and counters, which the composition root connects here.
 * What each counter means with several replicas is in docs/decisions/0022-metrics-per-replica.md.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly submitted = new Counter({ name: 'ogcapi_jobs_submitted_total', help: 'Jobs this replica accepted, by process.', labelNames: ['process'], registers: [this.registry] });
  private readonly finished = new Counter({
    name: 'ogcapi_jobs_finished_total',
    help: 'Jobs this replica accepted and then saw finish, by process and outcome (successful, failed, dismissed).',
    labelNames: ['process', 'outcome'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'ogcapi_job_duration_seconds',
    help: 'From start to finish, of the jobs counted in ogcapi_jobs_finished_total that started.',
    labelNames: ['process', 'outcome'],
    buckets: SECONDS_TO_HOURS,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'ogcapi_job_queue_wait_seconds',
    help: 'From creation to start, of the jobs this replica accepted.',
    labelNames: ['process'],
    buckets: SECONDS_TO_HOURS,
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: 'ogcapi_http_request_duration_seconds',
    help: `HTTP requests by route template (${UNMATCHED_ROUTE}: no route), method and status class, from arrival to the response's end.`,
    labelNames: ['route', 'method', 'code'],
    buckets: REQUEST_SECONDS,
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: 'ogcapi_callback_deliveries_total',
    help: 'Callback attempts this replica made, by notification (inProgress, success, failed) and outcome (delivered, retrying, given_up).',
    labelNames: ['notification', 'outcome'],
    registers: [this.registry],
  });
  /** Jobs accepted here and not yet seen finished; true once their start was counted. */
  private readonly following = new Map<string, { started: boolean }>();
  /** One series per route, method and status class, made once: a request then allocates no labels. */
  private readonly requestSeries = new Map<string, Map<string, Series[]>>();

  constructor(sources: MetricSources = {}) {
    collectDefaultMetrics({ register: this.registry });
    const { jobCounts, watchRestarts, logArchive, intake } = sources;
    if (jobCounts) {
      new Gauge({
        name: 'ogcapi_jobs',
        help: 'Jobs by backend and status now: local jobs of this replica; kubernetes jobs of the whole namespace, seen alike by every replica.',
        labelNames: ['backend', 'status'],
        registers: [this.registry],
        async collect() {
          for (const { backend, status, count } of await jobCounts()) this.set({ backend, status }, count);
        },
      });
    }
    if (watchRestarts) {
      mirroredCounter(this.registry, { name: 'ogcapi_watch_restarts_total', help: 'Restarts of a Kubernetes watch after it failed, by watch.', labelNames: ['watch'] }, (set) => {
        for (const read of watchRestarts) for (const [watch, restarts] of Object.entries(read())) set({ watch }, restarts);
      });
    }
    if (logArchive) this.mirrorLogArchive(logArchive);
    if (intake) {
      const outcomes = { taken: 'taken', deadLettered: 'dead_lettered', requeued: 'requeued' } as const;
      mirroredCounter(
        this.registry,
        { name: 'ogcapi_intake_messages_total', help: 'Queue messages this replica handled: taken (a job exists), dead_lettered (refused, with the reason), requeued (to retry).', labelNames: ['outcome'] },
        (set) => {
          const counts = intake();
          for (const key of Object.keys(outcomes) as Array<keyof typeof outcomes>) set({ outcome: outcomes[key] }, counts[key]);
        },
      );
    }
  }

  /** The text Prometheus scrapes. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** A job this replica has just accepted: counted, and followed to its start and end. */
  jobSubmitted(job: JobRecord): void {
    this.submitted.inc({ process: job.processID });
    // A Job deleted before it finished never reports its end: the oldest followed jobs are let go.
    if (this.following.size >= MAX_FOLLOWED_JOBS) this.following.delete(this.following.keys().next().value!);
    this.following.set(job.jobID, { started: false });
    this.jobChanged(job);
  }

  /**
   * Any job's change, from any backend. Only jobs accepted here count: every replica sees every
   * Kubernetes job, and a restarted one sees finished jobs again.
   */
  jobChanged(job: JobRecord): void {
    const followed = this.following.get(job.jobID);
    if (!followed) return;
    const process = job.processID;
    if (!followed.started && job.started !== undefined) {
      followed.started = true;
      this.queueWait.observe({ process }, seconds(job.started - job.created));
    }
    if (!isFinished(job.status)) return;
    this.following.delete(job.jobID);
    this.finished.inc({ process, outcome: job.status });
    if (job.started !== undefined && job.finished !== undefined) this.duration.observe({ process, outcome: job.status }, seconds(job.finished - job.started));
  }

  callbackAttempted(notification: string, settled: keyof typeof DELIVERY_OUTCOMES): void {
    this.deliveries.inc({ notification, outcome: DELIVERY_OUTCOMES[settled] });
  }

  /** One HTTP request: `route` is its template (never the path, which holds ids), or UNMATCHED_ROUTE. */
  requestServed(route: string, method: string, status: number, durationSeconds: number): void {
    let byMethod = this.requestSeries.get(route);
    if (!byMethod) this.requestSeries.set(route, (byMethod = new Map()));
    let byClass = byMethod.get(method);
    if (!byClass) byMethod.set(method, (byClass = []));
    const statusClass = Math.min(5, Math.max(1, Math.floor(status / 100)));
    (byClass[statusClass] ??= this.requestDuration.labels({ route, method, code: `${statusClass}xx` })).observe(durationSeconds);
  }

  private mirrorLogArchive(read: () => LogArchiveCounts): void {
    const counted = { archivedPods: 'ogcapi_log_archive_uploads_total', archivedBytes: 'ogcapi_log_archive_uploaded_bytes_total', failedAttempts: 'ogcapi_log_archive_failures_total' } as const;
    const help = {
      archivedPods: 'Pods whose logs this replica archived and released (lease holder only).',
      archivedBytes: 'Bytes of pod logs this replica uploaded to the log bucket.',
      failedAttempts: 'Archive attempts of a pod that failed (each is retried with backoff).',
    };
    for (const key of Object.keys(counted) as Array<keyof typeof counted>) {
      mirroredCounter(this.registry, { name: counted[key], help: help[key] }, (set) => set({}, read()[key]));
    }
    new Gauge({
      name: 'ogcapi_log_archive_pending_finalizers',
      help: 'Pods that still hold the log finalizer, as the lease holder sees them (0 on other replicas).',
      registers: [this.registry],
      collect() {
        this.set(read().pendingFinalizers);
      },
    });
    new Gauge({
      name: 'ogcapi_log_archive_leader',
      help: '1 while this replica holds the log archiver lease.',
      registers: [this.registry],
      collect() {
        this.set(read().leader ? 1 : 0);
      },
    });
  }
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000; // Kubernetes times have whole seconds: a start may read before its creation
}

/** A counter whose value another component keeps: set to that value at each scrape. */
function mirroredCounter(
  registry: Registry,
  metric: { name: string; help: string; labelNames?: string[] },
  read: (set: (labels: Record<string, string>, value: number) => void) => void,
): void {
  new Counter({
    ...metric,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, value));
    },
  });
}
