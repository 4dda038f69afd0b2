import { describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { endpointKey, reconcileSlices, type EndpointGroup } from './reconciler.js';

const svc: Service = { metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'web' } } };
const ports = [{ name: 'http', port: 8080, protocol: 'TCP' as const }];

function ep(i: number, ready = true): Endpoint {
  return { addresses: [`10.0.0.${i}`], conditions: { ready, serving: ready, terminating: false }, targetRef: { kind: 'Pod', namespace: 'default', name: `p${i}`, uid: `u${i}` } };
}

function group(eps: Endpoint[]): EndpointGroup {
  return { addressType: 'IPv4', ports, endpoints: new Map(eps.map((e) => [endpointKey(e), e])) };
}

function slice(name: string, eps: Endpoint[], p = ports): EndpointSlice {
  return {
    metadata: {
      name,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: eps,
    ports: p,
  };
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('reconcileSlices', () => {
  it('creates slices of at most maxEndpointsPerSlice', () => {
    const r = reconcileSlices(svc, ['IPv4'], [group(range(0, 150).map((i) => ep(i)))], [], 100);
    expect(r.create.map((s) => s.endpoints.length)).toEqual([100, 50]);
    expect(r.update).toEqual([]);
    expect(r.delete).toEqual([]);
  });

  it('changes only the slice holding a changed endpoint', () => {
    const a = slice('a', range(0, 3).map((i) => ep(i)));
    const b = slice('b', range(3, 6).map((i) => ep(i)));
    const want = [...range(0, 6).map((i) => ep(i, i !== 4))];
    const r = reconcileSlices(svc, ['IPv4'], [group(want)], [a, b], 100);
    expect(r.create).toEqual([]);
    expect(r.delete).toEqual([]);
    expect(r.update.map((s) => s.metadata?.name)).toEqual(['b']);
    expect(r.update[0].endpoints.map((e) => e.conditions?.ready)).toEqual([true, false, true]);
  });

  it('puts new endpoints into a slice that changes anyway, else into one unchanged slice that fits them', () => {
    const a = slice('a', range(0, 3).map((i) => ep(i)));
    const b = slice('b', range(3, 6).map((i) => ep(i)));
    // p5 goes away (b changes) and p9 arrives: it lands in b.
    let r = reconcileSlices(svc, ['IPv4'], [group([...range(0, 5), 9].map((i) => ep(i)))], [a, b], 100);
    expect(r.update.map((s) => [s.metadata?.name, s.endpoints.map((e) => e.targetRef?.name)])).toEqual([['b', ['p3', 'p4', 'p9']]]);
    // Only arrivals: the fullest unchanged slice that can take them all.
    const full = slice('full', range(10, 19).map((i) => ep(i)));
    r = reconcileSlices(svc, ['IPv4'], [group([...range(0, 6), ...range(10, 19), 30, 31].map((i) => ep(i)))], [a, b, full], 10);
    expect(r.update.map((s) => s.metadata?.name)).toEqual(['a']);
    expect(r.create).toEqual([]);
  });

  it('keeps one placeholder when there are no endpoints, and reuses deleted slices for creates', () => {
    let r = reconcileSlices(svc, ['IPv4'], [], [], 100);
    expect(r.create.length).toBe(1);
    expect(r.create[0].endpoints).toEqual([]);
    const placeholder = { ...r.create[0], metadata: { ...r.create[0].metadata, name: 'ph' } };
    r = reconcileSlices(svc, ['IPv4'], [], [placeholder], 100);
    expect(r).toEqual({ create: [], update: [], delete: [] });
    // Ports changed for every endpoint: the old slice is rewritten instead of delete + create.
    const old = slice('old', [ep(1)], [{ name: 'http', port: 80, protocol: 'TCP' }]);
    r = reconcileSlices(svc, ['IPv4'], [group([ep(1)])], [old], 100);
    expect(r.create).toEqual([]);
    expect(r.delete).toEqual([]);
    expect(r.update.map((s) => [s.metadata?.name, s.ports])).toEqual([['old', ports]]);
  });

  it('deletes slices of another Service with the same name and of dropped address types', () => {
    const foreign = { ...slice('foreign', [ep(1)]), metadata: { ...slice('foreign', [ep(1)]).metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'old-uid' }] } };
    const v6 = { ...slice('v6', []), addressType: 'IPv6' as const };
    const r = reconcileSlices(svc, ['IPv4'], [group([ep(1)])], [foreign, v6], 100);
    expect(r.delete.map((s) => s.metadata?.name).sort()).toEqual(['foreign', 'v6']);
    expect(r.create.length).toBe(1);
  });
});
