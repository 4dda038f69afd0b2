/**
 * Integration: `mode: iptables` with the real iptables-restore (the backend kind's rule picks,
 * then the other one), real traffic between network namespaces this test creates and always
 * deletes (`testing/topology.ts`), and `--cleanup` removing Skiff's chains and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice, type EndpointFixture } from './fixtures.js';
import { cleanupProxyRules, createProxier, selectIptablesBackend, SpawnIptables, SpawnNftExecutor, type IptablesKind, type Proxier } from './index.js';
import { createTopology, topologySkipReason, type Topology } from './testing/topology.js';

const skipReason = topologySkipReason();
let topo: Topology;

const on = (n: 1 | 2 | 3): EndpointFixture => ({ ip: topo.pods[n - 1].ip, nodeName: n === 3 ? 'node-2' : 'node-1' });
const names = (answers: string[]): Set<string> => new Set(answers.map((a) => a.split(/[ :]/)[0]));

function newProxier(kind: IptablesKind): Proxier {
  return createProxier({
    logger: silentLogger(),
    clock: realClock,
    nft: new SpawnNftExecutor({ command: ['ip', 'netns', 'exec', topo.node, 'nft'] }),
    iptables: new SpawnIptables({ kind, prefix: ['ip', 'netns', 'exec', topo.node] }),
    config: { mode: 'iptables', clusterCIDRs: ['10.244.0.0/24', 'fd00:244::/64'] },
    nodeName: 'node-1',
    nodeIPs: [topo.nodeIP, topo.nodeIP6],
    ipFamilies: ['IPv4', 'IPv6'],
    healthCheckServers: false,
  });
}

function feed(p: Proxier): void {
  const svc = (name: string, ip: string, ports: Parameters<typeof makeService>[0]['ports'], extra: (s: Service) => void = () => undefined): void => {
    const s = makeService({ name, clusterIP: ip, ports });
    extra(s);
    p.onServiceUpsert(s);
  };
  svc('web', '10.96.0.10', [{ name: 'http', port: 80, targetPort: 'http' }]);
  p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [on(1), on(2), on(3)] }));
  svc('dns', '10.96.0.11', [{ port: 53, protocol: 'UDP' }]);
  p.onEndpointSliceUpsert(makeSlice({ service: 'dns', ports: [{ port: 5353, protocol: 'UDP' }], endpoints: [on(1), on(2)] }));
  svc('empty', '10.96.0.12', [{ port: 80 }]);
  svc('np', '10.96.0.21', [{ port: 9001, nodePort: 30080 }], (s) => (s.spec!.type = 'NodePort'));
  p.onEndpointSliceUpsert(makeSlice({ service: 'np', ports: [{ port: 9001 }], endpoints: [on(1), on(3)] }));
  svc('local', '10.96.0.22', [{ port: 9001, nodePort: 30081 }], (s) => {
    s.spec!.type = 'NodePort';
    s.spec!.externalTrafficPolicy = 'Local';
  });
  p.onEndpointSliceUpsert(makeSlice({ service: 'local', ports: [{ port: 9001 }], endpoints: [on(1), on(3)] }));
  svc('sticky', '10.96.0.40', [{ port: 9001 }], (s) => (s.spec!.sessionAffinity = 'ClientIP'));
  p.onEndpointSliceUpsert(makeSlice({ service: 'sticky', ports: [{ port: 9001 }], endpoints: [on(1), on(2), on(3)] }));
  svc('self', '10.96.0.13', [{ port: 80, targetPort: 8080 }]);
  p.onEndpointSliceUpsert(makeSlice({ service: 'self', ports: [{ port: 8080 }], endpoints: [on(1)] }));
  svc('dual', '10.96.0.60', [{ port: 9001 }], (s) => (s.spec!.clusterIPs = ['10.96.0.60', 'fd00:96::60']));
  p.onEndpointSliceUpsert(makeSlice({ name: 'dual-v6', addressType: 'IPv6', service: 'dual', ports: [{ port: 9001 }], endpoints: [{ ip: topo.pods[1].ip6, nodeName: 'node-1' }] }));
}

async function exercise(): Promise<void> {
  expect(new Set(await topo.httpMany(topo.node, 'http://10.96.0.10/', 30))).toEqual(new Set(['pod1', 'pod2', 'pod3']));
  expect(new Set(await topo.udpMany(topo.pods[0].ns, '10.96.0.11', 53, 20))).toEqual(new Set(['pod1', 'pod2']));
  expect(await topo.httpGet(topo.node, 'http://10.96.0.12/')).toMatch(/refused|Couldn't connect/i);
  // NodePort from off-cluster, masqueraded; ETP Local keeps the client address.
  const np = await topo.tcpMany(topo.out, topo.nodeIP, 30080, 16);
  expect(names(np)).toEqual(new Set(['pod1', 'pod3']));
  expect(new Set(np.map((a) => a.split(' ')[1]))).toEqual(new Set(['10.244.0.1']));
  const local = await topo.tcpMany(topo.out, topo.nodeIP, 30081, 10);
  expect(names(local)).toEqual(new Set(['pod1']));
  expect(new Set(local.map((a) => a.split(' ')[1]))).toEqual(new Set([topo.outIP]));
  // Session affinity (-m recent) and hairpin.
  expect(names(await topo.tcpMany(topo.pods[1].ns, '10.96.0.40', 9001, 10)).size).toBe(1);
  expect(await topo.httpGet(topo.pods[0].ns, 'http://10.96.0.13/')).toBe('pod1');
  // IPv6 through ip6tables.
  expect(names(await topo.tcpMany(topo.pods[0].ns, 'fd00:96::60', 9001, 3))).toEqual(new Set(['pod2']));
}

describe.skipIf(skipReason !== undefined)(`iptables mode with real iptables-restore and traffic${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    topo = await createTopology({ ipv6: true, prefix: 'skiff-ti' });
  });
  afterAll(async () => {
    await topo?.teardown();
  });

  it('picks the backend as kind does (legacy when it has at least as many rules as nft)', async () => {
    expect(await selectIptablesBackend(['ip', 'netns', 'exec', topo.node])).toBe('legacy');
  });

  for (const kind of ['legacy', 'nft'] as const) {
    it(`serves Services through iptables-${kind}, reconciles on restart, and cleans up only its own chains`, async () => {
      const ipt = new SpawnIptables({ kind, prefix: ['ip', 'netns', 'exec', topo.node] });
      await ipt.restore('IPv4', '*nat\n:KUBE-FOREIGN - [0:0]\n-A KUBE-FOREIGN -j RETURN\nCOMMIT\n');
      const p = newProxier(kind);
      try {
        feed(p);
        p.onSynced();
        p.start();
        const first = await p.syncNow();
        expect(first.full).toBe(true);
        await exercise();
        // An endpoint change rewrites a few chains only.
        p.onEndpointSliceUpsert(makeSlice({ service: 'np', ports: [{ port: 9001 }], endpoints: [on(2)] }));
        const r = await p.syncNow();
        expect(r.transaction.text.split('\n').filter((l) => l.startsWith(':')).length).toBeLessThanOrEqual(4);
        expect(names(await topo.tcpMany(topo.out, topo.nodeIP, 30080, 5))).toEqual(new Set(['pod2']));
        // A restarted agent finds everything in place and restores nothing.
        await p.stop();
        const again = newProxier(kind);
        feed(again);
        again.onEndpointSliceUpsert(makeSlice({ service: 'np', ports: [{ port: 9001 }], endpoints: [on(2)] }));
        const r2 = await again.syncNow();
        expect(r2.full).toBe(true);
        expect(r2.transaction.text).toBe('');
      } finally {
        await p.stop();
        // `--cleanup`: both backends, both families; foreign chains stay.
        const problems = await cleanupProxyRules({ logger: silentLogger(), prefix: ['ip', 'netns', 'exec', topo.node] });
        expect(problems).toEqual([]);
      }
      const saved = await ipt.save('IPv4', 'nat');
      expect(saved).not.toMatch(/SKIFF-/);
      expect(saved).toMatch(/KUBE-FOREIGN/);
      expect(await ipt.save('IPv6', 'nat')).not.toMatch(/SKIFF-/);
      expect(await ipt.save('IPv4', 'filter')).not.toMatch(/SKIFF-/);
      await ipt.restore('IPv4', '*nat\n:KUBE-FOREIGN - [0:0]\n-X KUBE-FOREIGN\nCOMMIT\n');
      expect(await topo.httpGet(topo.node, 'http://10.96.0.10/')).toMatch(/error/);
    });
  }
});
