/**
 * A streaming reverse proxy to an upstream HTTPS server (the kubelet API on :10250), as
 * kube-apiserver's `UpgradeAwareHandler` does for `pods/log`, `nodes/proxy` and the
 * streaming subresources. Plain requests are piped both ways without buffering (so
 * `follow=true` logs stream); connection upgrades (exec/attach/portforward over SPDY or
 * WebSocket) are spliced socket to socket after the upstream's 101.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';

/** Where to send a proxied request, and with which client credentials. */
export interface UpstreamTarget {
  url: URL;
  /** Client certificate and key (PEM) presented to the upstream. */
  cert?: string;
  key?: string;
  /** CA to verify the upstream's serving certificate; without it the certificate is not verified. */
  ca?: string;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
]);

function forwardHeaders(headers: IncomingMessage['headers'], keepUpgrade: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (HOP_BY_HOP.has(k) && !(keepUpgrade && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = v;
  }
  return out;
}

function requestOptions(target: UpstreamTarget, method: string, headers: OutgoingHttpHeaders): RequestOptions {
  return {
    method,
    headers: { ...headers, host: target.url.host },
    cert: target.cert,
    key: target.key,
    ca: target.ca,
    // kube-apiserver does not verify kubelet serving certificates unless
    // --kubelet-certificate-authority is given; the same applies here without `ca`.
    rejectUnauthorized: target.ca !== undefined,
    agent: false,
  };
}

/** Options of {@link proxyRequest}. */
export interface ProxyOptions {
  logger?: Logger;
  /** Called when the upstream cannot be reached (before any byte was sent to the client). */
  onError: (err: unknown) => void;
  /** Override the method (e.g. GET for a log request). */
  method?: string;
}

/** Proxies a plain request, streaming the response through. Resolves when the exchange ends. */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, target: UpstreamTarget, opts: ProxyOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const method = opts.method ?? req.method ?? 'GET';
    const up = httpsRequest(target.url, requestOptions(target, method, forwardHeaders(req.headers, false)), (upRes) => {
      const headers = forwardHeaders(upRes.headers, false);
      res.writeHead(upRes.statusCode ?? 502, headers);
      res.flushHeaders();
      upRes.on('data', (chunk: Buffer) => {
        res.write(chunk);
      });
      upRes.on('end', () => {
        res.end();
        resolve();
      });
      upRes.on('error', () => {
        res.destroy();
        resolve();
      });
    });
    up.on('error', (err) => {
      opts.logger?.debug({ err: errorMessage(err), target: target.url.toString() }, 'proxy upstream failed');
      if (!res.headersSent) opts.onError(err);
      else res.destroy();
      resolve();
    });
    // The client went away (e.g. Ctrl-C on `kubectl logs -f`): stop the upstream too.
    res.on('close', () => {
      up.destroy();
      resolve();
    });
    if (method === 'GET' || method === 'HEAD') up.end();
    else req.pipe(up);
  });
}

/** Proxies an upgrade request (the server's `upgrade` event) and splices the two sockets. */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpstreamTarget, logger?: Logger): void {
  const up = httpsRequest(target.url, requestOptions(target, req.method ?? 'GET', forwardHeaders(req.headers, true)));
  up.on('upgrade', (upRes, upSocket, upHead) => {
    const lines = [`HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? 'Switching Protocols'}`];
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
    const done = (): void => {
      upSocket.destroy();
      socket.destroy();
    };
    upSocket.on('error', done);
    socket.on('error', done);
    upSocket.on('close', done);
    socket.on('close', done);
  });
  up.on('response', (upRes) => {
    // The upstream refused to upgrade: relay its answer and close.
    const lines = [`HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ''}`];
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
      const k = upRes.rawHeaders[i].toLowerCase();
      if (k !== 'transfer-encoding' && k !== 'connection') lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
    }
    lines.push('Connection: close');
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    upRes.pipe(socket);
  });
  up.on('error', (err) => {
    logger?.debug({ err: errorMessage(err), target: target.url.toString() }, 'upgrade proxy upstream failed');
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: errorMessage(err), reason: 'InternalError', code: 500 });
    socket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  socket.on('error', () => up.destroy());
  up.end();
}
