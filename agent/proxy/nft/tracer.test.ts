import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { makeService, makeSlice } from '../fixtures.js';
import { createProxier, type Proxier, type ProxyConfig } from '../index.js';
import { FakeNft } from './fake.js';
import { describeOutcome, PacketTracer, type TracePacket } from './tracer.js';

const POD_CIDR = '10.244.0.0/24';

async function setup(config: Partial<ProxyConfig> = {}): Promise<{ nft: FakeNft; tracer: PacketTracer; proxier: Proxier }> {
  const nft = new FakeNft();
  const proxier = createProxier({
    logger: silentLogger(),
    clock: new FakeClock(),
    nft,
    nodeName: 'node-1',
    nodeIPs: ['192.168.1.10'],
    podCidr: POD_CIDR,
    config,
  });
  return { nft, tracer: new PacketTracer(nft), proxier };
}

function endpoints(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.244.0.${i + 2}`);
}

const fromPod = (src: string, dst: string, dport: number, protocol: 'tcp' | 'udp' = 'tcp'): TracePacket => ({
  src,
  dst,
  dport,
  protocol,
  from: 'pod',
});

/** A small deterministic PRNG (mulberry32), so a statistical check is reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('packet tracer over the proxier ruleset', () => {
  it('spreads exactly uniformly over each Service port’s own endpoint count', async () => {
    const { tracer, proxier } = await setup();
    // Services with 1…12 endpoints side by side: every count gets exactly 1/n per endpoint.
    for (let n = 1; n <= 12; n++) {
      const name = `s${n}`;
      proxier.onServiceUpsert(makeService({ name, clusterIP: `10.96.1.${n}`, ports: [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }] }));
      proxier.onEndpointSliceUpsert(
        makeSlice({ service: name, ports: [{ port: 8080 }, { name: 'u', port: 5353, protocol: 'UDP' }], endpoints: endpoints(n) }),
      );
    }
    await proxier.syncNow();
    for (let n = 1; n <= 12; n++) {
      for (const [proto, port, target] of [['tcp', 80, 8080], ['udp', 53, 5353]] as const) {
        const dist = tracer.distribution(fromPod('10.244.0.200', `10.96.1.${n}`, port, proto));
        const expected = new Map(endpoints(n).map((ip) => [`dnat ${ip}:${target}`, 1 / n]));
        expect([...dist.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const p of dist.values()) expect(p).toBeCloseTo(1 / n, 12);
      }
    }
  });

  it('with an injected random source, the spread follows the draws', async () => {
    const { tracer, proxier } = await setup();
    proxier.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    proxier.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: endpoints(3) }));
    await proxier.syncNow();
    // Evenly spaced draws over [0, 1): exactly a third each.
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const r = tracer.trace(fromPod('10.244.0.200', '10.96.0.10', 80), { random: () => (i + 0.5) / 3000 });
      counts.set(r.dnat!.ip, (counts.get(r.dnat!.ip) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ '10.244.0.2': 1000, '10.244.0.3': 1000, '10.244.0.4': 1000 });
    // A seeded PRNG: every endpoint within 5% of its share over 30k draws.
    const rnd = mulberry32(42);
    counts.clear();
    for (let i = 0; i < 30000; i++) {
      const r = tracer.trace(fromPod('10.244.0.200', '10.96.0.10', 80), { random: rnd });
      counts.set(r.dnat!.ip, (counts.get(r.dnat!.ip) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('lands pod traffic on an endpoint without masquerade, and masquerades hairpin traffic', async () => {
    const { tracer, proxier } = await setup();
    proxier.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    proxier.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }));
    await proxier.syncNow();
    const other = tracer.distribution(fromPod('10.244.0.9', '10.96.0.10', 80));
    expect(Object.fromEntries(other)).toEqual({ 'dnat 10.244.0.2:8080': 0.5, 'dnat 10.244.0.3:8080': 0.5 });
    // 10.244.0.2 reaching its own Service: when it lands on itself, it is masqueraded.
    const self = tracer.distribution(fromPod('10.244.0.2', '10.96.0.10', 80));
    expect(Object.fromEntries(self)).toEqual({ 'dnat 10.244.0.2:8080 masquerade': 0.5, 'dnat 10.244.0.3:8080': 0.5 });
    const r = tracer.trace(fromPod('10.244.0.2', '10.96.0.10', 80), { choose: () => 0 });
    expect(r.path).toEqual([
      'prerouting:nat-prerouting',
      'prerouting:services',
      'prerouting:lb-2',
      'forward:filter-forward',
      'forward:service-reject',
      'postrouting:nat-postrouting',
      'postrouting:masquerading',
      'postrouting:mark-for-masquerade',
    ]);
  });

  it('masquerades host traffic and traffic from outside the cluster CIDR, not pod traffic', async () => {
    const { tracer, proxier } = await setup();
    proxier.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    proxier.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.3'] }));
    await proxier.syncNow();
    const host = tracer.trace({ src: '192.168.1.10', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'host' });
    expect(describeOutcome(host)).toBe('dnat 10.244.0.3:8080 masquerade');
    // The host's own pod-CIDR address (the bridge) is masqueraded too: all host traffic is.
    const bridge = tracer.trace({ src: '10.244.0.1', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'host' });
    expect(bridge.masquerade).toBe(true);
    expect(describeOutcome(tracer.trace(fromPod('172.16.0.5', '10.96.0.10', 80)))).toBe('dnat 10.244.0.3:8080 masquerade');
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.10', 80)))).toBe('dnat 10.244.0.3:8080');
  });

  it('masquerades everything to cluster IPs with masqueradeAll', async () => {
    const { tracer, proxier } = await setup({ masqueradeAll: true });
    proxier.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    proxier.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.3'] }));
    await proxier.syncNow();
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.10', 80)))).toBe('dnat 10.244.0.3:8080 masquerade');
  });

  it('rejects a Service port without endpoints and unknown ports of a cluster IP; passes other traffic', async () => {
    const { tracer, proxier } = await setup();
    proxier.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }] }));
    proxier.onServiceUpsert(makeService({ name: 'up', clusterIP: '10.96.0.11', ports: [{ port: 80 }] }));
    proxier.onEndpointSliceUpsert(makeSlice({ service: 'up', ports: [{ port: 8080 }], endpoints: ['10.244.0.3'] }));
    await proxier.syncNow();
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.10', 80)))).toBe('reject tcp reset');
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.10', 53, 'udp')))).toBe('reject icmp port-unreachable');
    expect(describeOutcome(tracer.trace({ src: '192.168.1.10', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'host' }))).toBe(
      'reject tcp reset',
    );
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.11', 81)))).toBe('reject tcp reset');
    expect(describeOutcome(tracer.trace(fromPod('10.244.0.7', '10.96.0.11', 80, 'udp')))).toBe('reject icmp port-unreachable');
    // Not a cluster IP: untouched.
    const other = tracer.trace(fromPod('10.244.0.7', '10.244.0.3', 8080));
    expect(describeOutcome(other)).toBe('accept');
    expect(other.dst).toBe('10.244.0.3');
  });

  it('keeps TCP and UDP of the same cluster IP and port apart', async () => {
    const { tracer, proxier } = await setup();
    proxier.onServiceUpsert(
      makeService({ name: 'dns', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }),
    );
    proxier.onEndpointSliceUpsert(
      makeSlice({
        service: 'dns',
        ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354 }],
        endpoints: ['10.244.0.3', '10.244.0.4'],
      }),
    );
    await proxier.syncNow();
    const udp = tracer.distribution(fromPod('10.244.0.9', '10.96.0.10', 53, 'udp'));
    expect(Object.fromEntries(udp)).toEqual({ 'dnat 10.244.0.3:5353': 0.5, 'dnat 10.244.0.4:5353': 0.5 });
    const tcp = tracer.distribution(fromPod('10.244.0.9', '10.96.0.10', 53, 'tcp'));
    expect(Object.fromEntries(tcp)).toEqual({ 'dnat 10.244.0.3:5354': 0.5, 'dnat 10.244.0.4:5354': 0.5 });
  });
});
