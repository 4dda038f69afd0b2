/**
 * Authentication of requests to the kubelet API, as kubelet's delegating authenticator
 * (`k8s.io/apiserver/pkg/authentication/authenticatorfactory`) chains it:
 *
 * ```
 *   x509 client certificate (verified against clientCAFile: user = CN, groups = O)
 *   ∪ bearer token (Authorization: Bearer …)                 ─┐ TokenReview webhook,
 *   ∪ WebSocket protocol base64url.bearer.authorization.k8s.io.… ─┘ cached for cacheTTL
 *   → first success wins, and gets group system:authenticated
 *   → nobody succeeded: an error (bad cert, webhook failure) → 401;
 *     otherwise anonymous (system:anonymous / system:unauthenticated) when enabled, else 401
 * ```
 *
 * Tokens never reach the logs; the token cache is keyed by the token's SHA-256.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TokenReview } from 'kubernetes-types/authentication/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { KubeClient } from '../../lib/kube/index.js';
import { TokenReviews } from '../../lib/kube/review-resources.js';
import { TtlCache } from './ttl-cache.js';

/** Who is making a request. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Authentication failed with an error (as opposed to "no credentials"). */
export class AuthenticationError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_AUTHN', message, options);
  }
}

/** The anonymous user. */
export const ANONYMOUS_USER: Readonly<UserInfo> = Object.freeze({ name: 'system:anonymous', groups: ['system:unauthenticated'] });

const WS_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/** Options of {@link KubeletAuthenticator}. */
export interface AuthenticatorOptions {
  anonymousEnabled: boolean;
  /** True when a client CA is configured (the TLS server then verifies client certificates). */
  x509Enabled: boolean;
  /** TokenReview webhook; omit to disable token authentication. */
  webhook?: { client: KubeClient; cacheTtlMs: number };
  clock: Clock;
  logger: Logger;
}

type Outcome = { user: UserInfo } | { error: Error } | undefined;

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Authenticates requests to the kubelet API. */
export class KubeletAuthenticator {
  private readonly tokenCache: TtlCache<UserInfo | null>;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.tokenCache = new TtlCache(opts.clock);
  }

  /**
   * The request's user. Rejects with {@link AuthenticationError} when the request must be
   * answered 401 (bad credentials, or none and anonymous is disabled). May rewrite the
   * `sec-websocket-protocol` header to drop a bearer-token entry it consumed.
   */
  async authenticate(req: IncomingMessage): Promise<UserInfo> {
    const errors: Error[] = [];
    for (const attempt of [() => this.x509(req), () => this.bearer(req), () => this.websocket(req)]) {
      const r = await attempt();
      if (!r) continue;
      if ('user' in r) return withAuthenticatedGroup(r.user);
      errors.push(r.error);
    }
    if (errors.length > 0) throw new AuthenticationError(errors.map((e) => e.message).join('; '), { cause: errors[0] });
    if (this.opts.anonymousEnabled) return { ...ANONYMOUS_USER, groups: [...ANONYMOUS_USER.groups] };
    throw new AuthenticationError('no credentials');
  }

  private x509(req: IncomingMessage): Outcome {
    if (!this.opts.x509Enabled) return undefined;
    const sock = req.socket as TLSSocket;
    if (typeof sock.getPeerCertificate !== 'function') return undefined;
    const cert = sock.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return undefined;
    if (!sock.authorized) return { error: new AuthenticationError(`verifying certificate: ${String(sock.authorizationError ?? 'unknown authority')}`) };
    const name = asList(cert.subject?.CN)[0];
    if (!name) return { error: new AuthenticationError('client certificate has no common name') };
    return { user: { name, groups: asList(cert.subject?.O) } };
  }

  private async bearer(req: IncomingMessage): Promise<Outcome> {
    if (!this.opts.webhook) return undefined;
    const h = req.headers.authorization;
    if (!h) return undefined;
    const m = /^\s*bearer\s+(.*)$/i.exec(h);
    const token = m?.[1]?.trim();
    if (!token) return undefined;
    return this.token(token);
  }

  private async websocket(req: IncomingMessage): Promise<Outcome> {
    if (!this.opts.webhook) return undefined;
    const header = req.headers['sec-websocket-protocol'];
    if (!header) return undefined;
    const protocols = String(header).split(',').map((p) => p.trim());
    const entry = protocols.find((p) => p.startsWith(WS_BEARER_PREFIX));
    if (!entry) return undefined;
    let token: string;
    try {
      token = Buffer.from(entry.slice(WS_BEARER_PREFIX.length), 'base64url').toString('utf8');
    } catch {
      return { error: new AuthenticationError('invalid bearer token in websocket protocol') };
    }
    if (!token) return { error: new AuthenticationError('invalid bearer token in websocket protocol') };
    const r = await this.token(token);
    if (r && 'user' in r) {
      // Consumed: the backend must not see the credential (apiserver does the same).
      const rest = protocols.filter((p) => p !== entry);
      if (rest.length) req.headers['sec-websocket-protocol'] = rest.join(', ');
      else delete req.headers['sec-websocket-protocol'];
    }
    return r;
  }

  private async token(token: string): Promise<Outcome> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.tokenCache.get(key);
    if (cached !== undefined) return cached ? { user: cached } : undefined;
    const webhook = this.opts.webhook!;
    let review: TokenReview;
    try {
      review = await webhook.client.create<TokenReview>(TokenReviews, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
    } catch (err) {
      // Never log or echo the token; the error comes from the transport or the apiserver.
      this.opts.logger.warn({ err: errorMessage(err) }, 'token review failed');
      return { error: new AuthenticationError(`token review failed: ${errorMessage(err)}`, { cause: err }) };
    }
    const st = review.status;
    if (!st?.authenticated || !st.user?.username) {
      this.tokenCache.set(key, null, webhook.cacheTtlMs);
      return undefined;
    }
    const user: UserInfo = { name: st.user.username, groups: [...(st.user.groups ?? [])] };
    if (st.user.uid) user.uid = st.user.uid;
    if (st.user.extra && Object.keys(st.user.extra).length) user.extra = st.user.extra;
    this.tokenCache.set(key, user, webhook.cacheTtlMs);
    return { user };
  }
}

function withAuthenticatedGroup(u: UserInfo): UserInfo {
  const groups = [...u.groups];
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  return { ...u, groups };
}
