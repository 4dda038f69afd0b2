/**
 * The companion control plane's answers to the two review APIs a kubelet delegates to
 * (`authentication.k8s.io/v1` TokenReview and `authorization.k8s.io/v1`
 * SubjectAccessReview), and to SelfSubjectAccessReview. All are create-only and never stored:
 * a POST returns the review with `status` filled in.
 *
 * TokenReview: the companion authenticates clients by x509 certificate only and issues no
 * bearer tokens (no service-account token signer, no bootstrap tokens), so every token is
 * answered `authenticated: false` with an `error` that says so.
 *
 * SelfSubjectAccessReview (`kubectl auth can-i`): always allowed, which is what the companion's
 * own API does for every authenticated user.
 *
 * SubjectAccessReview: a small, fixed policy instead of RBAC —
 *
 * | subject                                                  | allowed                              |
 * |----------------------------------------------------------|--------------------------------------|
 * | any user in group `system:masters`                       | everything (as kube's superuser group) |
 * | the apiserver's kubelet client (`kube-apiserver-kubelet-client`) | every subresource of `nodes` (`proxy`, `log`, `stats`, `metrics`, `spec`, …), as kubeadm's `system:kubelet-api-admin` binding |
 * | anyone else                                              | nothing: `allowed: false` with a reason naming the request |
 *
 * Deviation: the companion's own REST API lets every authenticated user do everything; this
 * policy only decides what a kubelet asks about (who may call the kubelet API directly). Users
 * reach pods' logs, exec and port-forward through the apiserver, which calls the kubelet as
 * `kube-apiserver-kubelet-client`.
 */
import type { TokenReview } from 'kubernetes-types/authentication/v1.js';
import type { ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec, SubjectAccessReview, SubjectAccessReviewSpec } from 'kubernetes-types/authorization/v1.js';
import { SelfSubjectAccessReviews, SubjectAccessReviews } from '../../lib/kube/review-resources.js';
import type { FieldError } from '../api/index.js';
import { badRequest, invalid } from './errors.js';

/** The CN of the apiserver's client certificate towards kubelets (kubeadm's name). */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';

/** The group kube treats as superusers. */
export const MASTERS_GROUP = 'system:masters';

/** What a TokenReview answers, since the companion issues no tokens. */
export const NO_TOKENS_ERROR = 'the Skiff companion control plane issues no bearer tokens (it authenticates x509 client certificates only)';

/**
 * Answers a SelfSubjectAccessReview (`kubectl auth can-i`) for the requesting user: allowed,
 * because the companion's own API lets every authenticated user do everything (see the
 * server's deviations). Throws 422 when neither kind of attributes is given.
 */
export function reviewSelfSubjectAccess(body: unknown, user: string): SelfSubjectAccessReview {
  const o = asObject(body, 'SelfSubjectAccessReview') as Partial<SelfSubjectAccessReview>;
  const spec = (o.spec ?? {}) as SelfSubjectAccessReviewSpec;
  if (!!spec.resourceAttributes === !!spec.nonResourceAttributes) {
    throw invalid(SelfSubjectAccessReviews, '', [{ field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified', type: 'FieldValueRequired' }]);
  }
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: o.metadata ?? {},
    spec,
    status: { allowed: true, reason: `the companion control plane allows every authenticated user (here "${user}") everything` },
  };
}

/** Options of {@link reviewSubjectAccess}. */
export interface SubjectAccessPolicy {
  /** Users allowed every `nodes` subresource; default `[kube-apiserver-kubelet-client]`. */
  kubeletClientUsers?: readonly string[];
}

function asObject(body: unknown, kind: string): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the request body must be a ${kind} object`);
  const o = body as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== kind) throw badRequest(`the request body is a ${String(o.kind)}, not a ${kind}`);
  return o;
}

/** Answers a TokenReview (the body of a POST): never authenticated. */
export function reviewToken(body: unknown): TokenReview {
  const o = asObject(body, 'TokenReview') as Partial<TokenReview>;
  const spec = o.spec ?? {};
  const status: NonNullable<TokenReview['status']> = { authenticated: false, user: {}, error: NO_TOKENS_ERROR };
  if (spec.audiences?.length) status.audiences = [...spec.audiences];
  return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: o.metadata ?? {}, spec, status };
}

function describe(spec: SubjectAccessReviewSpec): string {
  const ra = spec.resourceAttributes;
  if (ra) {
    const res = `${ra.resource ?? ''}${ra.subresource ? `/${ra.subresource}` : ''}${ra.group ? `.${ra.group}` : ''}`;
    return `${ra.verb ?? ''} ${res}${ra.name ? ` "${ra.name}"` : ''}${ra.namespace ? ` in namespace "${ra.namespace}"` : ''}`;
  }
  const nr = spec.nonResourceAttributes;
  return `${nr?.verb ?? ''} ${nr?.path ?? ''}`;
}

function isNodeSubresource(ra: ResourceAttributes | undefined): boolean {
  return !!ra && (ra.group ?? '') === '' && ra.resource === 'nodes' && !!ra.subresource;
}

/**
 * Answers a SubjectAccessReview (the body of a POST) with the policy in the module comment.
 * Throws a 422 Invalid `ApiError` for a spec kube would reject (no user and no group, or not
 * exactly one of resourceAttributes and nonResourceAttributes).
 */
export function reviewSubjectAccess(body: unknown, policy: SubjectAccessPolicy = {}): SubjectAccessReview {
  const o = asObject(body, 'SubjectAccessReview') as Partial<SubjectAccessReview>;
  const spec = (o.spec ?? {}) as SubjectAccessReviewSpec;
  const user = spec.user ?? '';
  const groups = spec.groups ?? [];
  const errs: FieldError[] = [];
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) errs.push({ field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified', type: 'FieldValueRequired' });
  if (spec.resourceAttributes && spec.nonResourceAttributes) errs.push({ field: 'spec.nonResourceAttributes', message: 'Invalid value: "": cannot be specified in combination with resourceAttributes', type: 'FieldValueInvalid' });
  if (!user && groups.length === 0) errs.push({ field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified', type: 'FieldValueInvalid' });
  if (errs.length) throw invalid(SubjectAccessReviews, '', errs);

  const kubeletClients = policy.kubeletClientUsers ?? [KUBELET_CLIENT_USER];
  let status: NonNullable<SubjectAccessReview['status']>;
  if (groups.includes(MASTERS_GROUP)) {
    status = { allowed: true, reason: `the companion control plane allows group "${MASTERS_GROUP}" everything` };
  } else if (kubeletClients.includes(user) && isNodeSubresource(spec.resourceAttributes)) {
    status = { allowed: true, reason: `the companion control plane allows the apiserver's kubelet client "${user}" every nodes subresource` };
  } else {
    status = { allowed: false, reason: `no companion control plane policy allows user "${user}" (groups ${JSON.stringify(groups)}) to ${describe(spec)}` };
  }
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: o.metadata ?? {}, spec, status };
}
