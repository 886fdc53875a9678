import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import { notFoundHandler, problemHandler } from '../http/problem.js';
import { createAjv } from '../validation/ajv.js';
import { metricsRoutes } from './routes.js';
import type { ServerMetrics } from './server-metrics.js';

/**
 * What a program run apart from the API servers (the log finalizer controller, the queue intake)
 * serves on the configured bind address: /metrics for Prometheus and /healthz for the liveness probe.
 */
export async function serveMetrics(metrics: ServerMetrics, bind: { host: string; port: number }, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  app.use(metricsRoutes({ metrics, queryAjv: createAjv({ coerceTypes: true }) }));
  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  const server: Server = createServer(app);
  server.listen(bind.port, bind.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : bind.port;
  const url = `http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}`;
  logger.info({ url: `${url}/metrics` }, 'serving /metrics and /healthz');
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
