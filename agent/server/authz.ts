/**
 * Authorization of requests to the kubelet API (kubelet's `server/auth.go` + the delegating
 * webhook authorizer):
 *
 * - every request is an action on `nodes/<node name>`: subresource `stats` (`/stats/…`),
 *   `metrics` (`/metrics…`), `log` (`/logs/…`), `spec` (`/spec/…`), `checkpoint`
 *   (`/checkpoint/…`), anything else `proxy`; the verb comes from the method (GET/HEAD → get,
 *   POST → create, PUT → update, PATCH → patch, DELETE → delete);
 * - `AlwaysAllow`, or `Webhook`: a SubjectAccessReview, with allowed answers cached for
 *   cacheAuthorizedTTL (5 min) and denials for cacheUnauthorizedTTL (30 s).
 *
 * Deviation: kubelet maps HEAD to no verb (so HEAD is only allowed by AlwaysAllow); Skiff
 * treats it as `get`, as the apiserver does.
 */
import type { SubjectAccessReview } from 'kubernetes-types/authorization/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { KubeClient } from '../../lib/kube/index.js';
import { SubjectAccessReviews } from '../../lib/kube/review-resources.js';
import type { UserInfo } from './authn.js';
import { TtlCache } from './ttl-cache.js';

/** What a request asks to do, in RBAC terms. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  namespace: '';
  apiGroup: '';
  apiVersion: 'v1';
  resource: 'nodes';
  subresource: string;
  name: string;
  path: string;
}

/** The authorizer could not decide (the webhook failed). */
export class AuthorizationError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_AUTHZ', message, options);
  }
}

/** A decision. */
export interface Decision {
  allowed: boolean;
  reason?: string;
}

/** Decides whether a request may proceed. */
export interface Authorizer {
  /** Resolves to the decision; rejects with {@link AuthorizationError} when it cannot decide. */
  authorize(attrs: RequestAttributes): Promise<Decision>;
}

/** The API verb of an HTTP method, or '' for methods kubelet does not map. */
export function verbOf(method: string | undefined): string {
  switch ((method ?? '').toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** True when `path` is `prefix` (trailing slash ignored) or below it (kubelet's `isSubpath`). */
function isSubpath(path: string, prefix: string): boolean {
  const p = prefix.replace(/\/$/, '');
  return path === p || (path.startsWith(p) && path[p.length] === '/');
}

/** The node subresource a path is authorized as. */
export function subresourceOf(path: string): string {
  if (isSubpath(path, '/stats/')) return 'stats';
  if (isSubpath(path, '/metrics')) return 'metrics';
  if (isSubpath(path, '/logs/')) return 'log';
  if (isSubpath(path, '/spec/')) return 'spec';
  if (isSubpath(path, '/checkpoint/')) return 'checkpoint';
  return 'proxy';
}

/** kubelet's `GetRequestAttributes`. */
export function requestAttributes(user: UserInfo, method: string | undefined, path: string, nodeName: string): RequestAttributes {
  return {
    user,
    verb: verbOf(method),
    namespace: '',
    apiGroup: '',
    apiVersion: 'v1',
    resource: 'nodes',
    subresource: subresourceOf(path),
    name: nodeName,
    path,
  };
}

/** The text of kubelet's 403 (and, with `Authorization error`, 500) responses. */
export function describeAttributes(prefix: 'Forbidden' | 'Authorization error', a: RequestAttributes): string {
  return `${prefix} (user=${a.user.name}, verb=${a.verb}, resource=${a.resource}, subresource=${a.subresource})`;
}

/** Allows everything (`authorization.mode: AlwaysAllow`). */
export class AlwaysAllowAuthorizer implements Authorizer {
  async authorize(): Promise<Decision> {
    return { allowed: true };
  }
}

/** Options of {@link WebhookAuthorizer}. */
export interface WebhookAuthorizerOptions {
  client: KubeClient;
  cacheAuthorizedTtlMs: number;
  cacheUnauthorizedTtlMs: number;
  clock: Clock;
  logger: Logger;
}

/** Asks the apiserver with SubjectAccessReviews (`authorization.mode: Webhook`). */
export class WebhookAuthorizer implements Authorizer {
  private readonly cache: TtlCache<Decision>;

  constructor(private readonly opts: WebhookAuthorizerOptions) {
    this.cache = new TtlCache(opts.clock);
  }

  async authorize(a: RequestAttributes): Promise<Decision> {
    const spec: NonNullable<SubjectAccessReview['spec']> = {
      user: a.user.name,
      groups: a.user.groups,
      resourceAttributes: { namespace: a.namespace, verb: a.verb, group: a.apiGroup, version: a.apiVersion, resource: a.resource, subresource: a.subresource, name: a.name },
    };
    if (a.user.uid) spec.uid = a.user.uid;
    if (a.user.extra) spec.extra = a.user.extra;
    const key = JSON.stringify(spec);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let review: SubjectAccessReview;
    try {
      review = await this.opts.client.create<SubjectAccessReview>(SubjectAccessReviews, { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec });
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err), user: a.user.name }, 'subject access review failed');
      throw new AuthorizationError(`subject access review failed: ${errorMessage(err)}`, { cause: err });
    }
    const st = review.status;
    const decision: Decision = { allowed: !!st?.allowed && !st?.denied };
    if (st?.reason) decision.reason = st.reason;
    this.cache.set(key, decision, decision.allowed ? this.opts.cacheAuthorizedTtlMs : this.opts.cacheUnauthorizedTtlMs);
    return decision;
  }
}
