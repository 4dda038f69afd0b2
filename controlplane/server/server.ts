/**
 * The companion apiserver's HTTPS front end (node:https, HTTP/1.1): x509 client-certificate
 * authentication, discovery (legacy and aggregated), a minimal OpenAPI v3, every REST verb
 * of the registry including chunked watches, server-side Tables, the create-only review APIs
 * a kubelet delegates to (TokenReview, SubjectAccessReview: `registry/reviews.ts`), and the
 * kubelet proxies (`pods/log`, `pods/exec|attach|portforward`, `nodes/proxy`), which call the
 * node's kubelet API with the apiserver's kubelet-client certificate as kube-apiserver does.
 *
 * Deviations from kube-apiserver, on purpose:
 * - authorization: every authenticated user may do everything (kube-apiserver runs
 *   Node,RBAC); anonymous requests get 401 except for /healthz, /livez, /readyz and /version
 *   (which kube's `system:public-info-viewer` role allows anonymous users to read). The
 *   SubjectAccessReviews kubelets send are answered by a small fixed policy instead
 *   (`registry/reviews.ts`: system:masters and the kubelet client allowed, others denied);
 * - exec/attach/portforward: the upgrade is passed to the kubelet as it came (kube-apiserver
 *   1.20 does the same; 1.30+ can translate WebSocket v5 to SPDY itself). kubectl 1.32 offers
 *   WebSocket `v5.channel.k8s.io` first, which containerd 1.6 refuses with 403, and then falls
 *   back to SPDY; clients that speak WebSocket v1–v4 get through unchanged;
 * - no bearer tokens (no service-account token issuer), no protobuf, no HTTP/2;
 * - `/openapi/v2` answers 404 and `/openapi/v3` carries paths but no schemas.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { DeleteOptions, KubeObject, ListOptions, PatchType, WatchEvent, WriteOptions } from '../../lib/kube/client.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import { apiVersionOf, type ResourceType } from '../../lib/kube/resources.js';
import { realClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { errorMessage, InvalidInputError } from '../../lib/errors.js';
import { toTable } from '../api/index.js';
import { KUBELET_CLIENT_USER, reviewSelfSubjectAccess, reviewSubjectAccess, reviewToken, type Registry, type RequestContext, type SubjectAccessPolicy, type UserInfo } from '../registry/index.js';
import { badRequest, internalError, methodNotAllowed, unauthorized, unsupportedMediaType } from '../registry/errors.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { kubeletBaseUrl, LOG_PARAMS, podContainer, streamParams } from './kubelet.js';
import { negotiate, parseAccept, type Representation } from './negotiate.js';
import { openApiV3Document, openApiV3Root } from './openapi.js';
import { proxyRequest, proxyUpgrade, type UpstreamTarget } from './proxy.js';
import { decodeKubeProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.js';

/** What `/version` reports. */
export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** The version reported by default: kubectl 1.32 sees no version skew. */
export const DEFAULT_VERSION: VersionInfo = Object.freeze({
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
});

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  registry: Registry;
  logger: Logger;
  clock?: Clock;
  /** Serving certificate and key, and the CA that client certificates must chain to (PEM). */
  tls: { certPem: string; keyPem: string; clientCaPem: string };
  /** The apiserver's client certificate towards kubelets (`kube-apiserver-kubelet-client`). */
  kubeletClient?: { certPem: string; keyPem: string };
  /** CA to verify kubelet serving certificates; without it they are not verified (kube's default). */
  kubeletCaPem?: string;
  /** Default 127.0.0.1. */
  bindAddress?: string;
  /** Default 6443; 0 picks a free port. */
  port?: number;
  /** Address reported in `/api` serverAddressByClientCIDRs; default the bind address. */
  advertiseAddress?: string;
  version?: Partial<VersionInfo>;
  /** Largest request body accepted; default 3 MiB as kube-apiserver. */
  maxBodyBytes?: number;
  /** Default server-side watch timeout range when the client sends none: [min, 2·min) s; default 1800. */
  minRequestTimeoutSeconds?: number;
}

/** A running server. */
export interface ApiServer {
  /** `https://127.0.0.1:<port>` (or the bind address). */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting, ends watches and open connections. */
  close(): Promise<void>;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  sub?: string;
  /** Path after `<name>/<sub>/` (nodes/proxy). */
  rest: string[];
  watch: boolean;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** The review APIs (`<group>/<version>/<resource>`), served create-only. */
const REVIEW_PATHS = new Set(['authentication.k8s.io/v1/tokenreviews', 'authorization.k8s.io/v1/subjectaccessreviews', 'authorization.k8s.io/v1/selfsubjectaccessreviews']);

function certCommonName(pem: string): string | undefined {
  try {
    return /(?:^|\n)CN=([^\n]+)/.exec(new X509Certificate(pem).subject)?.[1];
  } catch {
    return undefined;
  }
}

const PUBLIC_PATHS = /^\/(healthz|livez|readyz)(\/.*)?$|^\/version$/;

function authenticate(req: IncomingMessage): UserInfo | undefined {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized) return undefined;
  const cert = sock.getPeerCertificate?.();
  if (!cert || !cert.subject) return undefined;
  const cn = cert.subject.CN;
  const o = cert.subject.O;
  const username = Array.isArray(cn) ? cn[0] : cn;
  if (!username) return undefined;
  const groups = o === undefined ? [] : Array.isArray(o) ? [...o] : [o];
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { username, groups };
}

function boolParam(v: string | null): boolean | undefined {
  if (v === null) return undefined;
  return v === 'true' || v === '1' || v === '';
}

function intParam(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return Number(v);
}

function quoteWarning(text: string): string {
  return `299 - "${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Starts the HTTPS server on the registry. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { registry, logger } = opts;
  const clock = opts.clock ?? realClock;
  const version: VersionInfo = { ...DEFAULT_VERSION, ...(opts.version ?? {}) };
  const maxBody = opts.maxBodyBytes ?? 3 * 1024 * 1024;
  const minTimeout = opts.minRequestTimeoutSeconds ?? 1800;
  const bind = opts.bindAddress ?? '127.0.0.1';
  const kubeletTarget = (url: URL): UpstreamTarget => ({
    url,
    cert: opts.kubeletClient?.certPem,
    key: opts.kubeletClient?.keyPem,
    ca: opts.kubeletCaPem,
  });
  let advertised = '';
  // The kubelet-client identity the SubjectAccessReview policy allows on nodes/* (its CN).
  const sarPolicy: SubjectAccessPolicy = { kubeletClientUsers: [...new Set([KUBELET_CLIENT_USER, ...(opts.kubeletClient ? [certCommonName(opts.kubeletClient.certPem)] : [])])].filter((u): u is string => !!u) };

  // ---------------------------------------------------------------------------- responses

  const sendJson = (res: ServerResponse, code: number, body: unknown, contentType = 'application/json', ctx?: RequestContext): void => {
    if (res.headersSent) {
      res.end();
      return;
    }
    const data = JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
      'Content-Type': contentType,
      'Content-Length': String(Buffer.byteLength(data)),
      'Cache-Control': 'no-cache, private',
    };
    if (ctx?.warnings?.length) headers.Warning = [...new Set(ctx.warnings)].map(quoteWarning);
    res.writeHead(code, headers);
    res.end(data);
  };

  const toApiError = (err: unknown): ApiError => {
    if (err instanceof ApiError) return err;
    if (err instanceof InvalidInputError) return badRequest(err.message, err);
    logger.error({ err: errorMessage(err), stack: err instanceof Error ? err.stack : undefined }, 'request failed');
    return internalError(errorMessage(err), err);
  };

  const sendError = (res: ServerResponse, err: unknown, ctx?: RequestContext): void => {
    const e = toApiError(err);
    sendJson(res, e.statusCode, e.status, 'application/json', ctx);
  };

  const sendText = (res: ServerResponse, code: number, text: string): void => {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), 'X-Content-Type-Options': 'nosniff' });
    res.end(text);
  };

  /** Renders an object or list in the negotiated representation. */
  const render = (type: ResourceType, rep: Representation, body: KubeObject | { metadata?: object; items?: KubeObject[]; kind?: string }, q: URLSearchParams, isList: boolean): { body: unknown; contentType: string } => {
    if (rep.kind === 'table') {
      const includeObject = (q.get('includeObject') as 'None' | 'Metadata' | 'Object' | null) ?? 'Metadata';
      const items = isList ? ((body as { items: KubeObject[] }).items ?? []).map((o) => ({ ...o, apiVersion: apiVersionOf(type), kind: type.kind })) : [body as KubeObject];
      const listMeta = isList ? ((body as { metadata?: { resourceVersion?: string; continue?: string } }).metadata ?? {}) : { resourceVersion: (body as KubeObject).metadata?.resourceVersion };
      const table = toTable(type, items, { includeObject, now: clock.now(), listMeta: { resourceVersion: listMeta.resourceVersion, continue: (listMeta as { continue?: string }).continue } });
      return { body: { ...table, apiVersion: `meta.k8s.io/${rep.version}` }, contentType: `application/json;as=Table;v=${rep.version};g=meta.k8s.io` };
    }
    if (rep.kind === 'partial') {
      const apiVersion = `meta.k8s.io/${rep.version}`;
      if (isList) {
        const l = body as { metadata?: object; items?: KubeObject[] };
        return {
          body: { kind: 'PartialObjectMetadataList', apiVersion, metadata: l.metadata ?? {}, items: (l.items ?? []).map((o) => ({ kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata })) },
          contentType: `application/json;as=PartialObjectMetadataList;v=${rep.version};g=meta.k8s.io`,
        };
      }
      return { body: { kind: 'PartialObjectMetadata', apiVersion, metadata: (body as KubeObject).metadata }, contentType: `application/json;as=PartialObjectMetadata;v=${rep.version};g=meta.k8s.io` };
    }
    return { body, contentType: 'application/json' };
  };

  // ---------------------------------------------------------------------------- requests

  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > maxBody) throw new ApiError(statusFailure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${maxBody}`));
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  };

  const decodeBody = (buf: Buffer, contentType: string | undefined, allowEmpty = false): unknown => {
    if (parseAccept(contentType)[0]?.type === PROTOBUF_CONTENT_TYPE && buf.length > 0) return decodeKubeProtobuf(buf);
    const text = buf.toString('utf8');
    if (text.trim() === '') {
      if (allowEmpty) return undefined;
      throw badRequest('the request body is empty');
    }
    const ct = parseAccept(contentType)[0]?.type ?? 'application/json';
    try {
      if (ct === 'application/yaml' || ct === 'application/apply-patch+yaml' || ct === 'text/yaml' || ct === 'application/x-yaml') return parseYaml(text) as unknown;
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw badRequest(`the request body could not be decoded: ${errorMessage(err)}`, err);
    }
  };

  const checkContentType = (contentType: string | undefined): void => {
    const ct = parseAccept(contentType)[0]?.type;
    if (!ct || ct === 'application/json' || ct === 'application/yaml' || ct === '*/*' || ct === PROTOBUF_CONTENT_TYPE) return;
    throw unsupportedMediaType(ct, ['application/json', 'application/yaml']);
  };

  const parseRoute = (segs: string[], q: URLSearchParams): Route | undefined => {
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api') {
      group = '';
      version = segs[1];
      rest = segs.slice(2);
    } else {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    }
    let watch = false;
    if (rest[0] === 'watch') {
      watch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    let resource: string;
    let tail: string[];
    if (rest[0] === 'namespaces' && rest.length >= 3 && registry.resolve(group, version, rest[2])?.namespaced) {
      namespace = rest[1];
      resource = rest[2];
      tail = rest.slice(3);
    } else {
      resource = rest[0];
      tail = rest.slice(1);
    }
    const type = registry.resolve(group, version, resource);
    if (!type) return undefined;
    if (type.namespaced && !namespace && tail.length > 0) return undefined;
    if (boolParam(q.get('watch'))) watch = true;
    return { type, namespace, name: tail[0], sub: tail[1], rest: tail.slice(2), watch };
  };

  const listOptions = (q: URLSearchParams, namespace?: string): ListOptions & { allowWatchBookmarks?: boolean; timeoutSeconds?: number; sendInitialEvents?: boolean } => ({
    namespace,
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: (q.get('resourceVersionMatch') as ListOptions['resourceVersionMatch'] | null) ?? undefined,
    limit: intParam('limit', q.get('limit')),
    continue: q.get('continue') ?? undefined,
    allowWatchBookmarks: boolParam(q.get('allowWatchBookmarks')),
    timeoutSeconds: intParam('timeoutSeconds', q.get('timeoutSeconds')),
    sendInitialEvents: boolParam(q.get('sendInitialEvents')),
  });

  const writeOptions = (q: URLSearchParams, sub?: string): Omit<WriteOptions, 'signal'> => {
    const fv = q.get('fieldValidation');
    if (fv !== null && fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", not ${JSON.stringify(fv)}`);
    }
    const dry = q.getAll('dryRun');
    if (dry.some((d) => d !== 'All')) throw badRequest(`Invalid dry run value: ${JSON.stringify(dry)}`);
    return { fieldValidation: (fv as WriteOptions['fieldValidation']) ?? undefined, dryRun: dry.length > 0, fieldManager: q.get('fieldManager') ?? undefined, subresource: sub };
  };

  const deleteOptions = (q: URLSearchParams, body: unknown): DeleteOptions => {
    const b = (body && typeof body === 'object' ? body : {}) as DeleteOptions & { orphanDependents?: boolean; dryRun?: string[] };
    const o: DeleteOptions = {};
    const grace = intParam('gracePeriodSeconds', q.get('gracePeriodSeconds')) ?? b.gracePeriodSeconds;
    if (grace !== undefined) o.gracePeriodSeconds = grace;
    const policy = q.get('propagationPolicy') ?? b.propagationPolicy;
    if (policy) {
      if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
        throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
      }
      o.propagationPolicy = policy;
    }
    const orphan = boolParam(q.get('orphanDependents')) ?? b.orphanDependents;
    if (orphan !== undefined && !o.propagationPolicy) o.propagationPolicy = orphan ? 'Orphan' : 'Background';
    if (b.preconditions) o.preconditions = b.preconditions;
    if (q.getAll('dryRun').length || b.dryRun?.length) o.dryRun = true;
    return o;
  };

  const serveWatch = async (req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams, rep: Representation): Promise<void> => {
    const ac = new AbortController();
    const opts = listOptions(q, r.namespace);
    if (opts.timeoutSeconds === undefined) opts.timeoutSeconds = Math.floor(minTimeout * (1 + Math.random()));
    const contentType = rep.kind === 'table' ? `application/json;as=Table;v=${rep.version};g=meta.k8s.io` : 'application/json';
    const start = (): void => {
      res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
    };
    let stream;
    try {
      stream = await registry.watch(r.type, { ...opts, signal: ac.signal });
    } catch (err) {
      const e = toApiError(err);
      if (e.statusCode !== 410) throw e;
      // kube-apiserver answers a too-old resourceVersion with an ERROR event in a 200 stream.
      start();
      res.end(`${JSON.stringify({ type: 'ERROR', object: e.status })}\n`);
      return;
    }
    req.on('close', () => ac.abort());
    res.on('close', () => ac.abort());
    start();
    let first = true;
    for await (const ev of stream as AsyncIterable<WatchEvent<KubeObject>>) {
      let object: unknown = ev.object;
      if (ev.type !== 'BOOKMARK' && ev.type !== 'ERROR' && rep.kind !== 'json') {
        const rendered = render(r.type, rep, ev.object, q, false).body as { columnDefinitions?: unknown[] };
        // Later Table events omit the column definitions (kubectl reuses the first ones).
        if (rep.kind === 'table' && !first) rendered.columnDefinitions = [];
        first = false;
        object = rendered;
      }
      if (!res.write(`${JSON.stringify({ type: ev.type, object })}\n`)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
      if (res.destroyed) break;
    }
    stream.close();
    res.end();
  };

  const serveKubeletProxy = async (req: IncomingMessage, res: ServerResponse, target: URL): Promise<void> => {
    await proxyRequest(req, res, kubeletTarget(target), {
      logger,
      method: req.method,
      onError: (err) => sendError(res, internalError(errorMessage(err), err)),
    });
  };

  const serveResource = async (req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams, ctx: RequestContext): Promise<void> => {
    const method = req.method ?? 'GET';
    const { type, namespace: ns, name, sub } = r;
    const rep = negotiate(req.headers.accept, { table: true });
    if (rep.kind === 'unacceptable') {
      throw new ApiError(statusFailure(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io'));
    }
    const reply = (code: number, body: KubeObject | Status | object, isList = false): void => {
      const kind = (body as { kind?: string }).kind;
      if (kind === 'Status' || kind === 'Scale') return sendJson(res, code, body, 'application/json', ctx);
      const out = render(type, rep, body as KubeObject, q, isList);
      sendJson(res, code, out.body, out.contentType, ctx);
    };

    if (name === undefined) {
      if (method === 'GET') {
        if (r.watch) return serveWatch(req, res, r, q, rep);
        return reply(200, await registry.list(type, listOptions(q, ns)), true);
      }
      if (method === 'POST') {
        if (type.namespaced && !ns) throw methodNotAllowed();
        checkContentType(req.headers['content-type']);
        const body = decodeBody(await readBody(req), req.headers['content-type']) as KubeObject;
        return reply(201, await registry.create(type, ns, body, writeOptions(q), ctx));
      }
      if (method === 'DELETE') {
        const body = decodeBody(await readBody(req), req.headers['content-type'], true);
        return reply(200, await registry.deleteCollection(type, ns, listOptions(q, ns), deleteOptions(q, body), ctx), true);
      }
      throw methodNotAllowed();
    }

    if (sub === undefined) {
      switch (method) {
        case 'GET':
          return reply(200, await registry.get(type, ns, name));
        case 'PUT': {
          checkContentType(req.headers['content-type']);
          const body = decodeBody(await readBody(req), req.headers['content-type']) as KubeObject;
          return reply(200, await registry.update(type, ns, name, body, writeOptions(q), ctx));
        }
        case 'PATCH':
          return reply(200, await servePatch(req, r, q, ctx));
        case 'DELETE': {
          const body = decodeBody(await readBody(req), req.headers['content-type'], true);
          return reply(200, await registry.delete(type, ns, name, deleteOptions(q, body), ctx));
        }
        default:
          throw methodNotAllowed();
      }
    }

    if (!(type.subresources ?? []).includes(sub)) throw notFoundPath();
    switch (sub) {
      case 'status':
      case 'scale':
      case 'finalize':
        if (method === 'GET' && sub !== 'finalize') return reply(200, await registry.getSubresource(type, ns, name, sub));
        if (method === 'PUT') {
          checkContentType(req.headers['content-type']);
          const body = decodeBody(await readBody(req), req.headers['content-type']) as KubeObject;
          return reply(200, await registry.update(type, ns, name, body, writeOptions(q, sub), ctx));
        }
        if (method === 'PATCH' && sub !== 'finalize') return reply(200, await servePatch(req, r, q, ctx));
        throw methodNotAllowed();
      case 'binding':
      case 'eviction':
        if (method !== 'POST') throw methodNotAllowed();
        {
          const body = decodeBody(await readBody(req), req.headers['content-type']);
          return reply(201, await registry.createSubresource(type, ns, name, sub, body, writeOptions(q), ctx));
        }
      case 'log': {
        if (method !== 'GET') throw methodNotAllowed();
        const pc = await podContainer(registry, ns!, name, q.get('container'));
        const base = await kubeletBaseUrl(registry, pc.node);
        const target = new URL(`/containerLogs/${encodeURIComponent(ns!)}/${encodeURIComponent(name)}/${encodeURIComponent(pc.container)}`, base);
        for (const p of LOG_PARAMS) for (const v of q.getAll(p)) target.searchParams.append(p, v);
        return serveKubeletProxy(req, res, target);
      }
      case 'proxy': {
        if (type.resource !== 'nodes') throw notFoundPath();
        const base = await kubeletBaseUrl(registry, name);
        const target = new URL(`/${r.rest.map(encodeURIComponent).join('/')}`, base);
        for (const [k, v] of q) target.searchParams.append(k, v);
        return serveKubeletProxy(req, res, target);
      }
      case 'exec':
      case 'attach':
      case 'portforward':
        throw badRequest('Upgrade request required');
      default:
        throw notFoundPath();
    }
  };

  const servePatch = async (req: IncomingMessage, r: Route, q: URLSearchParams, ctx: RequestContext): Promise<KubeObject> => {
    const ct = parseAccept(req.headers['content-type'])[0]?.type ?? '';
    const patchType = PATCH_TYPES[ct];
    if (!patchType) throw unsupportedMediaType(ct, Object.keys(PATCH_TYPES));
    const body = decodeBody(await readBody(req), req.headers['content-type']);
    return registry.patch(r.type, r.namespace, r.name!, patchType, body, writeOptions(q, r.sub), ctx);
  };

  /**
   * POST of a TokenReview, SubjectAccessReview or SelfSubjectAccessReview (create-only, never
   * stored; see `registry/reviews.ts` for what the companion answers and why).
   */
  const serveReview = async (req: IncomingMessage, res: ServerResponse, resource: string, ctx: RequestContext): Promise<void> => {
    if (req.method !== 'POST') throw methodNotAllowed();
    checkContentType(req.headers['content-type']);
    const body = decodeBody(await readBody(req), req.headers['content-type']);
    const review =
      resource === 'tokenreviews' ? reviewToken(body) : resource === 'selfsubjectaccessreviews' ? reviewSelfSubjectAccess(body, ctx.user?.username ?? '') : reviewSubjectAccess(body, sarPolicy);
    if (resource === 'subjectaccessreviews') {
      const st = (review as { status?: { allowed?: boolean; reason?: string } }).status;
      logger.debug({ by: ctx.user?.username, allowed: st?.allowed, reason: st?.reason }, 'subject access review');
    }
    sendJson(res, 201, review, 'application/json', ctx);
  };

  const notFoundPath = (): ApiError => new ApiError(statusFailure(404, 'NotFound', 'the server could not find the requested resource', { causes: [] }));

  const serveDiscoveryOrMeta = (req: IncomingMessage, res: ServerResponse, segs: string[], url: URL): boolean => {
    const p = `/${segs.join('/')}`;
    if (p === '/api' || p === '/apis') {
      const rep = negotiate(req.headers.accept, { discovery: true });
      if (rep.kind === 'discovery') {
        sendJson(res, 200, aggregatedDiscovery(p === '/api', rep.version), `application/json;g=apidiscovery.k8s.io;v=${rep.version};as=APIGroupDiscoveryList`);
      } else {
        sendJson(res, 200, p === '/api' ? apiVersions(advertised) : apiGroupList());
      }
      return true;
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroupDoc(segs[1]);
      if (!g) throw notFoundPath();
      sendJson(res, 200, g);
      return true;
    }
    if ((segs[0] === 'api' && segs.length === 2) || (segs[0] === 'apis' && segs.length === 3)) {
      const l = segs[0] === 'api' ? apiResourceList('', segs[1]) : apiResourceList(segs[1], segs[2]);
      if (!l) throw notFoundPath();
      sendJson(res, 200, l);
      return true;
    }
    if (segs[0] === 'openapi') {
      if (segs[1] === 'v3' && segs.length === 2) {
        sendJson(res, 200, openApiV3Root(version.gitVersion));
        return true;
      }
      if (segs[1] === 'v3') {
        const rest = segs.slice(2);
        const doc = rest[0] === 'api' && rest.length === 2 ? openApiV3Document('', rest[1], version.gitVersion) : rest[0] === 'apis' && rest.length === 3 ? openApiV3Document(rest[1], rest[2], version.gitVersion) : undefined;
        if (!doc) throw notFoundPath();
        sendJson(res, 200, doc);
        return true;
      }
      throw notFoundPath();
    }
    if (p === '/') {
      sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version', '/openapi/v3'] });
      return true;
    }
    void url;
    return false;
  };

  const servePublic = (res: ServerResponse, url: URL): void => {
    if (url.pathname === '/version') return sendJson(res, 200, version);
    const m = /^\/(healthz|livez|readyz)(\/.*)?$/.exec(url.pathname)!;
    if (m[2] && m[2] !== '/ping' && m[2] !== '/log' && m[2] !== '/etcd') return sendText(res, 404, `no such check: ${m[2]}\n`);
    if (url.searchParams.has('verbose')) return sendText(res, 200, `[+]ping ok\n[+]log ok\n[+]etcd ok\n${m[1]} check passed\n`);
    sendText(res, 200, 'ok');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = clock.now();
    const user = authenticate(req);
    const ctx: RequestContext = { user, warnings: [] };
    const url = new URL(req.url ?? '/', 'https://apiserver');
    res.on('close', () => {
      const fields = { method: req.method, path: url.pathname, query: url.search || undefined, user: user?.username ?? 'system:anonymous', status: res.statusCode, durationMs: clock.now() - started };
      if (res.statusCode >= 500) logger.warn(fields, 'request');
      else if (req.method === 'GET') logger.debug(fields, 'request');
      else logger.info(fields, 'request');
    });
    try {
      if (PUBLIC_PATHS.test(url.pathname)) return servePublic(res, url);
      if (!user) throw unauthorized();
      let segs: string[];
      try {
        segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw badRequest('malformed path');
      }
      if (serveDiscoveryOrMeta(req, res, segs, url)) return;
      if (segs[0] === 'apis' && segs.length === 4 && REVIEW_PATHS.has(segs.slice(1).join('/'))) return await serveReview(req, res, segs[3], ctx);
      if ((segs[0] === 'api' && segs.length >= 3) || (segs[0] === 'apis' && segs.length >= 4)) {
        const r = parseRoute(segs, url.searchParams);
        if (!r) throw notFoundPath();
        return await serveResource(req, res, r, url.searchParams, ctx);
      }
      throw notFoundPath();
    } catch (err) {
      sendError(res, err, ctx);
    }
  };

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const fail = (e: ApiError): void => {
      const body = JSON.stringify(e.status);
      socket.end(`HTTP/1.1 ${e.statusCode} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      const user = authenticate(req);
      if (!user) return fail(unauthorized());
      const url = new URL(req.url ?? '/', 'https://apiserver');
      const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const r = segs[0] === 'api' ? parseRoute(segs, url.searchParams) : undefined;
      if (!r || !r.name || !r.sub) return fail(notFoundPath());
      logger.info({ method: req.method, path: url.pathname, user: user.username, upgrade: req.headers.upgrade }, 'upgrade request');
      let target: URL;
      if (r.type.resource === 'pods' && (r.sub === 'exec' || r.sub === 'attach')) {
        const pc = await podContainer(registry, r.namespace!, r.name, url.searchParams.get('container'));
        const base = await kubeletBaseUrl(registry, pc.node);
        target = new URL(`/${r.sub}/${encodeURIComponent(r.namespace!)}/${encodeURIComponent(r.name)}/${encodeURIComponent(pc.container)}`, base);
        target.search = streamParams(url.searchParams).toString();
      } else if (r.type.resource === 'pods' && r.sub === 'portforward') {
        const pod = (await registry.get(r.type, r.namespace, r.name)) as { spec?: { nodeName?: string } };
        if (!pod.spec?.nodeName) throw badRequest(`pod ${r.name} does not have a host assigned`);
        const base = await kubeletBaseUrl(registry, pod.spec.nodeName);
        target = new URL(`/portForward/${encodeURIComponent(r.namespace!)}/${encodeURIComponent(r.name)}`, base);
        for (const p of url.searchParams.getAll('ports')) target.searchParams.append('port', p);
      } else if (r.type.resource === 'nodes' && r.sub === 'proxy') {
        const base = await kubeletBaseUrl(registry, r.name);
        target = new URL(`/${r.rest.map(encodeURIComponent).join('/')}${url.search}`, base);
      } else {
        return fail(notFoundPath());
      }
      proxyUpgrade(req, socket, head, kubeletTarget(target), logger);
    } catch (err) {
      fail(toApiError(err));
    }
  };

  const server = createServer({
    cert: opts.tls.certPem,
    key: opts.tls.keyPem,
    ca: opts.tls.clientCaPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handleUpgrade(req, socket, head));
  server.on('tlsClientError', (err) => logger.debug({ err: errorMessage(err) }, 'TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 6443, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  const hostForUrl = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
  advertised = `${opts.advertiseAddress ?? hostForUrl}:${port}`;
  const url = `https://${hostForUrl.includes(':') ? `[${hostForUrl}]` : hostForUrl}:${port}`;
  logger.info({ url, bind }, 'apiserver listening');
  return {
    url,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
