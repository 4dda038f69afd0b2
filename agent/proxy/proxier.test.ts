import { describe, expect, it, vi } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice } from './fixtures.js';
import { createProxier, FakeNft, PacketTracer, describeOutcome, type Proxier, type ProxierDeps, type ProxyConfig } from './index.js';
import { NftBackend } from './nft-backend.js';

const GOLDEN = './testdata/golden';

function newProxier(nft: FakeNft, clock = new FakeClock(), config: Partial<ProxyConfig> = {}, extra: Partial<ProxierDeps> = {}): Proxier {
  return createProxier({
    logger: silentLogger(),
    clock,
    nft,
    nodeName: 'node-1',
    nodeIPs: ['192.168.1.10'],
    podCidr: '10.244.0.0/24',
    config,
    ...extra,
  });
}

const dump = (nft: FakeNft): string => nft.dump({ ruleComments: false });

/** Statements of a transaction that are not element changes. */
function structuralLines(text: string): string[] {
  return text.split('\n').filter((l) => l && !/^(add|delete) element /.test(l));
}

describe('proxier golden rulesets', () => {
  it('one Service, two endpoints', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }));
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/one-service-two-endpoints.nft`);
  });

  it('two Services (the example in the report)', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http' }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }));
    p.onServiceUpsert(
      makeService({
        namespace: 'kube-system',
        name: 'kube-dns',
        clusterIP: '10.96.0.53',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }],
      }),
    );
    p.onEndpointSliceUpsert(
      makeSlice({
        namespace: 'kube-system',
        service: 'kube-dns',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }],
        endpoints: ['10.244.0.4'],
      }),
    );
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/two-services.nft`);
  });

  it('multiple ports', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(
      makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }),
    );
    p.onEndpointSliceUpsert(
      makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }], endpoints: ['10.244.0.2', '10.244.0.3'] }),
    );
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/multiple-ports.nft`);
  });

  it('named targetPort resolved per slice (pods may number the same named port differently)', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'web', port: 80, targetPort: 'http' }] }));
    p.onEndpointSliceUpsert(
      makeSlice({ name: 'web-a', service: 'web', ports: [{ name: 'web', port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }),
    );
    p.onEndpointSliceUpsert(makeSlice({ name: 'web-b', service: 'web', ports: [{ name: 'web', port: 9090 }], endpoints: ['10.244.0.4'] }));
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/named-target-port.nft`);
    const dist = new PacketTracer(nft).distribution({ src: '10.244.0.9', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'pod' });
    expect([...dist.keys()].sort()).toEqual(['dnat 10.244.0.2:8080', 'dnat 10.244.0.3:8080', 'dnat 10.244.0.4:9090']);
  });

  it('UDP', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'dns', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
    p.onEndpointSliceUpsert(
      makeSlice({ service: 'dns', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: ['10.244.0.2', '10.244.0.3'] }),
    );
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/udp.nft`);
  });

  it('a Service with no ready endpoints', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'none', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onServiceUpsert(makeService({ name: 'unready', clusterIP: '10.96.0.11', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(
      makeSlice({ service: 'unready', ports: [{ port: 8080 }], endpoints: [{ ip: '10.244.0.2', ready: false }, { ip: '10.244.0.3', ready: false, serving: true, terminating: true }] }),
    );
    await p.syncNow();
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/zero-endpoints.nft`);
  });

  it('endpoint churn touches only elements', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }));
    await p.syncNow();
    // Replace one endpoint and add one (2 → 3): still only element statements.
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.5', '10.244.0.6'] }));
    const r = await p.syncNow();
    expect(r.full).toBe(false);
    expect(r.transaction.structural).toBe(false);
    expect(structuralLines(r.transaction.text)).toEqual([]);
    expect(r.transaction.text).toMatchInlineSnapshot(`
      "delete element ip skiff service-ips { 10.96.0.10 . tcp . 80 }
      delete element ip skiff service-endpoints-tcp { 10.96.0.10 . 80 . 1 }
      delete element ip skiff hairpin { 10.244.0.3 . 10.244.0.3 }
      add element ip skiff service-ips { 10.96.0.10 . tcp . 80 : goto lb-3 }
      add element ip skiff service-endpoints-tcp { 10.96.0.10 . 80 . 1 : 10.244.0.5 . 8080, 10.96.0.10 . 80 . 2 : 10.244.0.6 . 8080 }
      add element ip skiff hairpin { 10.244.0.5 . 10.244.0.5, 10.244.0.6 . 10.244.0.6 }
      "
    `);
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/endpoint-churn.nft`);
    // A readiness flip is element churn too, and so is losing every endpoint.
    p.onEndpointSliceUpsert(
      makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', { ip: '10.244.0.5', ready: false }, '10.244.0.6'] }),
    );
    expect(structuralLines((await p.syncNow()).transaction.text)).toEqual([]);
    p.onEndpointSliceDelete(makeSlice({ service: 'web', ports: [], endpoints: [] }));
    const gone = await p.syncNow();
    expect(structuralLines(gone.transaction.text)).toEqual([]);
    expect(gone.transaction.text).toMatch(/add element ip skiff no-endpoint-services \{ 10\.96\.0\.10 \. tcp \. 80 : goto reject-packet \}/);
  });

  it('deleting a Service removes its elements', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    const web = makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const other = makeService({ name: 'other', clusterIP: '10.96.0.11', ports: [{ port: 80 }] });
    const shared = ['10.244.0.2'];
    p.onServiceUpsert(web);
    p.onServiceUpsert(other);
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: [...shared, '10.244.0.3'] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'other', ports: [{ port: 8080 }], endpoints: shared }));
    await p.syncNow();
    p.onServiceDelete(web);
    const r = await p.syncNow();
    expect(structuralLines(r.transaction.text)).toEqual([]);
    await expect(dump(nft)).toMatchFileSnapshot(`${GOLDEN}/deletion.nft`);
    // The shared endpoint's hairpin pair stays: `other` still uses it.
    expect(nft.table('ip', 'skiff')!.sets.get('hairpin')!.elements.has('10.244.0.2 . 10.244.0.2')).toBe(true);
    expect(nft.table('ip', 'skiff')!.sets.get('hairpin')!.elements.has('10.244.0.3 . 10.244.0.3')).toBe(false);
  });
});

describe('proxier behaviour', () => {
  it('creates and removes lb chains for large endpoint counts, in an order nft accepts', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    const ips = Array.from({ length: 11 }, (_, i) => `10.244.0.${i + 2}`);
    p.onServiceUpsert(makeService({ name: 'big', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'big', ports: [{ port: 8080 }], endpoints: ips }));
    await p.syncNow();
    expect(nft.table('ip', 'skiff')!.chains.has('lb-11')).toBe(true);
    p.onEndpointSliceUpsert(makeSlice({ service: 'big', ports: [{ port: 8080 }], endpoints: ips.slice(0, 10) }));
    const r = await p.syncNow();
    expect(r.transaction.structural).toBe(true);
    const lines = r.transaction.text.trim().split('\n');
    // The new chain comes before the element pointing at it; the old one goes after its element.
    expect(lines.findIndex((l) => l === 'add chain ip skiff lb-10')).toBeLessThan(lines.findIndex((l) => l.includes('goto lb-10')));
    expect(lines.at(-1)).toBe('delete chain ip skiff lb-11');
    expect(nft.table('ip', 'skiff')!.chains.has('lb-11')).toBe(false);
    const dist = new PacketTracer(nft).distribution({ src: '10.244.1.1', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'pod' });
    expect(dist.size).toBe(10);
  });

  it('a restarted proxier reconciles the existing table and writes nothing when it matches', async () => {
    const nft = new FakeNft();
    const objs: Array<Service | EndpointSlice> = [
      makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
      makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2', '10.244.0.3'] }),
    ];
    const feed = (p: Proxier) => {
      for (const o of objs) {
        if (o.kind === 'Service') p.onServiceUpsert(o as Service);
        else p.onEndpointSliceUpsert(o as EndpointSlice);
      }
    };
    const first = newProxier(nft);
    feed(first);
    await first.syncNow();
    const applies = nft.applied.length;
    const second = newProxier(nft);
    feed(second);
    const r = await second.syncNow();
    expect(r.full).toBe(true);
    expect(r.transaction.text).toBe('');
    expect(nft.applied.length).toBe(applies);
  });

  it('repairs drift on restart: foreign rules, stale elements, a re-typed set; other tables untouched', async () => {
    const nft = new FakeNft();
    await nft.apply('add table ip docker\nadd chain ip docker d { type nat hook prerouting priority -100; policy accept; }\nadd rule ip docker d counter\n');
    const p1 = newProxier(nft);
    p1.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p1.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    await p1.syncNow();
    const wanted = dump(nft);
    // Damage: a stale element, a foreign rule in our chain, a set of an older type, a leftover chain.
    await nft.apply(
      [
        'add element ip skiff cluster-ips { 10.96.9.9 }',
        'add rule ip skiff services counter',
        'flush chain ip skiff masquerading',
        'delete set ip skiff hairpin',
        'add set ip skiff hairpin { type ipv4_addr; }',
        'add chain ip skiff leftover',
        'add rule ip skiff leftover jump services',
      ].join('\n'),
    );
    const p2 = newProxier(nft);
    p2.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p2.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    const r = await p2.syncNow();
    expect(r.transaction.structural).toBe(true);
    expect(dump(nft)).toBe(wanted);
    expect(nft.table('ip', 'docker')!.chains.get('d')!.rules.map((x) => x.text)).toEqual(['counter']);
  });

  it('after a failed apply, the next sync reads the kernel back and converges', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    await p.syncNow();
    nft.failNextApply();
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    await expect(p.syncNow()).rejects.toMatchObject({ code: 'SKIFF_NFT_ERROR' });
    const lists = nft.listCalls;
    const r = await p.syncNow();
    expect(r.full).toBe(true);
    expect(nft.listCalls).toBe(lists + 1);
    const t = new PacketTracer(nft).trace({ src: '10.244.0.9', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'pod' });
    expect(describeOutcome(t)).toBe('dnat 10.244.0.2:8080');
  });

  it('the periodic resync verifies cheaply, repairs structural drift at once and element drift on the full reconcile', async () => {
    const nft = new FakeNft();
    const clock = new FakeClock();
    const p = newProxier(nft, clock, {}, { fullReconcileEvery: 5 });
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    const ac = new AbortController();
    p.onSynced();
    p.start(ac.signal);
    await clock.advance(0);
    const wanted = dump(nft);
    const fullReads = nft.listCalls;
    // Periodic resync #1: nothing changed; only the cheap structure listing runs.
    await clock.advance(30_000);
    expect(nft.listCalls).toBe(fullReads);
    expect(nft.structureListCalls).toBeGreaterThan(0);
    // Someone deletes and re-creates a set (a firewall reload would do worse): its handle
    // moved, so resync #2 reads everything back and repairs.
    await nft.apply(
      'flush chain ip skiff nat-output\nflush chain ip skiff services\nflush chain ip skiff service-reject\ndelete set ip skiff cluster-ips\nadd set ip skiff cluster-ips { type ipv4_addr; comment "cluster IPs of proxied Services"; }\n',
    );
    await clock.advance(30_000);
    expect(nft.listCalls).toBe(fullReads + 1);
    expect(dump(nft)).toBe(wanted);
    // The whole table gone (`nft flush ruleset`): repaired at the next resync too.
    await nft.apply('delete table ip skiff\n');
    await clock.advance(30_000);
    expect(dump(nft)).toBe(wanted);
    // An element deleted behind our back is invisible to the cheap check, and repaired by
    // the full reconcile of every 5th periodic resync.
    await nft.apply('delete element ip skiff service-ips { 10.96.0.10 . tcp . 80 }\n');
    await clock.advance(30_000); // #4: cheap check, nothing seen
    expect(dump(nft)).not.toBe(wanted);
    await clock.advance(30_000); // #5: every 5th resync here reads everything
    expect(dump(nft)).toBe(wanted);
    ac.abort();
    await p.stop();
  });

  it('applies the first change at once and coalesces a burst (runner wired to events)', async () => {
    const nft = new FakeNft();
    const clock = new FakeClock();
    const p = newProxier(nft, clock);
    p.start();
    await clock.advance(0);
    expect(nft.applyCalls).toBe(0); // nothing syncs before the sources have listed
    p.onSynced();
    await clock.advance(0);
    const base = nft.applyCalls;
    await clock.advance(5_000);
    p.onServiceUpsert(makeService({ name: 'a', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    await clock.advance(0);
    expect(nft.applyCalls).toBe(base + 1); // at once
    for (let i = 0; i < 20; i++) {
      p.onServiceUpsert(makeService({ name: `b${i}`, clusterIP: `10.96.1.${i}`, ports: [{ port: 80 }] }));
      await clock.advance(10);
    }
    expect(nft.applyCalls).toBe(base + 1);
    await clock.advance(1_000);
    expect(nft.applyCalls).toBe(base + 2); // one sync for the whole burst
    expect(nft.table('ip', 'skiff')!.sets.get('cluster-ips')!.elements.size).toBe(21);
    await p.stop();
  });

  it('incremental syncs end where a from-scratch sync of the same objects does', async () => {
    // A seeded random walk of Service and slice events.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const services = new Map<string, Service>();
    const slices = new Map<string, EndpointSlice>();
    const nft = new FakeNft();
    const p = newProxier(nft);
    for (let step = 0; step < 300; step++) {
      const s = rnd(12);
      const name = `s${s}`;
      const op = rnd(10);
      if (op < 3) {
        const ports = rnd(2) ? [{ name: 'a', port: 80 }, { name: 'b', port: 53, protocol: 'UDP' }] : [{ name: 'a', port: 80 }];
        const svc = makeService({ name, clusterIP: `10.96.0.${10 + s}`, ports });
        services.set(name, svc);
        p.onServiceUpsert(svc);
      } else if (op < 4) {
        const svc = services.get(name);
        if (svc) {
          services.delete(name);
          p.onServiceDelete(svc);
        }
      } else if (op < 9) {
        const n = rnd(12);
        const eps = Array.from({ length: n }, () => ({ ip: `10.244.0.${2 + rnd(20)}`, ready: rnd(5) > 0 }));
        const sl = makeSlice({ service: name, ports: [{ name: 'a', port: 8080 }, { name: 'b', port: 5353, protocol: 'UDP' }], endpoints: eps });
        slices.set(name, sl);
        p.onEndpointSliceUpsert(sl);
      } else {
        const sl = slices.get(name);
        if (sl) {
          slices.delete(name);
          p.onEndpointSliceDelete(sl);
        }
      }
      if (rnd(3) === 0) await p.syncNow();
    }
    await p.syncNow();
    const fresh = new FakeNft();
    const q = newProxier(fresh);
    for (const svc of services.values()) q.onServiceUpsert(svc);
    for (const sl of slices.values()) q.onEndpointSliceUpsert(sl);
    await q.syncNow();
    expect(dump(nft)).toBe(dump(fresh));
  });

  it('folds Services into the backend while the sources list; the first sync applies what a from-scratch sync does', async () => {
    const stage = vi.spyOn(NftBackend.prototype, 'stage');
    const nft = new FakeNft();
    const clock = new FakeClock();
    const p = newProxier(nft, clock);
    p.start();
    const page = (): Promise<void> => new Promise((r) => setImmediate(r));
    const services: Service[] = [];
    const slices: EndpointSlice[] = [];
    for (let pg = 0; pg < 4; pg++) {
      for (let i = 0; i < 10; i++) {
        const n = pg * 10 + i;
        const svc = makeService({ name: `s${n}`, clusterIP: `10.96.0.${10 + n}`, ports: [{ port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
        const sl = makeSlice({ service: `s${n}`, ports: [{ port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: [`10.244.0.${2 + n}`, `10.244.1.${2 + n}`] });
        services.push(svc);
        slices.push(sl);
        p.onServiceUpsert(svc);
        p.onEndpointSliceUpsert(sl);
      }
      await page();
      // This page's Services were staged; nothing applied yet.
      expect(stage).toHaveBeenCalledTimes(pg + 1);
      expect([...stage.mock.calls[pg][0].keys()]).toHaveLength(10);
      expect(stage.mock.results[pg].value).toBe(true);
      expect(nft.applyCalls).toBe(0);
    }
    // Changes to staged Services after staging: one loses an endpoint, one goes away.
    const changed = makeSlice({ service: 's3', ports: [{ port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: ['10.244.0.5'] });
    slices[3] = changed;
    p.onEndpointSliceUpsert(changed);
    p.onServiceDelete(services[7]);
    p.onSynced();
    await clock.advance(0);
    expect(nft.applyCalls).toBe(1);

    const fresh = new FakeNft();
    const q = newProxier(fresh);
    services.forEach((svc, i) => i !== 7 && q.onServiceUpsert(svc));
    for (const sl of slices) q.onEndpointSliceUpsert(sl);
    q.onSynced();
    await q.syncNow();
    expect(dump(nft)).toBe(dump(fresh));
    // After the first sync, nothing is staged any more.
    const calls = stage.mock.calls.length;
    p.onServiceDelete(services[8]);
    await new Promise((r) => setImmediate(r));
    expect(stage.mock.calls.length).toBe(calls);
    stage.mockRestore();
    await p.stop();
  });

  it('writes hairpin pairs only for endpoints on this node (or of unknown node)', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(
      makeSlice({
        service: 'web',
        ports: [{ port: 8080 }],
        endpoints: [{ ip: '10.244.0.2', nodeName: 'node-1' }, { ip: '10.244.1.2', nodeName: 'node-2' }, '10.244.0.3'],
      }),
    );
    await p.syncNow();
    const pairs = [...nft.table('ip', 'skiff')!.sets.get('hairpin')!.elements.keys()].sort();
    expect(pairs).toEqual(['10.244.0.2 . 10.244.0.2', '10.244.0.3 . 10.244.0.3']);
    // The remote endpoint still gets traffic.
    const dist = new PacketTracer(nft).distribution({ src: '10.244.0.2', dst: '10.96.0.10', dport: 80, protocol: 'tcp', from: 'pod' });
    expect(Object.fromEntries(dist)).toEqual({
      'dnat 10.244.0.2:8080 masquerade': 1 / 3,
      'dnat 10.244.0.3:8080': 1 / 3,
      'dnat 10.244.1.2:8080': 1 / 3,
    });
  });

  it('ignores ExternalName, headless and other proxies’ Services', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    p.onServiceUpsert(makeService({ name: 'ext', clusterIP: '', type: 'ExternalName', ports: [{ port: 80 }] }));
    p.onServiceUpsert(makeService({ name: 'headless', clusterIP: 'None', ports: [{ port: 80 }] }));
    p.onServiceUpsert(
      makeService({ name: 'theirs', clusterIP: '10.96.0.12', ports: [{ port: 80 }], labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }),
    );
    await p.syncNow();
    expect(nft.table('ip', 'skiff')!.sets.get('cluster-ips')!.elements.size).toBe(0);
  });

  it('cleanup deletes only its own table, and is idempotent', async () => {
    const nft = new FakeNft();
    await nft.apply('add table ip firewall\n');
    const p = newProxier(nft);
    await p.syncNow();
    expect(nft.tableNames()).toEqual(['ip firewall', 'ip skiff']);
    await p.cleanup();
    expect(nft.tableNames()).toEqual(['ip firewall']);
    await p.cleanup();
    expect(nft.tableNames()).toEqual(['ip firewall']);
  });

  it('writes rules with a hash comment, so a restart can compare them', async () => {
    const nft = new FakeNft();
    const p = newProxier(nft);
    await p.syncNow();
    for (const c of nft.table('ip', 'skiff')!.chains.values()) {
      for (const r of c.rules) expect(r.comment).toMatch(/^r:[0-9a-f]{8}$/);
    }
  });
});
