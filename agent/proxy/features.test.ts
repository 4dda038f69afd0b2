/**
 * The proxy's features over FakeNft: a golden ruleset per feature and the packet tracer for
 * where packets land (exact distributions over every numgen draw).
 */
import { describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice, type EndpointFixture } from './fixtures.js';
import { createProxier, FakeConntrack, FakeNft, PacketTracer, describeOutcome, type Proxier, type ProxyConfig, type TracePacket } from './index.js';

const GOLDEN = './testdata/golden';
const NODE_IP = '192.168.1.10';
const NODE_IP6 = 'fd00:1::10';

interface Setup {
  nft: FakeNft;
  tracer: PacketTracer;
  p: Proxier;
  conntrack: FakeConntrack;
}

function setup(opts: { config?: Partial<ProxyConfig>; v6?: boolean } = {}): Setup {
  const nft = new FakeNft();
  const conntrack = new FakeConntrack();
  const p = createProxier({
    logger: silentLogger(),
    clock: new FakeClock(),
    nft,
    conntrack,
    nodeName: 'node-1',
    nodeIPs: opts.v6 ? [NODE_IP, NODE_IP6] : [NODE_IP],
    config: { clusterCIDRs: opts.v6 ? ['10.244.0.0/16', 'fd00:244::/56'] : ['10.244.0.0/16'], ...opts.config },
    ipFamilies: opts.v6 ? ['IPv4', 'IPv6'] : ['IPv4'],
    healthCheckServers: false,
  });
  return { nft, tracer: new PacketTracer(nft), p, conntrack };
}

const dump = (nft: FakeNft): string => nft.dump({ ruleComments: false });

function svc(name: string, extra: (s: Service) => void, ports: Parameters<typeof makeService>[0]['ports'] = [{ name: 'http', port: 80 }]): Service {
  const s = makeService({ name, clusterIP: '10.96.0.10', ports });
  extra(s);
  return s;
}

const local = (ip: string): EndpointFixture => ({ ip, nodeName: 'node-1' });
const remote = (ip: string): EndpointFixture => ({ ip, nodeName: 'node-2' });

function dist(t: PacketTracer, pkt: TracePacket, localAddresses = [NODE_IP, NODE_IP6]): Record<string, number> {
  return Object.fromEntries(t.distribution(pkt, { localAddresses }));
}

const pkt = (from: TracePacket['from'], src: string, dst: string, dport: number, protocol: 'tcp' | 'udp' = 'tcp'): TracePacket => ({ from, src, dst, dport, protocol });

describe('NodePort, externalIPs and load-balancer IPs', () => {
  async function nodePortSetup(): Promise<Setup> {
    const s = setup();
    s.p.onServiceUpsert(
      svc('web', (x) => {
        x.spec!.type = 'LoadBalancer';
        x.spec!.externalIPs = ['203.0.113.5'];
        Object.assign(x, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } });
      }, [{ name: 'http', port: 80, nodePort: 30080 }]),
    );
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('10.244.0.2'), remote('10.244.1.2')] }));
    await s.p.syncNow();
    return s;
  }

  it('golden', async () => {
    const { nft } = await nodePortSetup();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/nodeport-external-lb.nft`);
  });

  it('serves the NodePort on the node IP and masquerades (ETP Cluster), but not on 127.0.0.1', async () => {
    const { tracer } = await nodePortSetup();
    expect(dist(tracer, pkt('external', '192.0.2.50', NODE_IP, 30080))).toEqual({
      'dnat 10.244.0.2:8080 masquerade': 0.5,
      'dnat 10.244.1.2:8080 masquerade': 0.5,
    });
    // Localhost never accepts NodePorts; nor does any other port of the node.
    expect(describeOutcome(tracer.trace(pkt('host', '127.0.0.1', '127.0.0.1', 30080), { localAddresses: ['127.0.0.1', NODE_IP] }))).toBe('accept');
    expect(describeOutcome(tracer.trace(pkt('external', '192.0.2.50', NODE_IP, 30081), { localAddresses: [NODE_IP] }))).toBe('accept');
  });

  it('serves externalIPs and load-balancer IPs on the Service port', async () => {
    const { tracer } = await nodePortSetup();
    for (const ip of ['203.0.113.5', '198.51.100.7']) {
      expect(Object.keys(dist(tracer, pkt('external', '192.0.2.50', ip, 80))).sort()).toEqual(['dnat 10.244.0.2:8080 masquerade', 'dnat 10.244.1.2:8080 masquerade']);
      expect(describeOutcome(tracer.trace(pkt('external', '192.0.2.50', ip, 8080)))).toBe('accept');
    }
  });

  it('picks NodePort addresses the way nodePortAddresses says', async () => {
    const nft = new FakeNft();
    const p = createProxier({
      logger: silentLogger(),
      clock: new FakeClock(),
      nft,
      nodeName: 'node-1',
      nodeIPs: [NODE_IP],
      config: { nodePortAddresses: ['172.16.0.0/12'] },
      interfaceAddresses: () => ['127.0.0.1', NODE_IP, '172.17.0.1', '172.20.5.5', 'fe80::1'],
      ipFamilies: ['IPv4'],
      healthCheckServers: false,
    });
    p.onServiceUpsert(svc('web', () => undefined, [{ name: 'http', port: 80, nodePort: 30080 }]));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.2'] }));
    await p.syncNow();
    const keys = [...nft.table('ip', 'skiff')!.sets.get('service-ips')!.elements.keys()].sort();
    expect(keys).toEqual(['10.96.0.10 . tcp . 80', '172.17.0.1 . tcp . 30080', '172.20.5.5 . tcp . 30080']);
  });

  it('rejects a NodePort without endpoints on the input hook', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('web', () => undefined, [{ name: 'http', port: 80, nodePort: 30080 }]));
    await s.p.syncNow();
    const t = s.tracer.trace(pkt('external', '192.0.2.50', NODE_IP, 30080), { localAddresses: [NODE_IP] });
    expect(describeOutcome(t)).toBe('reject tcp reset');
    expect(t.path).toContain('input:service-reject');
  });
});

describe('traffic policies', () => {
  async function etpLocal(eps: EndpointFixture[]): Promise<Setup> {
    const s = setup();
    s.p.onServiceUpsert(
      svc('web', (x) => {
        x.spec!.type = 'LoadBalancer';
        x.spec!.externalTrafficPolicy = 'Local';
        x.spec!.healthCheckNodePort = 32000;
        Object.assign(x, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } });
      }, [{ name: 'http', port: 80, nodePort: 30080 }]),
    );
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: eps }));
    await s.p.syncNow();
    return s;
  }

  it('externalTrafficPolicy Local: outside clients reach local endpoints only, unmasqueraded', async () => {
    const { nft, tracer } = await etpLocal([local('10.244.0.2'), remote('10.244.1.2'), remote('10.244.1.3')]);
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/external-traffic-policy-local.nft`);
    for (const dst of [NODE_IP, '198.51.100.7']) {
      const port = dst === NODE_IP ? 30080 : 80;
      expect(dist(tracer, pkt('external', '192.0.2.50', dst, port))).toEqual({ 'dnat 10.244.0.2:8080': 1 });
    }
    // Pods short-circuit to every endpoint, without masquerade.
    expect(Object.keys(dist(tracer, pkt('pod', '10.244.0.9', NODE_IP, 30080))).sort()).toEqual(['dnat 10.244.0.2:8080', 'dnat 10.244.1.2:8080', 'dnat 10.244.1.3:8080']);
    // The node itself too, masqueraded.
    expect(Object.keys(dist(tracer, pkt('host', NODE_IP, '198.51.100.7', 80))).sort()).toEqual([
      'dnat 10.244.0.2:8080 masquerade',
      'dnat 10.244.1.2:8080 masquerade',
      'dnat 10.244.1.3:8080 masquerade',
    ]);
  });

  it('externalTrafficPolicy Local without local endpoints: outside clients are dropped, pods still served', async () => {
    const { tracer } = await etpLocal([remote('10.244.1.2')]);
    expect(describeOutcome(tracer.trace(pkt('external', '192.0.2.50', NODE_IP, 30080), { localAddresses: [NODE_IP] }))).toBe('drop');
    expect(describeOutcome(tracer.trace(pkt('external', '192.0.2.50', '198.51.100.7', 80), { localAddresses: [NODE_IP] }))).toBe('drop');
    expect(dist(tracer, pkt('pod', '10.244.0.9', '198.51.100.7', 80))).toEqual({ 'dnat 10.244.1.2:8080': 1 });
  });

  it('internalTrafficPolicy Local: the cluster IP reaches local endpoints; none left → drop', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('web', (x) => (x.spec!.internalTrafficPolicy = 'Local')));
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('10.244.0.2'), remote('10.244.1.2')] }));
    await s.p.syncNow();
    await expect(dump(s.nft)).toMatchFileSnapshot(`${GOLDEN}/internal-traffic-policy-local.nft`);
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080': 1 });
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [remote('10.244.1.2')] }));
    await s.p.syncNow();
    expect(describeOutcome(s.tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80)))).toBe('drop');
  });
});

describe('masquerade and hairpin', () => {
  it('masquerades off-cluster sources to a cluster IP, not pods; hairpins a pod to itself', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('web', () => undefined));
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('10.244.0.2')] }));
    await s.p.syncNow();
    expect(dist(s.tracer, pkt('external', '192.168.1.77', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080 masquerade': 1 });
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080': 1 });
    expect(dist(s.tracer, pkt('pod', '10.244.0.2', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080 masquerade': 1 });
    expect(dist(s.tracer, pkt('host', NODE_IP, '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080 masquerade': 1 });
  });

  it('masqueradeAll marks every packet to a cluster IP', async () => {
    const s = setup({ config: { masqueradeAll: true } });
    s.p.onServiceUpsert(svc('web', () => undefined));
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('10.244.0.2')] }));
    await s.p.syncNow();
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080 masquerade': 1 });
  });
});

describe('session affinity', () => {
  async function sticky(timeout = 600): Promise<Setup> {
    const s = setup();
    s.p.onServiceUpsert(
      svc('web', (x) => {
        x.spec!.sessionAffinity = 'ClientIP';
        x.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: timeout } };
      }),
    );
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3', '10.244.0.4'] }));
    await s.p.syncNow();
    return s;
  }

  it('golden: one chain per distinct timeout, the timeout in the update', async () => {
    const { nft } = await sticky(600);
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/session-affinity.nft`);
    expect(nft.table('ip', 'skiff')!.chains.get('affinity-600')!.rules[0].text).toMatch(/timeout 600s/);
  });

  it('a client sticks to its first endpoint until the entry times out; other clients spread', async () => {
    const { nft, tracer } = await sticky();
    const first = tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80), { choose: (n) => n - 1 });
    expect(describeOutcome(first)).toBe('dnat 10.244.0.4:8080');
    // Whatever the draw, the same client lands on the same endpoint.
    for (let k = 0; k < 3; k++) {
      expect(describeOutcome(tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80), { choose: () => k }))).toBe('dnat 10.244.0.4:8080');
    }
    expect(describeOutcome(tracer.trace(pkt('pod', '10.244.0.8', '10.96.0.10', 80), { choose: () => 0 }))).toBe('dnat 10.244.0.2:8080');
    nft.expireDynamicElements();
    expect(describeOutcome(tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80), { choose: () => 1 }))).toBe('dnat 10.244.0.3:8080');
  });

  it('forgets clients pinned to an endpoint that went away', async () => {
    const { nft, tracer, p } = await sticky();
    tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80), { choose: () => 2 });
    expect(nft.table('ip', 'skiff')!.sets.get('affinity-tcp')!.elements.get('10.244.0.9 . 10.96.0.10 . 80')).toBe('10.244.0.4 . 8080');
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }));
    await p.syncNow();
    expect(nft.table('ip', 'skiff')!.sets.get('affinity-tcp')!.elements.size).toBe(0);
    expect(describeOutcome(tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80), { choose: () => 1 }))).toBe('dnat 10.244.0.3:8080');
  });
});

describe('endpoints without readiness', () => {
  it('serves terminating endpoints only while no ready endpoint is left', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('web', () => undefined));
    const slice = (eps: EndpointFixture[]) => makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: eps });
    s.p.onEndpointSliceUpsert(slice([{ ip: '10.244.0.2' }, { ip: '10.244.0.3', ready: false, serving: true, terminating: true }]));
    await s.p.syncNow();
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080': 1 });
    s.p.onEndpointSliceUpsert(slice([{ ip: '10.244.0.3', ready: false, serving: true, terminating: true }, { ip: '10.244.0.4', ready: false, serving: false, terminating: true }]));
    await s.p.syncNow();
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.3:8080': 1 });
    s.p.onEndpointSliceUpsert(slice([{ ip: '10.244.0.4', ready: false, serving: false, terminating: true }]));
    await s.p.syncNow();
    expect(describeOutcome(s.tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 80)))).toBe('reject tcp reset');
  });

  it('rejects a port the Service does not have on its cluster IP', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('web', () => undefined));
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.2'] }));
    await s.p.syncNow();
    expect(describeOutcome(s.tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 81)))).toBe('reject tcp reset');
    expect(describeOutcome(s.tracer.trace(pkt('pod', '10.244.0.9', '10.96.0.10', 53, 'udp')))).toBe('reject icmp port-unreachable');
  });
});

describe('IPv6', () => {
  it('programs the ip6 table in the same transaction, with the same layout', async () => {
    const s = setup({ v6: true });
    const web = svc('web', (x) => {
      x.spec!.clusterIPs = ['10.96.0.10', 'fd00:96::10'];
      x.spec!.ipFamilies = ['IPv4', 'IPv6'];
    }, [{ name: 'http', port: 80, nodePort: 30080 }]);
    s.p.onServiceUpsert(web);
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('10.244.0.2')] }));
    s.p.onEndpointSliceUpsert(
      makeSlice({ name: 'web-v6', addressType: 'IPv6', service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [local('fd00:244::2'), remote('fd00:244:0:1::2')] }),
    );
    const r = await s.p.syncNow();
    expect(s.nft.applied).toHaveLength(1);
    expect(r.transaction.text).toMatch(/add table ip skiff\n/);
    expect(r.transaction.text).toMatch(/add table ip6 skiff\n/);
    await expect(dump(s.nft)).toMatchFileSnapshot(`${GOLDEN}/dual-stack.nft`);
    expect(dist(s.tracer, pkt('pod', 'fd00:244::9', 'fd00:96::10', 80))).toEqual({ 'dnat fd00:244::2:8080': 0.5, 'dnat fd00:244:0:1::2:8080': 0.5 });
    expect(dist(s.tracer, pkt('external', 'fd00:99::1', NODE_IP6, 30080))).toEqual({ 'dnat fd00:244::2:8080 masquerade': 0.5, 'dnat fd00:244:0:1::2:8080 masquerade': 0.5 });
    expect(dist(s.tracer, pkt('pod', '10.244.0.9', '10.96.0.10', 80))).toEqual({ 'dnat 10.244.0.2:8080': 1 });
  });
});

describe('UDP conntrack cleanup', () => {
  it('deletes entries DNATed to a removed endpoint, and entries of a port that had no endpoint', async () => {
    const s = setup();
    s.p.onServiceUpsert(svc('dns', () => undefined, [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }]));
    const slice = (ips: string[]) => makeSlice({ service: 'dns', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: ips });
    await s.p.syncNow();
    expect(s.conntrack.calls).toEqual([]);
    s.p.onEndpointSliceUpsert(slice(['10.244.0.2', '10.244.0.3']));
    await s.p.syncNow();
    // It had no endpoint: cached "no DNAT" flows to the Service go.
    expect(s.conntrack.calls).toEqual([
      { family: 'IPv4', protocol: 'udp', origDst: '10.96.0.10', origPortDst: 53 },
      { family: 'IPv4', protocol: 'udp', origPortDst: 30053 },
    ]);
    s.conntrack.calls.length = 0;
    s.p.onEndpointSliceUpsert(slice(['10.244.0.3']));
    const r = await s.p.syncNow();
    expect(r.conntrackDeletes).toBe(2);
    expect(s.conntrack.calls).toEqual([
      { family: 'IPv4', protocol: 'udp', origDst: '10.96.0.10', dstNat: '10.244.0.2' },
      { family: 'IPv4', protocol: 'udp', origPortDst: 30053, dstNat: '10.244.0.2' },
    ]);
    // TCP needs nothing: a reset ends the connection.
    s.conntrack.calls.length = 0;
    s.p.onServiceUpsert(svc('web', (x) => ((x.spec!.clusterIP = '10.96.0.11'), (x.spec!.clusterIPs = ['10.96.0.11']))));
    s.p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.5'] }));
    await s.p.syncNow();
    expect(s.conntrack.calls).toEqual([]);
  });
});
