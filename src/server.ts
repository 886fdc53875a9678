import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createApp } from './app.js';
import type { Services } from './services.js';

export interface RunningServer {
  server: Server;
  /** The address actually bound (port 0 picks a free one). */
  url: string;
  /** Stops accepting connections, lets requests in flight finish (bounded), then closes the services. */
  stop(): Promise<void>;
}

export async function startServer(services: Services, graceMs = 10_000): Promise<RunningServer> {
  const { host, port } = services.config.server;
  const server = createServer(createApp(services));
  server.keepAliveTimeout = 5_000;
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await services.notifier.stop();
        await Promise.all([services.jobs.close(), services.logArchive?.stop()]);
      })();
      return stopping;
    },
  };
}
