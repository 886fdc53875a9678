import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { once } from 'node:events';
import { createApp } from './app.js';
import { clientErrorResponse } from './http/problem.js';
import type { Services } from './services.js';

export interface RunningServer {
  server: Server;
  /** The address actually bound (port 0 picks a free one). */
  url: string;
  /** Stops accepting connections, lets requests in flight finish (bounded), then closes the services. */
  stop(): Promise<void>;
}

export async function startServer(services: Services, graceMs = 10_000): Promise<RunningServer> {
  const { host, port, headersTimeoutSeconds, requestTimeoutSeconds } = services.config.server;
  const server = createServer(
    {
      headersTimeout: headersTimeoutSeconds * 1000,
      // From the first byte to the last of the body: a client that stalls mid-body is cut off too.
      requestTimeout: requestTimeoutSeconds * 1000,
      // How often Node looks for expired requests (default 30 s, which would stretch short timeouts).
      connectionsCheckingInterval: 1000,
    },
    createApp(services),
  );
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Answer only when no response has begun on the connection, as Node's own handler does.
    const response = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code !== 'ECONNRESET' && socket.writable && !response?.headersSent) {
      socket.write(clientErrorResponse(error, { headersTimeoutSeconds, requestTimeoutSeconds }));
    }
    socket.destroy();
  });
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
        services.liveJobs.close(); // event streams never end by themselves
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await closed;
        clearTimeout(timer);
        await services.intake?.stop(); // no new jobs from queues
        await services.notifier.stop();
        await Promise.all([services.jobs.close(), services.logArchive?.stop(), services.intake?.disconnect()]);
      })();
      return stopping;
    },
  };
}
