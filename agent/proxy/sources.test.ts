/**
 * Informers → proxier → FakeNft, against the in-process apiserver: what a user creates
 * through the API is what the packet tracer sees in the ruleset.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints as CoreEndpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { ApiError, EndpointSlices, Endpoints, Services, statusFailure } from '../../lib/kube/index.js';
import { FakeNft, PacketTracer, chooseEndpointSource, createProxier, describeOutcome, startProxySources, type ProxySources } from './index.js';

let api: Api | undefined;
let sources: ProxySources | undefined;
afterEach(async () => {
  await sources?.stop();
  await api?.close();
});

const slice = (name: string, svc: string, ips: string[], extraLabels: Record<string, string> = {}): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, ...extraLabels } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});

describe('startProxySources', () => {
  it('programs what the API holds and follows changes', async () => {
    api = await createApi();
    const nft = new FakeNft();
    const proxier = createProxier({ logger: silentLogger(), clock: realClock, nft, nodeName: 'n1', nodeIPs: ['172.30.0.2'], podCidr: '10.244.0.0/24' });
    sources = await startProxySources({ client: api.client, proxier, logger: silentLogger(), clock: realClock });
    const svc = await api.client.create<Service>(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' as unknown as number }] },
    });
    await api.client.create(EndpointSlices, slice('web-a', 'web', ['10.244.0.5', '10.244.0.6']));
    // A Service handled by another proxy must be ignored entirely.
    await api.client.create<Service>(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'other', namespace: 'default', labels: { 'service.kubernetes.io/service-proxy-name': 'someone-else' } },
      spec: { ports: [{ port: 80 }] },
    });
    await sources.synced();
    await proxier.syncNow();
    const vip = svc.spec!.clusterIP!;
    const tracer = new PacketTracer(nft);
    const pkt = { src: '10.244.0.9', dst: vip, protocol: 'tcp' as const, dport: 80, from: 'pod' as const };
    expect([...tracer.distribution(pkt).keys()].sort()).toEqual(['dnat 10.244.0.5:8080', 'dnat 10.244.0.6:8080']);

    await api.client.patch(EndpointSlices, 'default', 'web-a', 'merge', { endpoints: [{ addresses: ['10.244.0.7'], conditions: { ready: true } }] });
    for (let i = 0; i < 100; i++) {
      await proxier.syncNow();
      if (describeOutcome(tracer.trace(pkt, { choose: () => 0 })).startsWith('dnat 10.244.0.7:8080')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(describeOutcome(tracer.trace(pkt, { choose: () => 0 }))).toMatch(/^dnat 10.244.0.7:8080/);
    const other = (await api.client.get<Service>(Services, 'default', 'other')).spec!.clusterIP!;
    expect(nft.dump()).not.toContain(other);

    await api.client.delete(Services, 'default', 'web');
    for (let i = 0; i < 100 && nft.dump().includes(vip); i++) {
      await proxier.syncNow();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(nft.dump()).not.toContain(vip);
  });
});

describe('chooseEndpointSource (discovery, never guessed)', () => {
  const discovery = (docs: Record<string, unknown>) => ({
    paths: [] as string[],
    async getRaw<T>(path: string): Promise<T> {
      this.paths.push(path);
      if (!(path in docs)) throw new ApiError(statusFailure(404, 'NotFound', 'the server could not find the requested resource'));
      return docs[path] as T;
    },
  });
  const slices = { resources: [{ name: 'endpointslices', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }] };

  it('uses discovery.k8s.io/v1 when served (Kubernetes ≥ 1.21, the companion)', async () => {
    const d = discovery({ '/apis/discovery.k8s.io': { versions: [{ version: 'v1' }, { version: 'v1beta1' }] }, '/apis/discovery.k8s.io/v1': slices, '/apis/discovery.k8s.io/v1beta1': slices });
    expect(await chooseEndpointSource(d)).toBe('discovery.k8s.io/v1');
  });

  it('uses v1beta1 when that is all that is served (Kubernetes 1.20)', async () => {
    const d = discovery({ '/apis/discovery.k8s.io': { versions: [{ version: 'v1beta1' }] }, '/apis/discovery.k8s.io/v1beta1': slices });
    expect(await chooseEndpointSource(d)).toBe('discovery.k8s.io/v1beta1');
    expect(d.paths).toEqual(['/apis/discovery.k8s.io', '/apis/discovery.k8s.io/v1beta1']);
  });

  it('falls back to core/v1 Endpoints when the group is not served, or serves no endpointslices', async () => {
    expect(await chooseEndpointSource(discovery({}))).toBe('v1/Endpoints');
    expect(await chooseEndpointSource(discovery({ '/apis/discovery.k8s.io': { versions: [{ version: 'v1' }] }, '/apis/discovery.k8s.io/v1': { resources: [] } }))).toBe('v1/Endpoints');
  });

  it('fails (to be retried) rather than guess when discovery errs', async () => {
    const d = { getRaw: async () => Promise.reject(new ApiError(statusFailure(503, 'ServiceUnavailable', 'down'))) };
    await expect(chooseEndpointSource(d)).rejects.toBeInstanceOf(ApiError);
  });
});

describe('startProxySources with core/v1 Endpoints', () => {
  it('programs endpoints from Endpoints objects when told to', async () => {
    api = await createApi();
    const nft = new FakeNft();
    const proxier = createProxier({ logger: silentLogger(), clock: realClock, nft, nodeName: 'n1', nodeIPs: [], ipFamilies: ['IPv4'], healthCheckServers: false });
    sources = await startProxySources({ client: api.client, proxier, logger: silentLogger(), clock: realClock, endpointSource: 'v1/Endpoints' });
    expect(sources.endpointSource).toBe('v1/Endpoints');
    const svc = await api.client.create<Service>(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'manual', namespace: 'default' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    await api.client.create<CoreEndpoints>(Endpoints, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '10.244.0.5' }], notReadyAddresses: [{ ip: '10.244.0.6' }], ports: [{ name: 'http', port: 9376 }] }],
    });
    await sources.synced();
    const tracer = new PacketTracer(nft);
    const pkt = { src: '10.244.0.9', dst: svc.spec!.clusterIP!, protocol: 'tcp' as const, dport: 80, from: 'pod' as const };
    for (let i = 0; i < 100; i++) {
      await proxier.syncNow();
      if (describeOutcome(tracer.trace(pkt)) !== 'accept') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([...tracer.distribution(pkt).keys()]).toEqual(['dnat 10.244.0.5:9376']);
  });
});
