import { configFileFrom, loadConfig } from './config/load.js';
import { buildServices, processorTypes } from './compose.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  const file = configFileFrom(process.argv.slice(2), process.env);
  const config = loadConfig(file, process.env, processorTypes);
  const logger = createLogger(config.server.logLevel);
  const services = await buildServices(config, process.env, logger);
  const running = await startServer(services);
  logger.info({ url: running.url, publicUrl: config.server.url, config: file, processes: services.registry.list().map((p) => p.description.id) }, `serving OGC API – Processes at ${running.url} (Swagger UI: ${running.url}/api.html)`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      running.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
