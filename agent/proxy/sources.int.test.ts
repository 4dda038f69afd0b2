/**
 * Integration: the proxy's sources against real apiservers over HTTPS, choosing the endpoint
 * API through discovery: the companion control plane (serves discovery.k8s.io/v1) and the
 * real kube-apiserver 1.20.2 from the harness (serves only discovery.k8s.io/v1beta1). The
 * rules go to a FakeNft, checked with the packet tracer; Warning Events go to the real API.
 * Both apiservers listen on 127.0.0.1 only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event, Service } from 'kubernetes-types/core/v1.js';
import { parseControlPlaneConfig, startControlPlane, type RunningControlPlane } from '../../controlplane/main.js';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import {
  ApiEventRecorder,
  EndpointSlices,
  EndpointSlicesV1beta1,
  Events,
  loadKubeconfig,
  RestClient,
  Services,
  type KubeObject,
} from '../../lib/kube/index.js';
import { realControlPlaneSkipReason, referenceBinDir, startRealControlPlane, type RealControlPlane } from '../../test/support/realcluster.js';
import type { EndpointSliceV1beta1 } from './adapters.js';
import { chooseEndpointSource, createProxier, describeOutcome, FakeNft, PacketTracer, startProxySources, type Proxier, type ProxySources } from './index.js';

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Harness {
  client: RestClient;
  nft: FakeNft;
  proxier: Proxier;
  sources?: ProxySources;
  events: ApiEventRecorder;
}

function harness(client: RestClient): Harness {
  const nft = new FakeNft();
  const events = new ApiEventRecorder({ client, component: 'kube-proxy', host: 'node-1', clock: realClock, logger: silentLogger() });
  const proxier = createProxier({
    logger: silentLogger(),
    clock: realClock,
    nft,
    events,
    nodeName: 'node-1',
    nodeIPs: ['192.168.1.10'],
    podCidr: '10.244.0.0/24',
    serviceCIDRs: ['10.96.0.0/24'],
    ipFamilies: ['IPv4'],
    healthCheckServers: false,
  });
  return { client, nft, proxier, events };
}

/** Stops the sources and the proxier, flushes Events and closes the client (what was started). */
async function closeHarness(h: Harness | undefined): Promise<void> {
  await h?.sources?.stop();
  await h?.proxier.stop();
  await h?.events.flush();
  await h?.client.close();
}

const selectorless = (name: string, clusterIP?: string): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ name: 'http', port: 80, targetPort: 'http' as unknown as number }] },
});

/** Waits until the proxier's rules send the Service's cluster IP where `want` says. */
async function expectDnat(h: Harness, vip: string, want: string[]): Promise<void> {
  const tracer = new PacketTracer(h.nft);
  const pkt = { src: '10.244.0.9', dst: vip, protocol: 'tcp' as const, dport: 80, from: 'pod' as const };
  await eventually(`rules for ${vip} → ${want.join(',')}`, async () => {
    await h.proxier.syncNow();
    const got = [...tracer.distribution(pkt).keys()].sort();
    return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
  });
}

async function eventsAbout(client: RestClient, name: string): Promise<Event[]> {
  const list = await client.list<Event & KubeObject>(Events, { namespace: 'default' });
  return list.items.filter((e) => e.involvedObject?.name === name);
}

describe('proxy sources against the companion apiserver (discovery.k8s.io/v1)', () => {
  let cp: RunningControlPlane;
  let dir: string;
  let h: Harness;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-src-'));
    cp = await startControlPlane(parseControlPlaneConfig([`--state-dir=${dir}`, '--bind-address=127.0.0.1', '--secure-port=0', '--advertise-address=127.0.0.1']), {
      logger: silentLogger(),
      components: [],
    });
    h = harness(new RestClient({ credentials: loadKubeconfig(cp.adminKubeconfig) }));
  });
  afterAll(async () => {
    await closeHarness(h);
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('discovery says v1; v1 slices program the rules and changes follow', async () => {
    expect(await chooseEndpointSource(h.client)).toBe('discovery.k8s.io/v1');
    const svc = await h.client.create<Service>(Services, selectorless('web', '10.96.0.50'));
    await h.client.create(EndpointSlices, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true }, nodeName: 'node-1' }],
    });
    h.sources = await startProxySources({ client: h.client, discovery: h.client, proxier: h.proxier, logger: silentLogger(), clock: realClock });
    expect(h.sources.endpointSource).toBe('discovery.k8s.io/v1');
    await h.sources.synced();
    await expectDnat(h, svc.spec!.clusterIP!, ['dnat 10.244.0.5:8080']);
    await h.client.patch(EndpointSlices, 'default', 'web-1', 'merge', { endpoints: [{ addresses: ['10.244.0.6'], conditions: { ready: true } }] });
    await expectDnat(h, svc.spec!.clusterIP!, ['dnat 10.244.0.6:8080']);
  });

  it('a cluster IP outside the service CIDR is skipped with a Warning Event on the Service', async () => {
    await h.client.create<Service>(Services, selectorless('stray', '10.96.7.7'));
    const ev = await eventually('the ClusterIPOutOfRange event', async () => {
      await h.events.flush();
      return (await eventsAbout(h.client, 'stray')).find((e) => e.reason === 'ClusterIPOutOfRange');
    });
    expect(ev.type).toBe('Warning');
    expect(ev.source?.component).toBe('kube-proxy');
    expect(ev.involvedObject.kind).toBe('Service');
    await h.proxier.syncNow();
    expect(h.nft.dump()).not.toContain('10.96.7.7');
  });
});

const binDir = referenceBinDir();
const realReason = process.getuid?.() !== 0 ? 'needs root' : realControlPlaneSkipReason(binDir);

describe.skipIf(realReason !== undefined)(`proxy sources against the real kube-apiserver 1.20 (discovery.k8s.io/v1beta1)${realReason ? ` (skipped: ${realReason})` : ''}`, () => {
  let cp: RealControlPlane;
  let dir: string;
  let h: Harness;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-real-'));
    cp = await startRealControlPlane({ binDir, stateDir: dir, bindAddress: '127.0.0.1', advertiseAddress: '10.255.0.1', logger: silentLogger() });
    const creds = loadKubeconfig(cp.adminKubeconfig);
    h = harness(new RestClient({ credentials: { ...creds, server: `https://127.0.0.1:${cp.securePort}` } }));
  }, 300_000);
  afterAll(async () => {
    await closeHarness(h);
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('discovery says v1beta1 (1.20 serves no v1); v1beta1 slices with topology program the rules', async () => {
    expect(await chooseEndpointSource(h.client)).toBe('discovery.k8s.io/v1beta1');
    const svc = await h.client.create<Service>(Services, selectorless('web', '10.96.0.60'));
    const slice: EndpointSliceV1beta1 & KubeObject = {
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.5'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'node-1' } },
        { addresses: ['10.244.1.5'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'node-2' } },
        { addresses: ['10.244.1.6'], conditions: { ready: false }, topology: { 'kubernetes.io/hostname': 'node-2' } },
      ],
    };
    await h.client.create(EndpointSlicesV1beta1, slice);
    h.sources = await startProxySources({ client: h.client, discovery: h.client, proxier: h.proxier, logger: silentLogger(), clock: realClock });
    expect(h.sources.endpointSource).toBe('discovery.k8s.io/v1beta1');
    await h.sources.synced();
    await expectDnat(h, svc.spec!.clusterIP!, ['dnat 10.244.0.5:8080', 'dnat 10.244.1.5:8080']);
    // Only the endpoint whose topology says this node hairpins here (besides the apiserver's
    // own `kubernetes` endpoint, which has no node).
    const pairs = [...h.nft.table('ip', 'skiff')!.sets.get('hairpin')!.elements.keys()].filter((k) => k.startsWith('10.244.'));
    expect(pairs).toEqual(['10.244.0.5 . 10.244.0.5']);
    await h.client.patch(EndpointSlicesV1beta1, 'default', 'web-1', 'merge', { endpoints: [{ addresses: ['10.244.1.6'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'node-2' } }] });
    await expectDnat(h, svc.spec!.clusterIP!, ['dnat 10.244.1.6:8080']);
  });

  it('records Warning Events on the Service through the real apiserver', async () => {
    await h.client.create<Service>(Services, selectorless('stray', '10.96.9.9'));
    const ev = await eventually('the ClusterIPOutOfRange event', async () => {
      await h.events.flush();
      return (await eventsAbout(h.client, 'stray')).find((e) => e.reason === 'ClusterIPOutOfRange');
    });
    expect(ev.type).toBe('Warning');
    expect(ev.message).toBe('Cluster IP 10.96.9.9 is not within the service CIDR; please recreate service');
  });
});
