// The one connection to the broker (rabbitmq-client, decision 0023): it reconnects by itself with
// exponential backoff and jitter, and re-declares and re-subscribes every consumer and publisher.
import type { Logger } from 'pino';
import { Connection } from 'rabbitmq-client';
import type { IntakeConfig } from '../config/load.js';

/** Connects to the broker; logs name its host only (the URL carries the credentials). */
export function connectToBroker(config: Pick<IntakeConfig, 'url' | 'host'>, logger: Logger): Connection {
  const connection = new Connection({ url: config.url, connectionName: 'ogcapi-k8s-manager', retryLow: 500, retryHigh: 15_000, connectionTimeout: 10_000, acquireTimeout: 10_000 });
  let connected = false;
  connection.on('connection', () => {
    connected = true;
    logger.info({ broker: config.host }, 'connected to the broker');
  });
  connection.on('error', (error: Error) => {
    // Each failed attempt reports here; the connection keeps retrying on its own.
    logger[connected ? 'warn' : 'info']({ broker: config.host, err: error.message }, 'broker connection lost or refused; reconnecting with backoff');
    connected = false;
  });
  return connection;
}
