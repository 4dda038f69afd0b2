/**
 * Free TCP ports on 127.0.0.1 for tests: each is held open until all are found, so the ports
 * returned are distinct, then released for the caller to bind.
 */
import { createServer, type Server } from 'node:net';

/** `count` distinct free TCP ports on 127.0.0.1, never `exclude`. */
export async function freePorts(count: number, exclude?: number): Promise<number[]> {
  const ports: number[] = [];
  const held: Server[] = [];
  try {
    while (ports.length < count) {
      const srv = createServer();
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(0, '127.0.0.1', () => res());
      });
      held.push(srv);
      const addr = srv.address();
      if (addr && typeof addr === 'object' && addr.port !== exclude) ports.push(addr.port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((res) => s.close(res))));
  }
  return ports;
}

/** One free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}
