import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths that may carry secrets; pino replaces their values before anything is written. */
const REDACT = ['token', '*.token', 'inputs.token', '*.inputs.token', 'headers.authorization', '*.headers.authorization', 'secret', '*.secret', 'password', '*.password'];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'ogcapi-k8s-manager' } }, destination);
}
