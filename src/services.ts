import type { Ajv } from 'ajv';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { ServerConfig } from './config/load.js';
import type { Representations } from './http/representations.js';
import type { QueueIntake } from './intake/consumer.js';
import type { JobManager } from './jobs/manager.js';
import type { LogArchiveController } from './log-archive/controller.js';
import type { ServerMetrics } from './metrics/server-metrics.js';
import type { Notifier } from './notifications/notifier.js';
import type { LiveJobs } from './pages/live-jobs.js';
import type { ProcessRegistry } from './processes/registry.js';

/** Everything the HTTP layer may call, built once by the composition root (src/compose.ts). */
export interface Services {
  config: ServerConfig;
  logger: Logger;
  clock: Clock;
  registry: ProcessRegistry;
  jobs: JobManager;
  representations: Representations;
  /** ajv that coerces query strings to the declared types. */
  queryAjv: Ajv;
  /** Calls back the subscribers of jobs; runs in every replica. */
  notifier: Notifier;
  /** What /metrics shows; fed by the jobs, the notifier, the watches and the log archive. */
  metrics: ServerMetrics;
  /** Job changes as server-sent events, for the pages that update themselves. */
  liveJobs: LiveJobs;
  /** The log finalizer controller, when it runs inside this server. */
  logArchive?: LogArchiveController;
  /** The queue intake, when it runs inside this server (or this process is the intake alone). */
  intake?: QueueIntake;
}
