/**
 * iptables mode over FakeIptables: golden iptables-restore inputs and resulting tables, only
 * changed chains rewritten, a restart reconciles without rewriting, cleanup removes only
 * Skiff's chains and jump rules.
 */
import { describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { makeService, makeSlice } from '../fixtures.js';
import { createProxier, FakeIptables, FakeNft, type Proxier } from '../index.js';
import { parseSave } from './backend.js';
import { portChainNames } from './rules.js';

const GOLDEN = '../testdata/golden';

function newProxier(ipt: FakeIptables, nft = new FakeNft()): Proxier {
  return createProxier({
    logger: silentLogger(),
    clock: new FakeClock(),
    nft,
    iptables: ipt,
    config: { mode: 'iptables', clusterCIDRs: ['10.244.0.0/16'] },
    nodeName: 'node-1',
    nodeIPs: ['192.168.1.10'],
    ipFamilies: ['IPv4'],
    healthCheckServers: false,
  });
}

function feed(p: Proxier): void {
  p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }));
  p.onEndpointSliceUpsert(
    makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.244.0.2', nodeName: 'node-1' }, { ip: '10.244.1.2', nodeName: 'node-2' }] }),
  );
  const lb: Service = makeService({ name: 'lb', clusterIP: '10.96.0.11', type: 'LoadBalancer', ports: [{ port: 443, nodePort: 30443 }] });
  lb.spec!.externalTrafficPolicy = 'Local';
  lb.spec!.sessionAffinity = 'ClientIP';
  Object.assign(lb, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } });
  p.onServiceUpsert(lb);
  p.onEndpointSliceUpsert(makeSlice({ service: 'lb', ports: [{ port: 8443 }], endpoints: [{ ip: '10.244.0.3', nodeName: 'node-1' }, { ip: '10.244.1.3', nodeName: 'node-2' }] }));
  p.onServiceUpsert(makeService({ name: 'empty', clusterIP: '10.96.0.12', ports: [{ port: 53, protocol: 'UDP' }] }));
}

describe('iptables mode', () => {
  it('writes kube-proxy’s chain structure with SKIFF- chains (golden restore input and tables)', async () => {
    const ipt = new FakeIptables();
    const p = newProxier(ipt);
    feed(p);
    const r = await p.syncNow();
    expect(p.mode).toBe('iptables');
    await expect(r.transaction.text).toMatchFileSnapshot(`${GOLDEN}/iptables-restore.txt`);
    await expect(ipt.dump()).toMatchFileSnapshot(`${GOLDEN}/iptables-tables.txt`);
    // The jumps from the built-in chains are in place.
    expect(ipt.chain('IPv4', 'nat', 'PREROUTING')).toEqual(['-m comment --comment "skiff service portals" -j SKIFF-SERVICES']);
    expect(ipt.chain('IPv4', 'filter', 'INPUT')).toEqual(['-m conntrack --ctstate NEW -m comment --comment "skiff externally-visible service portals" -j SKIFF-EXTERNAL-SERVICES']);
  });

  it('rewrites only the chains an endpoint change touches', async () => {
    const ipt = new FakeIptables();
    const p = newProxier(ipt);
    feed(p);
    await p.syncNow();
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.244.0.2', nodeName: 'node-1' }, { ip: '10.244.1.9', nodeName: 'node-2' }] }));
    const r = await p.syncNow();
    const declared = r.transaction.text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
    const svc = portChainNames('default/web:http/TCP', 'TCP').svc;
    // The SVC chain, the new SEP and the old SEP (deleted); nothing shared.
    expect(declared).toHaveLength(3);
    expect(declared).toContain(svc);
    expect(r.transaction.text).toMatch(/^-X SKIFF-SEP-/m);
    expect(r.transaction.text).not.toMatch(/SKIFF-SERVICES - /);
  });

  it('a restarted agent reconciles from iptables-save and rewrites nothing that matches', async () => {
    const ipt = new FakeIptables();
    const p1 = newProxier(ipt);
    feed(p1);
    await p1.syncNow();
    const before = ipt.dump();
    const restores = ipt.restores.length;
    const p2 = newProxier(ipt);
    feed(p2);
    const r = await p2.syncNow();
    expect(r.full).toBe(true);
    expect(r.transaction.text).toBe('');
    expect(ipt.restores.length).toBe(restores);
    expect(ipt.dump()).toBe(before);
  });

  it('a failed restore leaves the chains whole and the next sync converges', async () => {
    const ipt = new FakeIptables();
    const p = newProxier(ipt);
    feed(p);
    await p.syncNow();
    const before = ipt.dump();
    ipt.failNextRestore();
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '10.244.0.7' }] }));
    await expect(p.syncNow()).rejects.toMatchObject({ code: 'SKIFF_IPTABLES_ERROR' });
    expect(ipt.dump()).toBe(before);
    const r = await p.syncNow();
    expect(r.full).toBe(true);
    expect(ipt.dump()).toMatch(/DNAT --to-destination 10\.244\.0\.7:8080/);
  });

  it('cleanup removes Skiff’s chains and jumps and nothing else; starting removes the nftables mode’s tables', async () => {
    const ipt = new FakeIptables();
    await ipt.restore('IPv4', '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n');
    const nft = new FakeNft();
    await nft.apply('add table ip skiff\nadd table ip docker\n');
    const p = newProxier(ipt, nft);
    feed(p);
    p.onSynced();
    p.start();
    await p.syncNow();
    expect(nft.tableNames()).toEqual(['ip docker']);
    await p.cleanup();
    expect(parseSave(await ipt.save('IPv4', 'nat')).chains.size).toBe(0);
    expect(parseSave(await ipt.save('IPv4', 'filter')).chains.size).toBe(0);
    expect(ipt.chain('IPv4', 'nat', 'PREROUTING')).toEqual(['-j KUBE-SERVICES']);
    expect(ipt.chain('IPv4', 'nat', 'KUBE-SERVICES')).toEqual(['-j RETURN']);
    expect(ipt.chain('IPv4', 'filter', 'FORWARD')).toEqual([]);
    await p.cleanup(); // idempotent
  });

  it('nftables mode removes what iptables mode left behind when it starts (mode switch)', async () => {
    const ipt = new FakeIptables();
    const old = newProxier(ipt);
    feed(old);
    await old.syncNow();
    expect(parseSave(await ipt.save('IPv4', 'nat')).chains.size).toBeGreaterThan(0);
    const nft = new FakeNft();
    const p = createProxier({ logger: silentLogger(), clock: new FakeClock(), nft, iptables: ipt, nodeName: 'node-1', nodeIPs: ['192.168.1.10'], ipFamilies: ['IPv4'], healthCheckServers: false });
    feed(p);
    p.onSynced();
    p.start();
    await p.syncNow();
    expect(parseSave(await ipt.save('IPv4', 'nat')).chains.size).toBe(0);
    expect(ipt.chain('IPv4', 'nat', 'PREROUTING')).toEqual([]);
    expect(nft.tableNames()).toEqual(['ip skiff']);
    await p.stop();
  });
});
