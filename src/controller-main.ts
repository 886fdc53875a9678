// The log finalizer controller as its own process, for deployments that run it apart from the API
// servers (set manager.log_archive.run_in_server: false there). Same configuration file and
// environment as the server; it serves only /metrics and /healthz, on the server's bind address.
import { withLegacyEnv } from './config/legacy-env.js';
import { configFileFrom, loadConfig } from './config/load.js';
import { buildLogArchiveController, processorTypes } from './compose.js';
import { systemClock } from './clock.js';
import { ConfigError } from './errors.js';
import { connectToCluster } from './kubernetes/cluster.js';
import { createLogger } from './logger.js';
import { ServerMetrics } from './metrics/server-metrics.js';
import { serveMetrics } from './metrics/standalone.js';
import { boundHeapGrowth, exitOnStartupFailure, stopOnSignals } from './process-lifecycle.js';

async function main(): Promise<void> {
  boundHeapGrowth();
  const { env, notices } = withLegacyEnv(process.env);
  const file = configFileFrom(process.argv.slice(2), env);
  const config = loadConfig(file, env, processorTypes);
  const archive = config.manager.logArchive;
  if (!archive) throw new ConfigError(`${file}: manager.finalizer_controller is not true, so there is no log archive for the controller to run.`);
  const cluster = connectToCluster(env);
  if (!cluster) throw new ConfigError('No Kubernetes cluster is configured (KUBECONFIG, in-cluster service account or ~/.kube/config).');
  const logger = createLogger(config.server.logLevel);
  for (const notice of notices) logger.warn(notice);
  const controller = buildLogArchiveController(cluster, archive, systemClock, logger);
  const metrics = new ServerMetrics({ logArchive: () => controller.metrics(), watchRestarts: [() => ({ 'log-archive-pods': controller.metrics().watchRestarts })] });
  const http = await serveMetrics(metrics, config.server, logger);
  controller.start();
  stopOnSignals(logger, async () => {
    await http.close();
    await controller.stop();
  }, () => controller.metrics());
}

main().catch(exitOnStartupFailure);
