/**
 * Exec, attach and port-forward: the query options kubelet reads
 * (`remotecommandserver.NewOptions`, `portforward.NewV4Options`), and the proxy that carries
 * an upgraded (SPDY or WebSocket) connection to the runtime's streaming server.
 *
 * kubelet proxies instead of redirecting (kubernetes#64006). Skiff does it without speaking
 * SPDY or WebSocket: it replays the client's request line (with the runtime URL's path) and
 * headers to the runtime over a raw socket, then pipes bytes both ways; the runtime answers
 * `101 Switching Protocols` (or an error) directly to the client.
 *
 * On the wire (measured with kubectl 1.32, kube-apiserver 1.20 / the companion, containerd
 * 1.6): kubectl first asks for WebSocket with `v5.channel.k8s.io` (exec, attach) or
 * `SPDY/3.1+portforward.k8s.io` (port-forward). containerd's streaming server speaks SPDY/3.1
 * and WebSocket `channel.k8s.io` … `v4.channel.k8s.io` only, and answers `403 Forbidden` with
 * an empty body; kubectl takes that as an upgrade failure and retries with SPDY, which gets a
 * new CRI session (a streaming URL is single-use; the refused one simply expires). Clients that
 * speak WebSocket v4 (older kubectl, the Python client) pass straight through.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidInputError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

/** Streams requested for exec/attach. */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  // kubelet compares with "1" (what kube-apiserver sends); "true" is accepted too.
  return v === '1' || v === 'true';
}

/**
 * Stream options of an exec/attach request. The parameter names are the ones kube-apiserver
 * sends to the kubelet (`api.ExecStdinParam` … = `input`, `output`, `error`, `tty`), not the
 * `stdin`/`stdout`/`stderr` of the pods/exec API. Throws `InvalidInputError` (400) when none is
 * requested.
 */
export function parseStreamOptions(q: URLSearchParams): StreamOptions {
  const tty = flag(q, 'tty');
  const stdin = flag(q, 'input');
  const stdout = flag(q, 'output');
  let stderr = flag(q, 'error');
  // kubelet: "Access to exec with tty and stderr is not supported, bypassing stderr".
  if (tty && stderr) stderr = false;
  if (!stdin && !stdout && !stderr) throw new InvalidInputError('you must specify at least 1 of stdin, stdout, stderr');
  return { stdin, stdout, stderr, tty };
}

/** The `command` of an exec (repeated query parameter). */
export function parseCommand(q: URLSearchParams): string[] {
  return q.getAll('command');
}

/** Ports of a port-forward request (`port`, repeated or comma-separated; WebSocket clients send them). */
export function parsePorts(q: URLSearchParams): number[] {
  const out: number[] = [];
  for (const raw of q.getAll('port')) {
    for (const part of raw.split(',')) {
      const s = part.trim();
      if (!s) continue;
      if (!/^\d+$/.test(s) || Number(s) > 65535) throw new InvalidInputError(`unable to parse "${s}" as a port: invalid syntax`);
      if (Number(s) === 0) throw new InvalidInputError('port "0" must be > 0');
      out.push(Number(s));
    }
  }
  return out;
}

/** True when the request asks for a protocol upgrade. */
export function isUpgradeRequest(req: IncomingMessage): boolean {
  const conn = String(req.headers.connection ?? '').toLowerCase();
  return !!req.headers.upgrade && conn.split(',').some((t) => t.trim() === 'upgrade');
}

/** Writes a plain HTTP error response on a raw socket and closes it. */
export function writeRawError(socket: Duplex, status: number, reason: string, body: string): void {
  if (socket.destroyed) return;
  const payload = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n` + payload.toString('utf8'),
  );
}

const HOP_BY_HOP_DROPPED = new Set(['host', 'authorization', 'proxy-authorization']);

/** The request head replayed to the runtime: method, the runtime URL's path and query, the client's headers. */
export function buildUpstreamHead(req: IncomingMessage, target: URL): string {
  const lines = [`${req.method ?? 'GET'} ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const lower = name.toLowerCase();
    // Credentials stay here: the runtime's streaming server does not need them.
    if (HOP_BY_HOP_DROPPED.has(lower)) continue;
    if (lower === 'sec-websocket-protocol') {
      // The authenticator may have removed a bearer-token protocol from the parsed header.
      const v = req.headers['sec-websocket-protocol'];
      if (v) lines.push(`${name}: ${Array.isArray(v) ? v.join(', ') : v}`);
      continue;
    }
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Options of {@link proxyUpgrade}. */
export interface ProxyOptions {
  logger: Logger;
  /** Close both sides after this long without traffic (streamingConnectionIdleTimeout); 0 = never. */
  idleTimeoutMs?: number;
}

/**
 * Connects to `target` (the runtime's streaming URL), replays the request and pipes both ways.
 * Resolves once the upstream connection is established (or failed; the client then gets 502).
 */
export function proxyUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, target: URL, opts: ProxyOptions): Promise<void> {
  return new Promise((resolve) => {
    const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    const host = target.hostname.replace(/^\[|\]$/g, '');
    // The streaming server is the local runtime (127.0.0.1, self-signed when TLS is on).
    const upstream: Socket =
      target.protocol === 'https:' ? tlsConnect({ host, port, servername: host, rejectUnauthorized: false }) : netConnect({ host, port });
    let connected = false;
    const fail = (err: Error): void => {
      if (!connected) {
        opts.logger.warn({ err: err.message, target: `${target.protocol}//${target.host}` }, 'error dialing the runtime streaming server');
        writeRawError(client, 502, 'Bad Gateway', `error dialing backend: ${err.message}`);
        resolve();
        return;
      }
      client.destroy();
    };
    upstream.once('error', fail);
    upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true;
      upstream.write(buildUpstreamHead(req, target));
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
      resolve();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    if (opts.idleTimeoutMs && opts.idleTimeoutMs > 0) {
      upstream.setTimeout(opts.idleTimeoutMs, () => {
        upstream.destroy();
        client.destroy();
      });
    }
  });
}
