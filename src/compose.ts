// The composition root: configuration → services → app. The only place that decides which
// implementation stands behind each interface.
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import type { ServerConfig } from './config/load.js';
import { Representations } from './http/representations.js';
import type { JobBackend } from './jobs/backend.js';
import { LocalJobBackend } from './jobs/local-backend.js';
import { JobManager } from './jobs/manager.js';
import { openSqliteJobStore } from './jobs/sqlite-store.js';
import type { JobStore } from './jobs/store.js';
import { InputValidator } from './processes/inputs.js';
import { ProcessRegistry } from './processes/registry.js';
import type { Services } from './services.js';
import { createAjv } from './validation/ajv.js';

export interface Overrides {
  clock?: Clock;
  /** A store for the local jobs other than the configured SQLite file (tests). */
  localStore?: JobStore;
}

export function buildServices(config: ServerConfig, logger: Logger, overrides: Overrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  const ajv = createAjv();
  const registry = new ProcessRegistry(
    config.resources.map((resource) => resource.processorType.create(resource.id, resource.options)),
  );
  const backends: JobBackend[] = [
    new LocalJobBackend(overrides.localStore ?? openSqliteJobStore(config.manager.localStorePath), clock, logger),
  ];
  const jobs = new JobManager(registry, backends, new InputValidator(ajv), clock, { syncWaitSeconds: config.manager.syncWaitSeconds }, ajv);
  return {
    config,
    logger,
    registry,
    jobs,
    representations: new Representations(config.server.url),
    queryAjv: createAjv({ coerceTypes: true }),
  };
}
