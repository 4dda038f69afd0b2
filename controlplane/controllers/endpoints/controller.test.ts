import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints as EndpointsObj, Pod, Service } from 'kubernetes-types/core/v1.js';
import { Endpoints, Pods, Services } from '../../../lib/kube/resources.js';
import { setPodRunning, settle, startHarness, waitFor, type Harness } from '../testing/harness.js';
import { repackSubsets } from './subsets.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pod = (name: string, app: string, ports: { name: string; containerPort: number }[] = [{ name: 'http', containerPort: 8080 }]): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app } },
  spec: { containers: [{ name: 'c', image: 'nginx', ports }] },
});

async function running(h: Harness, p: Pod, ready: boolean, ip: string): Promise<void> {
  await h.client.create(Pods, p);
  await setPodRunning(h.client, h.clock, p, ready, ip);
}

async function endpoints(h: Harness, name: string): Promise<EndpointsObj | undefined> {
  return (await h.client.list<EndpointsObj>(Endpoints, { namespace: 'default' })).items.find((e) => e.metadata?.name === name);
}

describe('Endpoints controller', () => {
  it('lists ready and not-ready addresses per port set', async () => {
    h = await startHarness({ controllers: ['endpoint'] });
    await h.client.create<Service>(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9100, targetPort: 9100 }] },
    });
    const empty = await waitFor('created empty', () => endpoints(h!, 'web'));
    expect(empty.subsets ?? []).toEqual([]);
    await running(h, pod('a', 'web'), true, '10.244.0.5');
    await running(h, pod('b', 'web'), false, '10.244.0.6');
    await running(h, pod('c', 'web', []), true, '10.244.0.7');
    const ep = await waitFor('3 pods', async () => {
      const e = await endpoints(h!, 'web');
      const n = (e?.subsets ?? []).reduce((k, s) => k + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
      return n === 5 ? e : undefined;
    });
    expect(ep.metadata?.labels).toEqual({ tier: 'front' });
    expect(ep.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toBeDefined();
    // Ports are grouped by the set of addresses serving them; c has no "http" port.
    const http = ep.subsets!.find((s) => s.ports?.[0].name === 'http')!;
    expect(http.addresses?.map((a) => a.ip)).toEqual(['10.244.0.5']);
    expect(http.notReadyAddresses?.map((a) => a.ip)).toEqual(['10.244.0.6']);
    expect(http.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(http.addresses?.[0].targetRef).toMatchObject({ kind: 'Pod', name: 'a', namespace: 'default' });
    const metrics = ep.subsets!.find((s) => s.ports?.[0].name === 'metrics')!;
    expect(metrics.addresses?.map((a) => a.ip)).toEqual(['10.244.0.5', '10.244.0.7']);
    expect(metrics.notReadyAddresses?.map((a) => a.ip)).toEqual(['10.244.0.6']);
    expect(metrics.ports).toEqual([{ name: 'metrics', port: 9100, protocol: 'TCP' }]);
    // b becomes ready: moves to addresses.
    await setPodRunning(h.client, h.clock, await h.client.get<Pod>(Pods, 'default', 'b'), true, '10.244.0.6');
    await waitFor('b ready', async () => {
      const e = await endpoints(h!, 'web');
      return e?.subsets?.length === 2 && e.subsets.every((s) => !s.notReadyAddresses);
    });
  });

  it('leaves selector-less Services alone and recreates deleted Endpoints', async () => {
    h = await startHarness({ controllers: ['endpoint'] });
    const before = await endpoints(h, 'kubernetes');
    await h.client.create<Service>(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    await h.client.create<Service>(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await waitFor('web endpoints', () => endpoints(h!, 'web'));
    await settle(30);
    expect(await endpoints(h, 'manual')).toBeUndefined();
    expect((await endpoints(h, 'kubernetes'))?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    await h.client.delete(Endpoints, 'default', 'web');
    await waitFor('recreated', () => endpoints(h!, 'web'));
  });

  it('repacks subsets deterministically', () => {
    const addr = (ip: string) => ({ ip, targetRef: { kind: 'Pod', uid: ip } });
    const p80 = { name: 'a', port: 80, protocol: 'TCP' };
    const p81 = { name: 'b', port: 81, protocol: 'TCP' };
    const s = repackSubsets([
      { address: addr('10.0.0.2'), ready: true, port: p80 },
      { address: addr('10.0.0.1'), ready: false, port: p80 },
      { address: addr('10.0.0.2'), ready: true, port: p81 },
      { address: addr('10.0.0.1'), ready: false, port: p81 },
    ]);
    expect(s).toEqual([{ addresses: [addr('10.0.0.2')], notReadyAddresses: [addr('10.0.0.1')], ports: [p80, p81] }]);
  });
});
