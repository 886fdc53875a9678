import { createServer, type IncomingMessage, type Server } from 'node:http';
import { eventually } from './server.js';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** The status this receiver answered. */
  status: number;
  /** When it arrived (ms). */
  at: number;
}

/**
 * A callback receiver on 127.0.0.1 that records every POST. `answer` decides the status of each
 * (by path and how many came to that path before) and may delay it, to play a receiver that is down
 * for a while, refuses, or is slow.
 */
export class CallbackReceiver {
  readonly received: Received[] = [];
  answer: (path: string, earlier: number) => { status: number; delayMs?: number } = () => ({ status: 204 });
  private server!: Server;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        const { status, delayMs = 0 } = this.answer(path, this.received.filter((r) => r.path === path).length);
        const text = Buffer.concat(chunks).toString();
        this.received.push({ path, headers: req.headers, body: text ? JSON.parse(text) : undefined, status, at: Date.now() });
        setTimeout(() => res.writeHead(status).end(), delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The deliveries to `path` that were accepted (2xx). */
  delivered(path: string): Received[] {
    return this.received.filter((r) => r.path === path && r.status < 300);
  }

  /** Waits (bounded) until `path` has been delivered, and returns that delivery. */
  async waitFor(path: string, timeoutMs = 10_000): Promise<Received> {
    await eventually(async () => this.delivered(path).length, (n) => n > 0, timeoutMs);
    return this.delivered(path)[0]!;
  }
}
