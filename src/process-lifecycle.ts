// What the two entry points (main.ts: the server; controller-main.ts: the log archive controller)
// share: how they end.
import type { Logger } from 'pino';
import { ConfigError } from './errors.js';

/** On SIGTERM or SIGINT: log, stop, exit 0 (1 if stopping failed). */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, details: () => object = () => ({})): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal, ...details() }, 'shutting down');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

/** A start-up failure: a configuration problem exits 2 with its message alone, anything else 1. */
export function exitOnStartupFailure(error: unknown): never {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
