import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

/**
 * A TCP forwarder on 127.0.0.1 in front of a real server, to take that server away from a client
 * without touching it: `down()` refuses connections, `stall()` accepts them and never answers (a
 * request hangs mid-flight), `holdAnswers()` lets requests through but loses what comes back, `cut()`
 * closes the open connections, `up()` forwards again on the same port.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  private answersHeld = false;
  /** Connections accepted so far. */
  connections = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.stalled = false;
    this.answersHeld = false;
    if (this.server) return;
    const server = createServer((client) => this.accept(client));
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (typeof address === 'object' && address) this.port = address.port;
    this.server = server;
  }

  /** Accepts connections but forwards nothing. */
  async stall(): Promise<void> {
    await this.up();
    this.stalled = true;
  }

  /** Forwards what clients send; what the server answers is lost until `cut()` or `up()`. */
  holdAnswers(): void {
    this.answersHeld = true;
  }

  /** Closes every open connection (calls in flight lose their answers) and forwards again. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.answersHeld = false;
  }

  /** Closes the port and every open connection: clients get ECONNREFUSED or a reset. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private accept(client: Socket): void {
    this.connections++;
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.stalled) return;
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (this.answersHeld || client.write(chunk)) return;
      upstream.pause();
      client.once('drain', () => upstream.resume());
    });
  }
}
