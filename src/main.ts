import { withLegacyEnv } from './config/legacy-env.js';
import { configFileFrom, loadConfig } from './config/load.js';
import { buildServices, processorTypes } from './compose.js';
import { createLogger } from './logger.js';
import { boundHeapGrowth, exitOnStartupFailure, stopOnSignals, warnOnUnsupportedNode } from './process-lifecycle.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  boundHeapGrowth();
  const { env, notices } = withLegacyEnv(process.env);
  const file = configFileFrom(process.argv.slice(2), env);
  const config = loadConfig(file, env, processorTypes);
  const logger = createLogger(config.server.logLevel);
  for (const notice of notices) logger.warn(notice);
  warnOnUnsupportedNode(logger);
  const services = await buildServices(config, env, logger);
  const running = await startServer(services);
  logger.info({ url: running.url, publicUrl: config.server.url, config: file, processes: services.registry.list().map((p) => p.description.id) }, `serving OGC API – Processes at ${running.url} (Swagger UI: ${running.url}/api.html)`);
  stopOnSignals(logger, () => running.stop());
}

main().catch(exitOnStartupFailure);
