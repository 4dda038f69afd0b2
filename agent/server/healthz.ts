/**
 * Health endpoints, as `k8s.io/apiserver/pkg/server/healthz` serves them:
 *
 * - on the kubelet API (:10250): `/healthz` with the checks `ping`, `log` and `syncloop`, each
 *   also at `/healthz/<name>`; `?verbose` lists them (`[+]ping ok`), a failure answers 500
 *   with `[-]syncloop failed: reason withheld`;
 * - the plain-HTTP healthz port (127.0.0.1:10248): `/healthz` answering `ok`, no checks beyond
 *   `ping` (kubelet installs the bare handler there).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.js';

/** One named check: returns undefined when healthy, else why not. */
export interface HealthCheck {
  name: string;
  check(): string | undefined;
}

function send(res: ServerResponse, status: number, body: string, req?: IncomingMessage): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(body) });
  res.end(req?.method === 'HEAD' ? undefined : body);
}

/** Serves `/healthz` and `/healthz/<check>`; returns false when the path is not a healthz path. */
export function serveHealthz(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, checks: readonly HealthCheck[]): boolean {
  if (path === '/healthz' || path === '/healthz/') {
    const verbose = query.has('verbose');
    const exclude = new Set(query.getAll('exclude'));
    const lines: string[] = [];
    let failed = false;
    for (const c of checks) {
      if (exclude.has(c.name)) {
        lines.push(`[+]${c.name} excluded: ok`);
        continue;
      }
      const why = c.check();
      if (why === undefined) lines.push(`[+]${c.name} ok`);
      else {
        failed = true;
        lines.push(`[-]${c.name} failed: reason withheld`);
      }
    }
    if (failed) send(res, 500, `${lines.join('\n')}\nhealthz check failed\n`, req);
    else if (verbose) send(res, 200, `${lines.join('\n')}\nhealthz check passed\n`, req);
    else send(res, 200, 'ok', req);
    return true;
  }
  const m = /^\/healthz\/([^/]+)$/.exec(path);
  if (!m) return false;
  const c = checks.find((x) => x.name === m[1]);
  if (!c) {
    send(res, 404, '404 page not found\n', req);
    return true;
  }
  const why = c.check();
  if (why === undefined) send(res, 200, 'ok', req);
  else send(res, 500, `internal server error: ${why}\n`, req);
  return true;
}

/** The default checks: `ping` and `log` always pass; `syncloop` asks `syncLoopHealthy`. */
export function defaultHealthChecks(syncLoopHealthy?: () => boolean | string): HealthCheck[] {
  return [
    { name: 'ping', check: () => undefined },
    { name: 'log', check: () => undefined },
    {
      name: 'syncloop',
      check: () => {
        const r = syncLoopHealthy ? syncLoopHealthy() : true;
        if (r === true) return undefined;
        return typeof r === 'string' ? r : 'sync Loop took longer than expected';
      },
    },
  ];
}

/** A running plain-HTTP healthz server. */
export interface HealthzServer {
  /** Where it listens. */
  address: AddressInfo;
  close(): Promise<void>;
}

/** Starts the plain-HTTP healthz endpoint (`healthzBindAddress:healthzPort`). */
export async function startHealthzServer(opts: { address: string; port: number; logger: Logger }): Promise<HealthzServer> {
  const checks = [{ name: 'ping', check: () => undefined }];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!serveHealthz(req, res, url.pathname, url.searchParams, checks)) send(res, 404, '404 page not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  opts.logger.info({ address: `${address.address}:${address.port}` }, 'healthz server listening');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
