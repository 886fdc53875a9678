import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago: the OS picks it when we bind port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the OS chose'));
      });
    });
  });
}

/** `count` distinct free ports (asked for one after the other, so the OS does not hand out one twice). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}
