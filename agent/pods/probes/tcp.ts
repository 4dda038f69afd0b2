/** The tcpSocket probe (`pkg/probe/tcp`): a TCP connect within the timeout, then close. */
import { connect } from 'node:net';
import type { Clock } from '../../../lib/clock.js';
import { goDialError, joinHostPort } from './http.js';

/** Result of a TCP connect: success, or a failure with Go's dial error text. */
export type TcpResult = { ok: true } | { ok: false; message: string };

/** Connects to host:port, resolving `{ ok: false }` with `dial tcp …: connect: connection refused` or `… i/o timeout`. */
export function tcpConnect(host: string, port: number, timeoutMs: number, clock: Clock): Promise<TcpResult> {
  const addr = joinHostPort(host, port);
  return new Promise<TcpResult>((resolve) => {
    let settled = false;
    const sock = connect({ host, port });
    const finish = (r: TcpResult): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      sock.destroy();
      resolve(r);
    };
    const timer = clock.setTimer(timeoutMs, () => finish({ ok: false, message: `dial tcp ${addr}: i/o timeout` }));
    sock.once('connect', () => finish({ ok: true }));
    sock.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, message: goDialError(err, addr) }));
  });
}
