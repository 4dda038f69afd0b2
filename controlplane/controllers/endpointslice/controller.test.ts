import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints as EndpointsObj, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointSlices, Endpoints, Pods, Services } from '../../../lib/kube/resources.js';
import { setPodRunning, settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const svc = (name: string, spec: Partial<NonNullable<Service['spec']>> = {}, labels?: Record<string, string>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...spec },
});

const pod = (name: string, app: string, containerPort = 8080, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app } },
  spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort, protocol: 'TCP' }] }], ...extra },
});

async function slicesOf(h: Harness, service: string): Promise<EndpointSlice[]> {
  return (await h.client.list<EndpointSlice>(EndpointSlices, { namespace: 'default', labelSelector: `kubernetes.io/service-name=${service}` })).items;
}

async function createRunning(h: Harness, p: Pod, ready: boolean, ip: string, node?: string): Promise<Pod> {
  await h.client.create(Pods, p);
  if (node) {
    await h.client.createSubresource(Pods, 'default', p.metadata!.name!, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata!.name }, target: { kind: 'Node', name: node } });
  }
  return setPodRunning(h.client, h.clock, p, ready, ip);
}

function endpointsByPod(slices: EndpointSlice[]): Record<string, NonNullable<EndpointSlice['endpoints']>[number]> {
  const out: Record<string, NonNullable<EndpointSlice['endpoints']>[number]> = {};
  for (const s of slices) for (const e of s.endpoints ?? []) out[e.targetRef?.name ?? ''] = e;
  return out;
}

describe('EndpointSlice controller', () => {
  it('publishes ready, not-ready and terminating endpoints with resolved named ports', async () => {
    h = await startHarness({ controllers: ['endpointslice'] });
    const s = await h.client.create<Service>(Services, svc('web', {}, { tier: 'front' }));
    await createRunning(h, pod('a', 'web'), true, '10.244.0.5', 'n1');
    await createRunning(h, pod('b', 'web'), false, '10.244.0.6', 'n1');
    await h.client.create(Pods, pod('nope', 'web')); // no IP yet: not an endpoint
    const slices = await waitFor('slice with 2 endpoints', async () => {
      const x = await slicesOf(h!, 'web');
      return x.length === 1 && x[0].endpoints?.length === 2 ? x : undefined;
    });
    const [slice] = slices;
    expect(slice.metadata?.name).toMatch(/^web-/);
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice.metadata?.labels).toEqual({
      tier: 'front',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(slice.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: s.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
    expect(slice.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toBeDefined();
    const eps = endpointsByPod(slices);
    expect(eps.a).toMatchObject({ addresses: ['10.244.0.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'a', namespace: 'default' } });
    expect(eps.b.conditions).toEqual({ ready: false, serving: false, terminating: false });

    // b becomes Ready: same slice, updated in place.
    await setPodRunning(h.client, h.clock, await h.client.get<Pod>(Pods, 'default', 'b'), true, '10.244.0.6');
    await waitFor('b ready', async () => endpointsByPod(await slicesOf(h!, 'web')).b?.conditions?.ready === true);
    expect((await slicesOf(h, 'web'))[0].metadata?.name).toBe(slice.metadata?.name);

    // a terminates (graceful deletion on its node): serving but not ready.
    await h.client.delete(Pods, 'default', 'a');
    await waitFor('a terminating', async () => endpointsByPod(await slicesOf(h!, 'web')).a?.conditions?.terminating === true);
    expect(endpointsByPod(await slicesOf(h, 'web')).a.conditions).toEqual({ ready: false, serving: true, terminating: true });
    await h.client.delete(Pods, 'default', 'a', { gracePeriodSeconds: 0 });
    await waitFor('a gone', async () => !endpointsByPod(await slicesOf(h!, 'web')).a);
  });

  it('puts pods whose named port resolves differently into different slices', async () => {
    h = await startHarness({ controllers: ['endpointslice'] });
    await h.client.create(Services, svc('web'));
    await createRunning(h, pod('a', 'web', 8080), true, '10.244.0.5');
    await createRunning(h, pod('b', 'web', 9090), true, '10.244.0.6');
    await createRunning(h, { ...pod('c', 'web'), spec: { containers: [{ name: 'c', image: 'x' }] } }, true, '10.244.0.7');
    const slices = await waitFor('3 slices', async () => {
      const x = await slicesOf(h!, 'web');
      return x.length === 3 ? x : undefined;
    });
    const byPod = Object.fromEntries(slices.map((s) => [s.endpoints?.[0]?.targetRef?.name, s.ports]));
    expect(byPod.a).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(byPod.b).toEqual([{ name: 'http', port: 9090, protocol: 'TCP' }]);
    // A pod without the named port still is an endpoint, with no ports (as kube).
    expect(byPod.c).toEqual([]);
  });

  it('follows selector changes and pod IP changes with minimal churn', async () => {
    h = await startHarness({ controllers: ['endpointslice'] });
    await h.client.create(Services, svc('web'));
    await createRunning(h, pod('a', 'web'), true, '10.244.0.5');
    await createRunning(h, pod('x', 'other'), true, '10.244.0.9');
    const [first] = await waitFor('a', async () => {
      const x = await slicesOf(h!, 'web');
      return x.length === 1 && x[0].endpoints?.length === 1 ? x : undefined;
    });
    // New IP for a: same slice, new address.
    await setPodRunning(h.client, h.clock, await h.client.get<Pod>(Pods, 'default', 'a'), true, '10.244.0.55');
    await waitFor('new ip', async () => endpointsByPod(await slicesOf(h!, 'web')).a?.addresses?.[0] === '10.244.0.55');
    const after = await slicesOf(h, 'web');
    expect(after.map((s) => s.metadata?.name)).toEqual([first.metadata?.name]);
    // Selector now picks app=other.
    await h.client.patch(Services, 'default', 'web', 'merge', { spec: { selector: { app: 'other' } } });
    await waitFor('x only', async () => {
      const eps = endpointsByPod(await slicesOf(h!, 'web'));
      return eps.x && !eps.a;
    });
  });

  it('keeps an empty placeholder slice and uses publishNotReadyAddresses and hostnames', async () => {
    h = await startHarness({ controllers: ['endpointslice'] });
    await h.client.create(Services, svc('web', { clusterIP: 'None', publishNotReadyAddresses: true }));
    const [ph] = await waitFor('placeholder', async () => {
      const x = await slicesOf(h!, 'web');
      return x.length === 1 ? x : undefined;
    });
    expect(ph.endpoints ?? []).toEqual([]);
    expect(ph.metadata?.labels?.['service.kubernetes.io/headless']).toBe('');
    await createRunning(h, pod('a', 'web', 8080, { hostname: 'a', subdomain: 'web' }), false, '10.244.0.5');
    const eps = await waitFor('a', async () => endpointsByPod(await slicesOf(h!, 'web')).a);
    expect(eps.hostname).toBe('a');
    expect(eps.conditions).toEqual({ ready: true, serving: false, terminating: false });
    // The placeholder was reused, not replaced.
    expect((await slicesOf(h, 'web')).map((s) => s.metadata?.name)).toEqual([ph.metadata?.name]);
  });

  it('splits more than 100 endpoints over slices', async () => {
    h = await startHarness({ controllers: ['endpointslice'] });
    await h.client.create(Services, svc('web'));
    for (let i = 0; i < 130; i++) await createRunning(h, pod(`p${i}`, 'web'), true, `10.244.${Math.floor(i / 200)}.${(i % 200) + 1}`);
    const slices = await waitFor('130 endpoints', async () => {
      const x = await slicesOf(h!, 'web');
      return x.reduce((n, s) => n + (s.endpoints?.length ?? 0), 0) === 130 ? x : undefined;
    });
    expect(slices.length).toBe(2);
    expect(Math.max(...slices.map((s) => s.endpoints?.length ?? 0))).toBeLessThanOrEqual(100);
  });

  it('leaves Services without selector alone and lets the GC remove slices of deleted Services', async () => {
    h = await startHarness({ controllers: ['endpointslice', 'endpoint', 'garbagecollector'] });
    await h.client.create(Services, { ...svc('manual'), spec: { ports: [{ port: 80 }] } });
    await h.client.create(Services, svc('web'));
    await createRunning(h, pod('a', 'web'), true, '10.244.0.5');
    await waitFor('web slice', async () => endpointsByPod(await slicesOf(h!, 'web')).a);
    await settle(30);
    expect(await slicesOf(h, 'manual')).toEqual([]);
    // The kubernetes Service's objects belong to the apiserver.
    const k = await slicesOf(h, 'kubernetes');
    expect(k.map((s) => s.metadata?.name)).toEqual(['kubernetes']);
    await h.client.delete(Services, 'default', 'web');
    await waitFor('slices gone', async () => (await slicesOf(h!, 'web')).length === 0);
    await waitFor('endpoints gone', async () => !(await h!.client.list<EndpointsObj>(Endpoints, { namespace: 'default' })).items.some((e) => e.metadata?.name === 'web'));
  });
});
