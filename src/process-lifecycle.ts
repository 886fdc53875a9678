// What the two entry points (main.ts: the server; controller-main.ts: the log archive controller)
// share: how their heap grows and how they end; and which Node releases the server accepts.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { satisfies } from 'semver';
import { ConfigError } from './errors.js';

const HEAP_GROWTH_FLAG = '--heap-growing-percent';

/**
 * Lets V8 grow the heap by half of what survived the last full collection before it collects again,
 * instead of its default of up to about 2.6 times: with 10,000 Jobs cached the server's peak under load
 * fell from about 400 MB to 225 MB (docs/decisions/0011-heap-growth.md; the bundled clients of decision
 * 0013 took it under 200 MB). A `--heap-growing-percent` given on node's command line wins.
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv, setFlags = setFlagsFromString): void {
  if (execArgv.some((arg) => arg.replaceAll('_', '-').startsWith(HEAP_GROWTH_FLAG))) return;
  setFlags(`${HEAP_GROWTH_FLAG}=50`);
}

/** The Node releases package.json's `engines` accepts (this module runs from dist/src/). */
export function supportedNodeRange(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  return manifest.engines.node;
}

/**
 * Warns at start-up on a Node release outside `engines`: on Node 24 the SQLite driver aborts the
 * process when it frees a prepared statement (docs/decisions/0019-node-26-and-node-sqlite.md), and the warning says
 * so before that happens.
 */
export function warnOnUnsupportedNode(logger: Logger, version = process.version, range = supportedNodeRange()): void {
  if (satisfies(version, range)) return;
  logger.warn({ node: version, supported: range }, `Node ${version} is not supported (supported: ${range}); see docs/decisions/0019-node-26-and-node-sqlite.md`);
}

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
