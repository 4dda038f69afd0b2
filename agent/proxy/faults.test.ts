/**
 * Bad input and faults: malformed Services and slices are skipped with one log line and one
 * Warning Event each while the rest applies; a failing nft leaves the previous ruleset whole
 * and the runner retries with backoff.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { MemoryEventRecorder } from '../../lib/kube/event-recorder.js';
import { makeService, makeSlice } from './fixtures.js';
import { createProxier, createProxyMetrics, FakeNft, NftError, PacketTracer, describeOutcome } from './index.js';

function setup(clock = new FakeClock()) {
  const nft = new FakeNft();
  const events = new MemoryEventRecorder();
  const metrics = createProxyMetrics();
  const p = createProxier({
    logger: silentLogger(),
    clock,
    nft,
    events,
    metrics,
    nodeName: 'node-1',
    nodeIPs: ['192.168.1.10'],
    podCidr: '10.244.0.0/24',
    serviceCIDRs: ['10.96.0.0/16'],
    ipFamilies: ['IPv4'],
    healthCheckServers: false,
  });
  return { nft, events, metrics, p, clock, tracer: new PacketTracer(nft) };
}

const to = (vip: string, dport = 80) => ({ src: '10.244.0.9', dst: vip, dport, protocol: 'tcp' as const, from: 'pod' as const });

describe('bad input', () => {
  it('skips a malformed port, reports it once as a Warning Event, and applies the rest', async () => {
    const { p, events, tracer } = setup();
    const bad = makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'ok', port: 80 }, { name: 'bad', port: 70000 }, { name: 'proto', port: 81, protocol: 'ICMP' }] });
    Object.assign(bad.metadata!, { uid: 'uid-web' });
    p.onServiceUpsert(bad);
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'ok', port: 8080 }], endpoints: ['10.244.0.2'] }));
    p.onServiceUpsert(makeService({ name: 'other', clusterIP: '10.96.0.11', ports: [{ port: 80 }] }));
    await p.syncNow();
    expect(describeOutcome(tracer.trace(to('10.96.0.10')))).toBe('dnat 10.244.0.2:8080');
    expect(events.events.map((e) => [e.ref.kind, e.ref.name, e.ref.uid, e.type, e.reason])).toEqual([
      ['Service', 'web', 'uid-web', 'Warning', 'InvalidServicePort'],
      ['Service', 'web', 'uid-web', 'Warning', 'InvalidServicePort'],
    ]);
    expect(events.events[0].message).toMatch(/spec\.ports\[1\]\.port: Invalid value: 70000/);
    // The same object again (a resync, an unrelated update): not reported again.
    p.onServiceUpsert({ ...bad, metadata: { ...bad.metadata, labels: { touched: 'yes' } } });
    await p.syncNow();
    expect(events.events).toHaveLength(2);
  });

  it('skips a cluster IP outside the service CIDR (ClusterIPOutOfRange)', async () => {
    const { p, events, nft } = setup();
    p.onServiceUpsert(makeService({ name: 'stray', clusterIP: '172.31.0.5', ports: [{ port: 80 }] }));
    p.onServiceUpsert(makeService({ name: 'fine', clusterIP: '10.96.0.12', ports: [{ port: 80 }] }));
    await p.syncNow();
    expect(events.reasons()).toEqual(['ClusterIPOutOfRange']);
    expect(events.events[0].message).toBe('Cluster IP 172.31.0.5 is not within the service CIDR; please recreate service');
    const ips = [...nft.table('ip', 'skiff')!.sets.get('cluster-ips')!.elements.keys()];
    expect(ips).toEqual(['10.96.0.12']);
  });

  it('skips endpoints whose address does not match the slice address type (KubeProxyIncorrectIPVersion)', async () => {
    const { p, events, tracer } = setup();
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', 'fd00::5', 'not-an-ip'] }));
    await p.syncNow();
    expect(Object.keys(Object.fromEntries(tracer.distribution(to('10.96.0.10'))))).toEqual(['dnat 10.244.0.2:8080']);
    expect(events.reasons()).toEqual(['KubeProxyIncorrectIPVersion', 'KubeProxyIncorrectIPVersion']);
    expect(events.events.map((e) => e.ref.name)).toEqual(['web', 'web']);
    expect(events.events[0].message).toMatch(/fd00::5 in EndpointSlice default\/web-abc has incorrect IP version/);
    // Fixed, then broken again: reported again.
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', 'fd00::5'] }));
    expect(events.reasons()).toHaveLength(3);
  });
});

describe('faults', () => {
  it('a failed transaction leaves the previous ruleset whole; the runner retries with backoff until nft recovers', async () => {
    const clock = new FakeClock();
    const { p, nft, metrics, tracer } = setup(clock);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    p.onSynced();
    p.start();
    await clock.advance(0);
    const before = nft.dump();
    // nft fails three times in a row.
    for (let i = 0; i < 3; i++) nft.failNextApply(new NftError('Could not process rule: Device or resource busy', { errno: 'EBUSY' }));
    await clock.advance(5_000);
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.3'] }));
    await clock.advance(0); // first attempt, at once
    expect(nft.dump()).toBe(before);
    expect(describeOutcome(tracer.trace(to('10.96.0.10')))).toBe('dnat 10.244.0.2:8080');
    const calls = nft.applyCalls;
    await clock.advance(999);
    expect(nft.applyCalls).toBe(calls); // backoff: 1 s, then 2 s, then 4 s
    await clock.advance(1);
    expect(nft.applyCalls).toBe(calls + 1);
    await clock.advance(2_000);
    expect(nft.applyCalls).toBe(calls + 2);
    await clock.advance(4_000);
    expect(describeOutcome(tracer.trace(to('10.96.0.10')))).toBe('dnat 10.244.0.3:8080');
    expect((await metrics.registry.getSingleMetric('kubeproxy_sync_proxy_rules_nftables_sync_failures_total')!.get()).values[0].value).toBe(3);
    await p.stop();
  });

  it('does not sync before the sources have listed (a restart must not wipe the rules)', async () => {
    const clock = new FakeClock();
    const { p, nft } = setup(clock);
    await nft.apply('add table ip skiff\nadd set ip skiff cluster-ips { type ipv4_addr; }\nadd element ip skiff cluster-ips { 10.96.0.10 }\n');
    p.start();
    await clock.advance(60_000);
    expect(nft.applyCalls).toBe(1);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onSynced();
    await clock.advance(0);
    expect(nft.table('ip', 'skiff')!.sets.get('cluster-ips')!.elements.has('10.96.0.10')).toBe(true);
    await p.stop();
  });
});
