/**
 * The proxy's two HTTP servers, on kube-proxy's ports and paths:
 *
 * - health (`healthzBindAddress`, default 0.0.0.0:10256): `/healthz` and `/livez`, JSON like
 *   kube-proxy's (`{"lastUpdated": …,"currentTime": …, "nodeEligible": …}`), 200 or 503, with
 *   `X-Content-Type-Options: nosniff`; load balancers probe `/healthz` to find usable nodes.
 * - metrics (`metricsBindAddress`, default 127.0.0.1:10249): `/metrics` (Prometheus text),
 *   `/healthz` (`ok`) and `/proxyMode` (`nftables` or `iptables`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { InvalidInputError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { goTimeString, type ProxierHealth } from './health.js';
import type { ProxyMetrics } from './metrics.js';

/** A running server. */
export interface ProxyHttpServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Splits `host:port` / `[v6]:port`. Throws {@link InvalidInputError}. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new InvalidInputError(`expected host:port, got ${JSON.stringify(address)}`, { field: 'bindAddress' });
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

async function listen(server: Server, address: string): Promise<ProxyHttpServer> {
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${h}:${a.port}`,
    port: a.port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

function sendJson(res: ServerResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/** Options of {@link startProxyHealthServer}. */
export interface HealthServerOptions {
  /** `host:port`, e.g. `0.0.0.0:10256`. */
  address: string;
  health: ProxierHealth;
  metrics?: ProxyMetrics;
  logger: Logger;
}

/** Serves `/healthz` and `/livez`. */
export function startProxyHealthServer(opts: HealthServerOptions): Promise<ProxyHttpServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (path !== '/healthz' && path !== '/livez') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('404 page not found\n');
      return;
    }
    const st = opts.health.state();
    const healthy = path === '/healthz' ? st.healthy && st.nodeEligible : st.healthy;
    const code = healthy ? 200 : 503;
    (path === '/healthz' ? opts.metrics?.healthzTotal : opts.metrics?.livezTotal)?.inc({ code: String(code) });
    // As kube-proxy: when healthy, lastUpdated is "now" (older releases' semantics).
    const lastUpdated = goTimeString(healthy ? st.now : st.lastUpdated);
    const now = goTimeString(st.now);
    const body =
      path === '/healthz'
        ? `{"lastUpdated": ${JSON.stringify(lastUpdated)},"currentTime": ${JSON.stringify(now)}, "nodeEligible": ${st.nodeEligible}}`
        : `{"lastUpdated": ${JSON.stringify(lastUpdated)},"currentTime": ${JSON.stringify(now)}}`;
    sendJson(res, code, body, head);
  });
  return listen(server, opts.address).then((s) => {
    opts.logger.info({ url: s.url }, 'proxy healthz server listening');
    return s;
  });
}

/** Options of {@link startProxyMetricsServer}. */
export interface MetricsServerOptions {
  /** `host:port`, e.g. `127.0.0.1:10249`. */
  address: string;
  registry: Registry;
  /** What `/proxyMode` answers. */
  mode: string;
  logger: Logger;
}

/** Serves `/metrics`, `/healthz` and `/proxyMode`. */
export function startProxyMetricsServer(opts: MetricsServerOptions): Promise<ProxyHttpServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (m) => text(200, m, opts.registry.contentType),
        (err: unknown) => text(500, `${String(err)}\n`),
      );
    } else if (path === '/healthz') text(200, 'ok');
    else if (path === '/proxyMode') text(200, opts.mode);
    else text(404, '404 page not found\n');
  });
  return listen(server, opts.address).then((s) => {
    opts.logger.info({ url: s.url }, 'proxy metrics server listening');
    return s;
  });
}
