import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lib/kube/errors.js';
import { KUBELET_CLIENT_USER, NO_TOKENS_ERROR, reviewSubjectAccess, reviewToken } from './reviews.js';

const sar = (user: string, groups: string[], ra?: object, nra?: object): object => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SubjectAccessReview',
  spec: { user, groups, ...(ra ? { resourceAttributes: ra } : {}), ...(nra ? { nonResourceAttributes: nra } : {}) },
});
const nodeProxy = { verb: 'get', group: '', version: 'v1', resource: 'nodes', subresource: 'proxy', name: 'n1' };

describe('reviewToken', () => {
  it('never authenticates, says why, and echoes the audiences', () => {
    const r = reviewToken({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'abc', audiences: ['https://kubernetes.default.svc'] } });
    expect(r.status).toEqual({ authenticated: false, user: {}, error: NO_TOKENS_ERROR, audiences: ['https://kubernetes.default.svc'] });
    expect(r.kind).toBe('TokenReview');
  });

  it('rejects a body of another kind', () => {
    expect(() => reviewToken({ kind: 'Pod' })).toThrow(/not a TokenReview/);
    expect(() => reviewToken('nope')).toThrow(/must be a TokenReview/);
  });
});

describe('reviewSubjectAccess', () => {
  it('allows system:masters everything', () => {
    expect(reviewSubjectAccess(sar('admin', ['system:masters', 'system:authenticated'], { verb: 'delete', resource: 'pods', namespace: 'x' })).status?.allowed).toBe(true);
    expect(reviewSubjectAccess(sar('admin', ['system:masters'], undefined, { verb: 'get', path: '/metrics' })).status?.allowed).toBe(true);
  });

  it("allows the apiserver's kubelet client every nodes subresource and nothing else", () => {
    for (const sub of ['proxy', 'log', 'stats', 'metrics', 'spec']) {
      expect(reviewSubjectAccess(sar(KUBELET_CLIENT_USER, [], { ...nodeProxy, subresource: sub })).status?.allowed).toBe(true);
    }
    expect(reviewSubjectAccess(sar(KUBELET_CLIENT_USER, [], { verb: 'get', resource: 'nodes', name: 'n1' })).status?.allowed).toBe(false);
    expect(reviewSubjectAccess(sar(KUBELET_CLIENT_USER, [], { verb: 'get', resource: 'secrets', namespace: 'x' })).status?.allowed).toBe(false);
    expect(reviewSubjectAccess(sar('custom-client', [], nodeProxy), { kubeletClientUsers: ['custom-client'] }).status?.allowed).toBe(true);
  });

  it('denies anyone else with a reason naming the request', () => {
    const r = reviewSubjectAccess(sar('alice', ['devs', 'system:authenticated'], { ...nodeProxy, verb: 'create' }));
    expect(r.status?.allowed).toBe(false);
    expect(r.status?.reason).toBe('no companion control plane policy allows user "alice" (groups ["devs","system:authenticated"]) to create nodes/proxy "n1"');
    expect(reviewSubjectAccess(sar('system:node:n1', ['system:nodes'], { ...nodeProxy, subresource: 'stats' })).status?.allowed).toBe(false);
  });

  it('answers 422 Invalid for specs kube rejects', () => {
    const invalid = (body: object): string => {
      try {
        reviewSubjectAccess(body);
      } catch (err) {
        if (err instanceof ApiError) return `${err.statusCode} ${err.message}`;
        throw err;
      }
      return 'accepted';
    };
    expect(invalid(sar('', [], nodeProxy))).toMatch(/^422 .*at least one of user or group must be specified/);
    expect(invalid(sar('alice', []))).toMatch(/^422 .*exactly one of nonResourceAttributes or resourceAttributes/);
    expect(invalid(sar('alice', [], nodeProxy, { verb: 'get', path: '/' }))).toMatch(/^422 .*cannot be specified in combination/);
  });
});
