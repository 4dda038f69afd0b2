/**
 * The kubelet API server: HTTPS on `address:port` (10250) with kubelet's authentication and
 * authorization in front of every route, plus the plain-HTTP healthz port (10248).
 *
 * ```
 *   request ──► authenticate (x509 | TokenReview | anonymous) ── fail ──► 401 Unauthorized
 *               ──► authorize nodes/<node>/<subresource> (AlwaysAllow | SubjectAccessReview)
 *                     ── deny ──► 403 Forbidden (user=…, verb=…, resource=nodes, subresource=…)
 *               ──► route: /healthz  /pods  /containerLogs  /metrics[/resource]  /stats/summary
 *   upgrade  ──► same checks ──► /exec  /attach  /portForward: resolve ids → runtime URL
 *               ──► replay the request to the runtime's streaming server, pipe both ways
 * ```
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { Registry } from 'prom-client';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, hasCode, InvalidInputError, isNotFound, SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { KubeClient } from '../../lib/kube/index.js';
import type { AgentConfig } from '../config/index.js';
import { LogOptionsError, parsePodLogOptions, readLogs, toReadOptions } from '../logs/index.js';
import type { Runtime } from '../runtime/index.js';
import { KubeletAuthenticator, type UserInfo } from './authn.js';
import { AlwaysAllowAuthorizer, describeAttributes, requestAttributes, WebhookAuthorizer, type Authorizer } from './authz.js';
import { defaultHealthChecks, serveHealthz, startHealthzServer, type HealthCheck, type HealthzServer } from './healthz.js';
import { createKubeletMetrics, httpLabels, type KubeletMetrics } from './metrics.js';
import { matchRoute, ROUTE_METHODS, type Route } from './routes.js';
import { renderResourceMetrics, StatsProvider, type PodStats } from './stats.js';
import { isUpgradeRequest, parseCommand, parsePorts, parseStreamOptions, proxyUpgrade, writeRawError } from './streaming.js';
import { loadServingCert } from './tls.js';

/** The kubelet API server could not start. */
export class KubeletServerError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_KUBELET_SERVER', message, options);
  }
}

/** Where a container's log is, and whether the container still runs (for `follow`). */
export interface LogTarget {
  path: string;
  isRunning(): boolean | Promise<boolean>;
}

/**
 * What the server needs from the pod subsystem. Providers signal "no such thing" with
 * `NotFoundError` (→ 404) and "not possible in this state" with `InvalidInputError` (→ 400);
 * the error message is the response body.
 */
export interface KubeletServerProviders {
  /** The pods the agent runs (API pods bound to this node and static pods). */
  pods(): readonly Pod[];
  /**
   * The log file of a container (`previous`: of its last terminated instance). See
   * `resolveLogContainer` in `agent/logs` for kubelet's status rules and messages.
   */
  logs(namespace: string, pod: string, container: string, previous: boolean): LogTarget | Promise<LogTarget>;
  /** The runtime id of a running container (for exec/attach). */
  container(namespace: string, pod: string, container: string, uid?: string): { containerId: string } | Promise<{ containerId: string }>;
  /** The runtime id of a pod's sandbox (for port-forward). */
  sandbox(namespace: string, pod: string, uid?: string): { sandboxId: string } | Promise<{ sandboxId: string }>;
  /** Per-pod stats for /stats/summary; default: from the runtime's CRI stats. */
  podStats?(): Promise<PodStats[]>;
  /** The `syncloop` health check: true when healthy, or why not. Default healthy. */
  syncLoopHealthy?(): boolean | string;
}

/** Options of {@link startKubeletServer}. */
export interface KubeletServerOptions {
  config: AgentConfig;
  runtime: Runtime;
  /** Client for TokenReview and SubjectAccessReview. */
  client: KubeClient;
  providers: KubeletServerProviders;
  clock: Clock;
  logger: Logger;
  /** A registry made with `createKubeletMetrics`; default a new one. */
  metrics?: KubeletMetrics;
  /** The node's IPs, for the self-signed certificate. */
  nodeIPs?: readonly string[];
  /** Prefix of /proc for stats (tests); default `/`. */
  procRoot?: string;
}

/** A running kubelet API server. */
export interface KubeletServer {
  /** Where the HTTPS server listens. */
  address: AddressInfo;
  /** Where the healthz server listens, when enabled. */
  healthzAddress?: AddressInfo;
  /** The Prometheus registry served at /metrics. */
  registry: Registry;
  metrics: KubeletMetrics;
  /** Closes both servers and every open connection (follows and streams included). */
  stop(): Promise<void>;
}

interface Ctx {
  opts: KubeletServerOptions;
  authn: KubeletAuthenticator;
  authz: Authorizer;
  metrics: KubeletMetrics;
  stats: StatsProvider;
  checks: HealthCheck[];
  log: Logger;
}

function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), 'application/json');
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error' };

/** HTTP status of an error from a provider or the runtime. */
function statusOf(err: unknown, fallback: number): number {
  if (isNotFound(err)) return 404;
  if (err instanceof InvalidInputError || hasCode(err, 'SKIFF_INVALID_INPUT')) return 400;
  return fallback;
}

function findPod(ctx: Ctx, namespace: string, name: string): Pod | undefined {
  return ctx.opts.providers.pods().find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name);
}

/** Authenticates and authorizes; on failure writes the response (via `fail`) and returns undefined. */
async function admit(ctx: Ctx, req: IncomingMessage, path: string, fail: (status: number, body: string) => void): Promise<UserInfo | undefined> {
  let user: UserInfo;
  try {
    user = await ctx.authn.authenticate(req);
  } catch (err) {
    ctx.log.debug({ err: errorMessage(err), path }, 'unable to authenticate the request');
    fail(401, 'Unauthorized');
    return undefined;
  }
  const attrs = requestAttributes(user, req.method, path, ctx.opts.config.nodeName);
  try {
    const d = await ctx.authz.authorize(attrs);
    if (!d.allowed) {
      ctx.log.debug({ user: user.name, verb: attrs.verb, subresource: attrs.subresource, reason: d.reason }, 'forbidden');
      fail(403, describeAttributes('Forbidden', attrs));
      return undefined;
    }
  } catch (err) {
    ctx.log.error({ err: errorMessage(err), user: user.name, verb: attrs.verb, subresource: attrs.subresource }, 'authorization error');
    fail(500, describeAttributes('Authorization error', attrs));
    return undefined;
  }
  return user;
}

async function handleRequest(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const path = url.pathname;
  const user = await admit(ctx, req, path, (s, b) => sendText(res, s, b));
  if (!user) return;
  ctx.log.debug({ method: req.method, path, user: user.name }, 'request');
  if (path === '/healthz' || path.startsWith('/healthz/')) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed');
    if (!serveHealthz(req, res, path, url.searchParams, ctx.checks)) sendText(res, 404, '404 page not found\n');
    return;
  }
  const route = matchRoute(path);
  if (!route) return sendText(res, 404, '404 page not found\n');
  if (!ROUTE_METHODS[route.kind].includes(req.method ?? '')) return sendText(res, 405, 'Method Not Allowed');
  switch (route.kind) {
    case 'pods': {
      const list: PodList = { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [...ctx.opts.providers.pods()] };
      return sendJson(res, 200, list);
    }
    case 'containerLogs':
      return serveLogs(ctx, req, res, route, url.searchParams);
    case 'metrics': {
      const body = await ctx.metrics.registry.metrics();
      return sendText(res, 200, body, ctx.metrics.registry.contentType);
    }
    case 'metricsResource': {
      let scrapeError = false;
      const summary = await ctx.stats.summary().catch((err) => {
        ctx.log.warn({ err: errorMessage(err) }, 'cannot collect resource metrics');
        scrapeError = true;
        return { node: { nodeName: ctx.opts.config.nodeName, startTime: new Date(ctx.opts.clock.now()).toISOString() }, pods: [] };
      });
      return sendText(res, 200, renderResourceMetrics(summary, scrapeError), 'text/plain; version=0.0.4; charset=utf-8');
    }
    case 'statsSummary':
      return sendJson(res, 200, await ctx.stats.summary());
    case 'exec':
    case 'attach':
    case 'portForward':
      // A streaming request that did not ask for an upgrade. Deviation: kubelet asks the runtime
      // for a session first and then answers 500; Skiff refuses up front with 400.
      return sendText(res, 400, 'Upgrade request required');
  }
}

async function serveLogs(ctx: Ctx, req: IncomingMessage, res: ServerResponse, route: Extract<Route, { kind: 'containerLogs' }>, query: URLSearchParams): Promise<void> {
  let opts;
  try {
    opts = parsePodLogOptions(query);
  } catch (err) {
    if (err instanceof LogOptionsError) return sendText(res, err.statusCode, err.message);
    throw err;
  }
  const pod = findPod(ctx, route.namespace, route.pod);
  if (!pod) return sendText(res, 404, `pod "${route.pod}" does not exist`);
  const spec = pod.spec;
  if (![...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])].some((c) => c.name === route.container)) {
    return sendText(res, 404, `container "${route.container}" not found in pod "${route.pod}"`);
  }
  let target: LogTarget;
  try {
    target = await ctx.opts.providers.logs(route.namespace, route.pod, route.container, opts.previous);
    await stat(target.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = code === 'ENOENT' ? `failed to open log file: no such file or directory` : errorMessage(err);
    // kubelet answers every failure to read a container's log with 400.
    return sendText(res, statusOf(err, 400) === 404 ? 404 : 400, msg);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked', 'X-Content-Type-Options': 'nosniff' });
  if (req.method === 'HEAD') return void res.end();
  res.flushHeaders();
  const ac = new AbortController();
  const onClose = (): void => ac.abort();
  res.once('close', onClose);
  try {
    await readLogs({
      path: target.path,
      output: res,
      signal: ac.signal,
      isRunning: () => target.isRunning(),
      ...toReadOptions(opts, ctx.opts.clock.now()),
      clock: ctx.opts.clock,
      logger: ctx.log,
    });
  } catch (err) {
    ctx.log.warn({ err: errorMessage(err), pod: `${route.namespace}/${route.pod}`, container: route.container }, 'failed to read container log');
  } finally {
    res.off('close', onClose);
    if (!res.writableEnded) res.end();
  }
}

async function handleUpgrade(ctx: Ctx, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const path = url.pathname;
  const fail = (status: number, body: string): void => writeRawError(socket, status, STATUS_TEXT[status] ?? 'Error', body);
  const user = await admit(ctx, req, path, fail);
  if (!user) return;
  const route = matchRoute(path);
  if (!route) return fail(404, '404 page not found\n');
  if (route.kind !== 'exec' && route.kind !== 'attach' && route.kind !== 'portForward') return fail(400, 'upgrade is not supported on this path');
  if (!ROUTE_METHODS[route.kind].includes(req.method ?? '')) return fail(405, 'Method Not Allowed');
  const streaming = ctx.opts.runtime.streaming;
  if (!streaming) return fail(500, 'the container runtime does not support streaming');
  const q = url.searchParams;
  let target: string;
  try {
    if (route.kind === 'portForward') {
      const ports = parsePorts(q);
      const pod = findPod(ctx, route.namespace, route.pod);
      if (!pod) return fail(404, 'pod does not exist');
      if (route.uid && pod.metadata?.uid !== route.uid) return fail(404, 'pod not found');
      const { sandboxId } = await ctx.opts.providers.sandbox(route.namespace, route.pod, route.uid);
      target = await streaming.portForward({ podSandboxId: sandboxId, port: ports });
    } else {
      const streams = parseStreamOptions(q);
      const pod = findPod(ctx, route.namespace, route.pod);
      if (!pod) return fail(404, 'pod does not exist');
      if (route.uid && pod.metadata?.uid !== route.uid) return fail(404, 'pod not found');
      const { containerId } = await ctx.opts.providers.container(route.namespace, route.pod, route.container, route.uid);
      target =
        route.kind === 'exec'
          ? await streaming.exec({ containerId, cmd: parseCommand(q), ...streams })
          : await streaming.attach({ containerId, ...streams });
    }
  } catch (err) {
    const status = statusOf(err, 500);
    if (status === 500) ctx.log.error({ err: errorMessage(err), kind: route.kind, pod: `${route.namespace}/${route.pod}` }, 'streaming request failed');
    return fail(status, errorMessage(err));
  }
  let targetUrl: URL;
  try {
    targetUrl = new URL(target);
  } catch (err) {
    return fail(500, `invalid streaming URL from the runtime: ${errorMessage(err)}`);
  }
  ctx.log.debug({ kind: route.kind, pod: `${route.namespace}/${route.pod}`, user: user.name }, 'proxying stream');
  await proxyUpgrade(req, socket, head, targetUrl, { logger: ctx.log, idleTimeoutMs: ctx.opts.config.server.streamingConnectionIdleTimeoutMs });
}

function readOptionalFile(path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KubeletServerError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Starts the kubelet API server (and the healthz server when `healthzPort` > 0). */
export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const { config, clock } = opts;
  const sc = config.server;
  const log = opts.logger.child({ component: 'kubelet-server' });
  const clientCA = readOptionalFile(sc.authentication.clientCAFile);
  const cert = await loadServingCert({
    tlsCertFile: sc.tlsCertFile,
    tlsPrivateKeyFile: sc.tlsPrivateKeyFile,
    certDir: config.certDir,
    hostname: config.nodeName,
    ips: opts.nodeIPs ?? config.nodeIPs,
    clock,
    logger: log,
  });
  const metrics = opts.metrics ?? createKubeletMetrics({ nodeName: config.nodeName, pods: () => opts.providers.pods() });
  const ctx: Ctx = {
    opts,
    log,
    metrics,
    authn: new KubeletAuthenticator({
      anonymousEnabled: sc.authentication.anonymousEnabled,
      x509Enabled: !!clientCA,
      webhook: sc.authentication.webhookEnabled ? { client: opts.client, cacheTtlMs: sc.authentication.webhookCacheTtlMs } : undefined,
      clock,
      logger: log,
    }),
    authz:
      sc.authorization.mode === 'Webhook'
        ? new WebhookAuthorizer({ client: opts.client, cacheAuthorizedTtlMs: sc.authorization.cacheAuthorizedTtlMs, cacheUnauthorizedTtlMs: sc.authorization.cacheUnauthorizedTtlMs, clock, logger: log })
        : new AlwaysAllowAuthorizer(),
    stats: new StatsProvider({
      nodeName: config.nodeName,
      facts: { root: opts.procRoot ?? '/', fsPath: config.rootDir },
      clock,
      logger: log,
      runtime: opts.runtime,
      pods: () => opts.providers.pods(),
      podStats: opts.providers.podStats ? () => opts.providers.podStats!() : undefined,
      podLogsDir: config.podLogsDir,
      rootDir: config.rootDir,
    }),
    checks: defaultHealthChecks(opts.providers.syncLoopHealthy ? () => opts.providers.syncLoopHealthy!() : undefined),
  };

  /** Counts a request into the `kubelet_http_*` families; call the result when it ends. */
  const track = (method: string | undefined, url: string | undefined): (() => void) => {
    const labels = httpLabels(method, (url ?? '/').split('?')[0]);
    const started = clock.now();
    metrics.httpRequests.inc(labels);
    metrics.httpInflight.inc(labels);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      metrics.httpInflight.dec(labels);
      metrics.httpDuration.observe(labels, Math.max(0, clock.now() - started) / 1000);
    };
  };

  const sockets = new Set<Socket | Duplex>();
  const server: Server = createHttpsServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      ca: clientCA,
      requestCert: !!clientCA,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      res.once('close', track(req.method, req.url));
      handleRequest(ctx, req, res).catch((err) => {
        log.error({ err: errorMessage(err), path: req.url?.split('?')[0] }, 'request failed');
        if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
        else res.destroy();
      });
    },
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    const done = track(req.method, req.url);
    socket.once('close', () => {
      sockets.delete(socket);
      done();
    });
    socket.on('error', () => undefined);
    if (!isUpgradeRequest(req)) {
      writeRawError(socket, 400, 'Bad Request', 'bad upgrade request');
      return;
    }
    handleUpgrade(ctx, req, socket, head).catch((err) => {
      log.error({ err: errorMessage(err) }, 'upgrade request failed');
      writeRawError(socket, 500, 'Internal Server Error', 'Internal Server Error');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new KubeletServerError(`cannot listen on ${sc.address}:${sc.port}: ${err.message}`, { cause: err })));
    server.listen(sc.port, sc.address, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info({ address: `${address.address}:${address.port}`, certFile: cert.certFile, authorization: sc.authorization.mode }, 'kubelet API server listening');

  let healthz: HealthzServer | undefined;
  if (sc.healthzPort > 0) {
    try {
      healthz = await startHealthzServer({ address: sc.healthzBindAddress, port: sc.healthzPort, logger: log });
    } catch (err) {
      await new Promise<void>((r) => server.close(() => r()));
      throw new KubeletServerError(`cannot listen on ${sc.healthzBindAddress}:${sc.healthzPort}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    address,
    healthzAddress: healthz?.address,
    registry: metrics.registry,
    metrics,
    async stop(): Promise<void> {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await Promise.all([closed, healthz?.close()]);
    },
  };
}
