/**
 * The HTTP implementation of {@link KubeClient}: JSON over HTTPS with undici, kubeconfig
 * credentials (x509 client certificates or a bearer token), a client-side token bucket
 * (kubeAPIQPS / kubeAPIBurst), and streaming watches (newline-delimited JSON events).
 *
 * Memory: only the two parts of undici the client uses are loaded, its `Agent` (connection
 * pools) and its request API. `import 'undici'` would also load fetch, WebSocket,
 * EventSource, the HTTP cache, the mock agents and every interceptor: about 60 more modules
 * and ~7 MiB of resident memory in the agent for code it never runs (bench/RESULTS.md).
 * These are undici's own files, required as undici's index does (v7 layout,
 * `lib/dispatcher/agent.js` and `lib/api/index.js`); `rest-client.int.test.ts` drives them.
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { AbortedError, UnavailableError } from '../errors.js';
import { realClock, type Clock } from '../clock.js';
import { ApiError, statusFailure } from './errors.js';
import { resourcePath, type ResourceType } from './resources.js';
import { TokenBucket, type RateLimiter } from './rate-limiter.js';
import type { ClusterCredentials } from './kubeconfig.js';
import {
  PATCH_CONTENT_TYPES,
  type DeleteOptions,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type PatchType,
  type WatchEvent,
  type WatchOptions,
  type WatchStream,
  type WriteOptions,
} from './client.js';

const requireUndici = createRequire(import.meta.url);
const Agent = requireUndici('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
/** undici's `Dispatcher.prototype.request` (the index attaches it to every dispatcher). */
const undiciRequest = (requireUndici('undici/lib/api/index.js') as { request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> }).request;

/**
 * Default {@link RestClientOptions.maxConnections}. kubelet (client-go) multiplexes every
 * request and watch over one HTTP/2 connection; undici speaks HTTP/1.1 here (its HTTP/2
 * client is experimental), so a burst of requests (30 pods' status patches, events and
 * secret reads) opened one TLS connection per concurrent request, ~60 per client, each with
 * its OpenSSL state and buffers. 16 kept the agent's peak RSS 4–5 MiB lower with the same
 * pod-startup times (bench/RESULTS.md); 16 concurrent requests of a few ms each still serve
 * far more than the 50 QPS the client-side limiter allows.
 */
export const DEFAULT_MAX_CONNECTIONS = 16;

/** The apiserver could not be reached (connection refused, reset, TLS failure, timeout). */
export class ApiConnectionError extends UnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True when `err` is an {@link ApiConnectionError}. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof ApiConnectionError;
}

/** Options of {@link RestClient}. */
export interface RestClientOptions {
  credentials: ClusterCredentials;
  /** Requests per second (0 disables limiting). Default 50, as kubelet's kubeAPIQPS. */
  qps?: number;
  /** Bucket size. Default 100, as kubelet's kubeAPIBurst. */
  burst?: number;
  /** Timeout of a non-watch request, ms. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Most connections open at once for requests other than watches (HTTP/1.1: one request
   * per connection); more requests wait for a free one. Default {@link DEFAULT_MAX_CONNECTIONS}.
   * Watches have a pool of their own, one connection each, so they never hold up requests.
   */
  maxConnections?: number;
  userAgent?: string;
  clock?: Clock;
}

type Query = Record<string, string | number | boolean | undefined>;

function queryString(q: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function listQuery(o: ListOptions | undefined): Query {
  return {
    labelSelector: o?.labelSelector,
    fieldSelector: o?.fieldSelector,
    resourceVersion: o?.resourceVersion,
    resourceVersionMatch: o?.resourceVersionMatch,
    limit: o?.limit,
    continue: o?.continue,
  };
}

function writeQuery(o: WriteOptions | undefined): Query {
  return { fieldManager: o?.fieldManager, fieldValidation: o?.fieldValidation, dryRun: o?.dryRun ? 'All' : undefined };
}

/** Talks to one apiserver over HTTP(S). */
export class RestClient implements KubeClient {
  /** Pool of short requests (at most `maxConnections`), and the pool of watches. */
  private readonly dispatcher: Dispatcher;
  private readonly watchDispatcher: Dispatcher;
  private readonly limiter: RateLimiter;
  private readonly base: string;
  /** `scheme://host:port` of the server, and its path prefix (usually empty). */
  private readonly origin: string;
  private readonly prefix: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(opts: RestClientOptions) {
    const c = opts.credentials;
    this.base = c.server.replace(/\/+$/, '');
    const url = new URL(this.base);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    const connect = {
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      rejectUnauthorized: !c.insecureSkipTlsVerify,
      servername: c.tlsServerName,
    };
    // Requests are bounded by their AbortSignal (requestTimeoutMs), not by undici's timers.
    this.dispatcher = new Agent({ connect, bodyTimeout: 0, headersTimeout: this.timeoutMs, keepAliveTimeout: 30_000, connections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS });
    // Watches stream for minutes; the server's timeoutSeconds ends them. No connection limit:
    // each watch holds its connection for its whole life.
    this.watchDispatcher = new Agent({ connect, bodyTimeout: 0, headersTimeout: this.timeoutMs, keepAliveTimeout: 30_000 });
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100, opts.clock ?? realClock);
    this.headers = {
      'user-agent': opts.userAgent ?? 'skiff/0.1.0 (linux/amd64)',
      accept: 'application/json',
    };
    if (c.token) this.headers.authorization = `Bearer ${c.token}`;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await Promise.all([this.dispatcher.close(), this.watchDispatcher.close()]);
  }

  /** GETs an arbitrary path (discovery, /version) and parses JSON. */
  async getRaw<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.send<T>('GET', path, undefined, undefined, signal);
  }

  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: { signal?: AbortSignal }): Promise<T> {
    return this.send<T>('GET', resourcePath(type, namespace, name), undefined, undefined, opts?.signal);
  }

  list<T extends KubeObject>(type: ResourceType, opts?: ListOptions): Promise<ObjectList<T>> {
    return this.send<ObjectList<T>>('GET', resourcePath(type, opts?.namespace) + queryString(listQuery(opts)), undefined, undefined, opts?.signal);
  }

  create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    const path = resourcePath(type, obj.metadata?.namespace) + queryString(writeQuery(opts));
    return this.send<T>('POST', path, JSON.stringify(obj), 'application/json', opts?.signal);
  }

  update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    const path = resourcePath(type, obj.metadata?.namespace, obj.metadata?.name ?? '', opts?.subresource) + queryString(writeQuery(opts));
    return this.send<T>('PUT', path, JSON.stringify(obj), 'application/json', opts?.signal);
  }

  patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts?: WriteOptions,
  ): Promise<T> {
    const path = resourcePath(type, namespace, name, opts?.subresource) + queryString(writeQuery(opts));
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    return this.send<T>('PATCH', path, body, PATCH_CONTENT_TYPES[patchType], opts?.signal);
  }

  delete<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T | Status> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts?.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts?.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts?.preconditions) body.preconditions = opts.preconditions;
    if (opts?.dryRun) body.dryRun = ['All'];
    return this.send<T | Status>('DELETE', resourcePath(type, namespace, name), JSON.stringify(body), 'application/json', opts?.signal);
  }

  createSubresource<B, R>(type: ResourceType, namespace: string | undefined, name: string, subresource: string, body: B, opts?: WriteOptions): Promise<R> {
    const path = resourcePath(type, namespace, name, subresource) + queryString(writeQuery(opts));
    return this.send<R>('POST', path, JSON.stringify(body), 'application/json', opts?.signal);
  }

  async watch<T extends KubeObject>(type: ResourceType, opts?: WatchOptions): Promise<WatchStream<T>> {
    const q: Query = { ...listQuery(opts), watch: 'true', allowWatchBookmarks: opts?.allowWatchBookmarks ? 'true' : undefined, timeoutSeconds: opts?.timeoutSeconds };
    delete q.limit;
    delete q.continue;
    const path = resourcePath(type, opts?.namespace) + queryString(q);
    const ac = new AbortController();
    const onOuterAbort = (): void => ac.abort();
    opts?.signal?.addEventListener('abort', onOuterAbort, { once: true });
    await this.limiter.acquire(ac.signal);
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest.call(this.watchDispatcher, { origin: this.origin, path: this.prefix + path, method: 'GET', headers: this.headers, signal: ac.signal });
    } catch (err) {
      opts?.signal?.removeEventListener('abort', onOuterAbort);
      if (opts?.signal?.aborted) throw new AbortedError(`watch ${path} aborted`, { cause: err });
      throw this.wrapNetworkError(err, 'GET', path);
    }
    if (res.statusCode !== 200) {
      opts?.signal?.removeEventListener('abort', onOuterAbort);
      throw await this.errorFrom(res, 'GET', path);
    }
    const body = res.body;
    const close = (): void => {
      opts?.signal?.removeEventListener('abort', onOuterAbort);
      ac.abort();
    };
    const wrap = this.wrapNetworkError.bind(this);
    async function* events(): AsyncGenerator<WatchEvent<T>> {
      let buf = '';
      try {
        for await (const chunk of body) {
          buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) yield JSON.parse(line) as WatchEvent<T>;
          }
        }
        const rest = buf.trim();
        if (rest) yield JSON.parse(rest) as WatchEvent<T>;
      } catch (err) {
        if (ac.signal.aborted) return;
        throw wrap(err, 'GET', path);
      } finally {
        close();
      }
    }
    const it = events();
    return { [Symbol.asyncIterator]: () => it, close };
  }

  private async send<T>(method: string, path: string, body: string | undefined, contentType: string | undefined, signal?: AbortSignal): Promise<T> {
    await this.limiter.acquire(signal);
    const headers = contentType ? { ...this.headers, 'content-type': contentType } : this.headers;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest.call(this.dispatcher, { origin: this.origin, path: this.prefix + path, method: method as Dispatcher.HttpMethod, headers, body, signal: sig });
    } catch (err) {
      if (signal?.aborted) throw new AbortedError(`${method} ${path} aborted`, { cause: err });
      throw this.wrapNetworkError(err, method, path);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return (await res.body.json()) as T;
      } catch (err) {
        throw this.wrapNetworkError(err, method, path);
      }
    }
    throw await this.errorFrom(res, method, path);
  }

  private async errorFrom(res: Dispatcher.ResponseData, method: string, path: string): Promise<ApiError> {
    let text = '';
    try {
      text = await res.body.text();
    } catch {
      /* body unreadable: fall through with empty text */
    }
    try {
      const parsed = JSON.parse(text) as Status;
      if (parsed && parsed.kind === 'Status') return new ApiError({ ...parsed, code: parsed.code ?? res.statusCode });
    } catch {
      /* not JSON */
    }
    const reason = res.statusCode === 404 ? 'NotFound' : res.statusCode === 401 ? 'Unauthorized' : res.statusCode === 403 ? 'Forbidden' : 'Unknown';
    return new ApiError(statusFailure(res.statusCode, reason, `${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`.trim()));
  }

  private wrapNetworkError(err: unknown, method: string, path: string): Error {
    if (err instanceof ApiError || err instanceof ApiConnectionError) return err;
    if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
      return new ApiConnectionError(`${method} ${this.base}${path}: ${err.name === 'TimeoutError' ? 'timed out' : 'aborted'}`, { cause: err });
    }
    const code = (err as { code?: string })?.code;
    const msg = err instanceof Error ? err.message : String(err);
    return new ApiConnectionError(`${method} ${this.base}${path}: ${code ? `${code} ` : ''}${msg}`, { cause: err });
  }
}
