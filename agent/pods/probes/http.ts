/**
 * The HTTP GET of httpGet probes and lifecycle hooks, as kubelet's `pkg/probe/http`: no
 * keep-alive, no proxy, TLS without verification, redirects followed only to the same host
 * (kubelet's `RedirectChecker(false)`, at most 10), at most 10 KiB of body read, and errors
 * rendered as Go's `url.Error` (`Get "http://10.0.0.5:8080/healthz": dial tcp 10.0.0.5:8080:
 * connect: connection refused`) so that Events read like kubelet's.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { Container, HTTPGetAction } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../../lib/clock.js';
import { SkiffError } from '../../../lib/errors.js';

/** Kubernetes minor version this agent mimics, for `kube-probe/<major>.<minor>`. */
export const KUBE_VERSION = '1.32';
/** kubelet's `maxRespBodyLength`. */
export const MAX_BODY_BYTES = 10 * 1024;

/** A request could not be made or completed; the message is Go's url.Error text (code `SKIFF_HTTP_GET`). */
export class HttpGetError extends SkiffError {
  /** The server answered plain HTTP to an HTTPS request. */
  readonly httpResponseToHttps: boolean;
  constructor(message: string, options?: { cause?: unknown; httpResponseToHttps?: boolean }) {
    super('SKIFF_HTTP_GET', message, options);
    this.httpResponseToHttps = options?.httpResponseToHttps ?? false;
  }
}

/** A port reference could not be resolved, or a request could not be built (code `SKIFF_PROBE_CONFIG`). */
export class ProbeConfigError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_PROBE_CONFIG', message, options);
  }
}

/** The answer of {@link httpGet}. */
export interface HttpGetResponse {
  status: number;
  /** At most {@link MAX_BODY_BYTES}. */
  body: Buffer;
  /** URL of the response (after redirects). */
  url: string;
}

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  /** Headers in order; several values per name allowed. `Host` sets the request's host. */
  headers: [string, string][];
  /** Whole-exchange timeout in ms (Go's `Client.Timeout`); 0 or undefined for none. */
  timeoutMs?: number;
  clock: Clock;
  signal?: AbortSignal;
}

/** `net.JoinHostPort`. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `probe.ResolveContainerPort`: a number, or a named container port (a numeric string is
 * accepted as a last resort); 1–65535.
 */
export function resolveContainerPort(port: number | string | undefined, container: Container | undefined): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else if (typeof port === 'string') {
    const named = container?.ports?.find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[+-]?\d+$/.test(port)) n = Number(port);
    else throw new ProbeConfigError(`strconv.Atoi: parsing "${port}": invalid syntax`);
  } else throw new ProbeConfigError(`intOrString had no kind: ${String(port)}`);
  if (n > 0 && n < 65536) return n;
  throw new ProbeConfigError(`invalid port number: ${n}`);
}

/** `formatURL`: scheme://host:port + path (which may carry a query). */
export function formatUrl(scheme: string, host: string, port: number, path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  return `${scheme}://${joinHostPort(host, port)}${p}`;
}

/**
 * `NewRequestForHTTPGetAction`: the URL and headers of an httpGet action. `userAgentFragment`
 * is `probe` or `lifecycle` (`kube-probe/1.32`, `kube-lifecycle/1.32`).
 */
export function requestForHttpGetAction(
  action: HTTPGetAction,
  container: Container | undefined,
  podIP: string,
  userAgentFragment: 'probe' | 'lifecycle',
): { url: string; headers: [string, string][] } {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase() || 'http';
  const host = action.host || podIP;
  const port = resolveContainerPort(action.port, container);
  const url = formatUrl(scheme, host, port, action.path ?? '');
  const headers: [string, string][] = (action.httpHeaders ?? []).map((h) => [h.name, h.value]);
  const has = (n: string): boolean => headers.some(([k]) => k.toLowerCase() === n.toLowerCase());
  if (!has('User-Agent')) headers.push(['User-Agent', `kube-${userAgentFragment}/${KUBE_VERSION}`]);
  if (!has('Accept')) headers.push(['Accept', '*/*']);
  else {
    // An Accept header overridden to empty is removed.
    const acc = headers.filter(([k]) => k.toLowerCase() === 'accept');
    if (acc.every(([, v]) => v === '')) return { url, headers: headers.filter(([k]) => k.toLowerCase() !== 'accept') };
  }
  return { url, headers };
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** Maps a Node socket error to Go's net.OpError text. */
export function goDialError(err: NodeJS.ErrnoException, addr: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'EADDRNOTAVAIL':
      return `dial tcp ${addr}: connect: cannot assign requested address`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${addr.replace(/:\d+$/, '')}: no such host`;
    default:
      return err.message;
  }
}

function isTlsPlainHttp(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(err.message ?? '');
}

interface Once {
  status: number;
  location?: string;
  body: Buffer;
}

function requestOnce(url: URL, headers: [string, string][], signal: AbortSignal): Promise<Once> {
  const mod = url.protocol === 'https:' ? https : http;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const hdrs: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    const key = k.toLowerCase() === 'host' ? 'Host' : k;
    const prev = hdrs[key];
    hdrs[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return new Promise<Once>((resolve, reject) => {
    const req = mod.request(
      {
        protocol: url.protocol,
        hostname,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: hdrs,
        agent: false,
        signal,
        rejectUnauthorized: false,
        servername: isIP(hostname) ? undefined : hostname,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES) });
        };
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= MAX_BODY_BYTES) done();
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Performs a GET with kubelet's probe client semantics. Resolves with the status and at
 * most 10 KiB of body; a redirect to another host is not followed (the 3xx is returned).
 * Rejects with {@link HttpGetError} carrying Go's message.
 */
export async function httpGet(rawUrl: string, opts: HttpGetOptions): Promise<HttpGetResponse> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = opts.timeoutMs ? opts.clock.setTimer(opts.timeoutMs, () => ((timedOut = true), ac.abort())) : undefined;
  const onAbort = (): void => ac.abort();
  if (opts.signal?.aborted) ac.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch (err) {
    throw new HttpGetError(`parse "${rawUrl}": invalid URL`, { cause: err });
  }
  const first = url;
  try {
    for (let redirects = 0; ; redirects++) {
      let res: Once;
      try {
        res = await requestOnce(url, opts.headers, ac.signal);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const addr = joinHostPort(url.hostname.replace(/^\[|\]$/g, ''), url.port || (url.protocol === 'https:' ? 443 : 80));
        if (timedOut) {
          throw new HttpGetError(`Get "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, { cause: err });
        }
        if (ac.signal.aborted) throw new HttpGetError(`Get "${url.href}": context canceled`, { cause: err });
        if (url.protocol === 'https:' && isTlsPlainHttp(e)) {
          throw new HttpGetError(`Get "${url.href}": http: server gave HTTP response to HTTPS client`, { cause: err, httpResponseToHttps: true });
        }
        throw new HttpGetError(`Get "${url.href}": ${goDialError(e, addr)}`, { cause: err });
      }
      if (!REDIRECT_CODES.has(res.status) || !res.location) return { status: res.status, body: res.body, url: url.href };
      let next: URL;
      try {
        next = new URL(res.location, url);
      } catch {
        return { status: res.status, body: res.body, url: url.href };
      }
      // kubelet's RedirectChecker(false): stay on the same host, at most 10 redirects.
      if (next.hostname !== first.hostname) return { status: res.status, body: res.body, url: url.href };
      if (redirects + 1 >= 10) throw new HttpGetError(`Get "${next.href}": stopped after 10 redirects`);
      url = next;
    }
  } finally {
    timer?.cancel();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
