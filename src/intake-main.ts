// The queue intake as its own process, for deployments that scale it apart from the API servers (set
// manager.intake.run_in_server: false there). Same configuration file and environment as the server;
// it serves only /metrics and /healthz (on the server's bind address), takes requests for image processes (the cluster is their shared database) and
// publishes their replies.
import { withLegacyEnv } from './config/legacy-env.js';
import { configFileFrom, loadConfig } from './config/load.js';
import { buildServices, processorTypes } from './compose.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { serveMetrics } from './metrics/standalone.js';
import { boundHeapGrowth, exitOnStartupFailure, stopOnSignals } from './process-lifecycle.js';

async function main(): Promise<void> {
  boundHeapGrowth();
  const { env, notices } = withLegacyEnv(process.env);
  const file = configFileFrom(process.argv.slice(2), env);
  const config = loadConfig(file, env, processorTypes);
  if (!config.manager.intake) throw new ConfigError(`${file}: manager.intake is not configured (or not enabled), so there is no queue intake to run.`);
  const logger = createLogger(config.server.logLevel);
  for (const notice of notices) logger.warn(notice);
  const services = await buildServices(config, env, logger, { role: 'intake' });
  const { intake } = services;
  const http = await serveMetrics(services.metrics, config.server, logger);
  stopOnSignals(logger, async () => {
    await http.close();
    await intake?.stop();
    await services.notifier.stop();
    await Promise.all([services.jobs.close(), intake?.disconnect()]);
  }, () => ({ ...intake?.metrics }));
}

main().catch(exitOnStartupFailure);
