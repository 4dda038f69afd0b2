/**
 * Integration: the proxier (nftables mode) against real nft, real conntrack and real traffic
 * between network namespaces this test creates and always deletes (see
 * `testing/topology.ts`). Pods 1 and 2 are on this node (`node-1`), pod 3 is labelled as on
 * another node; `out` is an off-cluster client. The HTTP client is curl: busybox-static's
 * `wget` segfaults on this machine.
 */
import { spawn } from 'node:child_process';
import { writeFileSync, chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice, type EndpointFixture } from './fixtures.js';
import { createProxier, SpawnConntrack, SpawnNftExecutor, type Proxier } from './index.js';
import { createTopology, topologySkipReason, type Topology } from './testing/topology.js';
import { freePort } from '../../test/support/free-ports.js';

const skipReason = topologySkipReason();

let topo: Topology;
let nft: SpawnNftExecutor;
let hcPort = 0;


function newProxier(table?: string, executor: SpawnNftExecutor = nft): Proxier {
  return createProxier({
    logger: silentLogger(),
    clock: realClock,
    nft: executor,
    conntrack: new SpawnConntrack({ command: ['ip', 'netns', 'exec', topo.node, 'conntrack'] }),
    nodeName: 'node-1',
    nodeIPs: [topo.nodeIP, topo.nodeIP6],
    config: { clusterCIDRs: ['10.244.0.0/24', 'fd00:244::/64'], minSyncPeriodMs: 0 },
    ipFamilies: ['IPv4', 'IPv6'],
    healthCheckBindAddresses: () => ['127.0.0.1'],
    ...(table ? { table } : {}),
  });
}

const on = (ns: 1 | 2 | 3): EndpointFixture => ({ ip: topo.pods[ns - 1].ip, nodeName: ns === 3 ? 'node-2' : 'node-1' });
const on6 = (ns: 1 | 2 | 3): EndpointFixture => ({ ip: topo.pods[ns - 1].ip6, nodeName: ns === 3 ? 'node-2' : 'node-1' });

function service(name: string, clusterIP: string, ports: Parameters<typeof makeService>[0]['ports'], extra: (s: Service) => void = () => undefined): Service {
  const s = makeService({ name, clusterIP, ports });
  extra(s);
  return s;
}

const SERVICES = (): Service[] => [
  service('web', '10.96.0.10', [{ name: 'http', port: 80, targetPort: 'http' }]),
  service('dns', '10.96.0.11', [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }]),
  service('empty', '10.96.0.12', [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }]),
  service('self', '10.96.0.13', [{ port: 80, targetPort: 8080 }]),
  service('echo', '10.96.0.20', [{ port: 9000 }]),
  service('np', '10.96.0.21', [{ port: 9001, nodePort: 30080 }], (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.externalIPs = ['203.0.113.5'];
    Object.assign(s, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } });
  }),
  service('local', '10.96.0.22', [{ port: 9001, nodePort: 30081 }], (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.externalTrafficPolicy = 'Local';
    s.spec!.healthCheckNodePort = hcPort;
    Object.assign(s, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.8' }] } } });
  }),
  service('itp', '10.96.0.30', [{ port: 9001 }], (s) => (s.spec!.internalTrafficPolicy = 'Local')),
  service('sticky', '10.96.0.40', [{ port: 9001 }], (s) => {
    s.spec!.sessionAffinity = 'ClientIP';
    s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 4 } };
  }),
  service('term', '10.96.0.50', [{ port: 9001 }]),
  service('dual', '10.96.0.60', [{ port: 9001, nodePort: 30060 }], (s) => {
    s.spec!.type = 'NodePort';
    s.spec!.clusterIPs = ['10.96.0.60', 'fd00:96::60'];
    s.spec!.ipFamilies = ['IPv4', 'IPv6'];
  }),
  service('stale', '10.96.0.70', [{ port: 53, protocol: 'UDP', targetPort: 5353 }]),
];

const webSlice = (eps: EndpointFixture[]) => makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: eps });

/** The current slices (what the API would hold); tests change them through {@link setSlice}. */
const slices = new Map<string, EndpointSlice>();

function initialSlices(): void {
  const all = [on(1), on(2), on(3)];
  for (const sl of [
    webSlice(all),
    makeSlice({ service: 'dns', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: all }),
    makeSlice({ service: 'self', ports: [{ port: 8080 }], endpoints: [on(1)] }),
    makeSlice({ service: 'echo', ports: [{ port: 9000 }], endpoints: all }),
    makeSlice({ service: 'np', ports: [{ port: 9001 }], endpoints: [on(1), on(3)] }),
    makeSlice({ service: 'local', ports: [{ port: 9001 }], endpoints: all }),
    makeSlice({ service: 'itp', ports: [{ port: 9001 }], endpoints: [on(1), on(3)] }),
    makeSlice({ service: 'sticky', ports: [{ port: 9001 }], endpoints: all }),
    makeSlice({ service: 'term', ports: [{ port: 9001 }], endpoints: [on(1), { ...on(2), ready: false, serving: true, terminating: true }] }),
    makeSlice({ service: 'dual', ports: [{ port: 9001 }], endpoints: [on(1)] }),
    makeSlice({ name: 'dual-v6', addressType: 'IPv6', service: 'dual', ports: [{ port: 9001 }], endpoints: [on6(1), on6(2)] }),
    makeSlice({ service: 'stale', ports: [{ port: 5353, protocol: 'UDP' }], endpoints: [on(1)] }),
  ]) {
    slices.set(sl.metadata!.name!, sl);
  }
}

function setSlice(p: Proxier, sl: EndpointSlice): void {
  slices.set(sl.metadata!.name!, sl);
  p.onEndpointSliceUpsert(sl);
}

/** Feeds the current Services and slices; `echoEps` overrides the echo Service's endpoints. */
function feed(p: Proxier, echoEps?: EndpointFixture[]): void {
  for (const s of SERVICES()) p.onServiceUpsert(s);
  for (const sl of slices.values()) p.onEndpointSliceUpsert(sl);
  if (echoEps) p.onEndpointSliceUpsert(makeSlice({ service: 'echo', ports: [{ port: 9000 }], endpoints: echoEps }));
}

const names = (answers: string[]): Set<string> => new Set(answers.map((a) => a.split(/[ :]/)[0]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipReason !== undefined)(`proxy with real nft and traffic in netns${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let proxier: Proxier;
  const ac = new AbortController();

  beforeAll(async () => {
    topo = await createTopology({ ipv6: true });
    try {
      nft = new SpawnNftExecutor({ command: ['ip', 'netns', 'exec', topo.node, 'nft'] });
      hcPort = await freePort();
      initialSlices();
      proxier = newProxier();
      feed(proxier);
      proxier.onSynced();
      proxier.start(ac.signal);
      await proxier.syncNow();
    } catch (err) {
      await topo.teardown();
      throw err;
    }
  });

  afterAll(async () => {
    ac.abort();
    await proxier?.stop().catch(() => undefined);
    await topo?.teardown();
  });

  it('br_netfilter is on in the node namespace', async () => {
    expect((await topo.inNs(topo.node, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables')).trim()).toBe('1');
  });

  it('ClusterIP over TCP reaches every endpoint, named targetPort resolved through the slice port', async () => {
    const answers = await topo.httpMany(topo.node, 'http://10.96.0.10/', 30);
    expect(new Set(answers)).toEqual(new Set(['pod1', 'pod2', 'pod3']));
  });

  it('reaches the cluster IP from a pod, other pods and itself (hairpin)', async () => {
    const answers = await topo.httpMany(topo.pods[1].ns, 'http://10.96.0.10/', 30);
    expect(new Set(answers)).toEqual(new Set(['pod1', 'pod2', 'pod3']));
    expect(await topo.httpGet(topo.pods[0].ns, 'http://10.96.0.13/')).toBe('pod1');
  });

  it('serves UDP through the cluster IP', async () => {
    expect(new Set(await topo.udpMany(topo.node, '10.96.0.11', 53, 30))).toEqual(new Set(['pod1', 'pod2', 'pod3']));
    // (Pod 3 is labelled as on another node: it must not be its own client, as a real remote
    // pod would never be; a remote endpoint does not hairpin here.)
    const fromPod = await topo.udpMany(topo.pods[0].ns, '10.96.0.11', 53, 20);
    expect(fromPod.every((a) => /^pod\d$/.test(a))).toBe(true);
  });

  it('SCTP is skipped: this kernel has no SCTP', () => {
    expect(existsSync('/proc/sys/net/sctp')).toBe(false);
  });

  it('rejects a Service without endpoints (TCP reset, ICMP for UDP) instead of dropping', async () => {
    const started = Date.now();
    const res = await topo.httpGet(topo.node, 'http://10.96.0.12/');
    expect(res).toMatch(/refused|Couldn't connect/i); // curl 7.88 words ECONNREFUSED this way
    expect(Date.now() - started).toBeLessThan(1500); // refused at once, not a timeout
    expect((await topo.udpMany(topo.pods[0].ns, '10.96.0.12', 53, 1))[0]).toBe('error:ECONNREFUSED');
  });

  it('NodePort on the node IP (masqueraded, ETP Cluster), externalIPs and load-balancer IPs, from an off-cluster client', async () => {
    const viaNodePort = await topo.tcpMany(topo.out, topo.nodeIP, 30080, 20);
    expect(names(viaNodePort)).toEqual(new Set(['pod1', 'pod3']));
    // The endpoint sees the node, not the client: masqueraded.
    expect(new Set(viaNodePort.map((a) => a.split(' ')[1]))).toEqual(new Set(['10.244.0.1']));
    expect(names(await topo.tcpMany(topo.out, '203.0.113.5', 9001, 10))).toEqual(new Set(['pod1', 'pod3']));
    expect(names(await topo.tcpMany(topo.out, '198.51.100.7', 9001, 10))).toEqual(new Set(['pod1', 'pod3']));
    // Not on localhost.
    expect(await topo.tcpMany(topo.node, '127.0.0.1', 30080, 1)).toEqual(['error:ECONNREFUSED']);
  });

  it('masquerades off-cluster sources to a cluster IP, but not pods', async () => {
    const fromOut = await topo.tcpMany(topo.out, '10.96.0.21', 9001, 6);
    expect(new Set(fromOut.map((a) => a.split(' ')[1]))).toEqual(new Set(['10.244.0.1']));
    const fromPod = await topo.tcpMany(topo.pods[1].ns, '10.96.0.21', 9001, 6);
    expect(new Set(fromPod.map((a) => a.split(' ')[1]))).toEqual(new Set([topo.pods[1].ip]));
  });

  it('externalTrafficPolicy Local: local endpoints only, client address kept, health check port like kube-proxy', async () => {
    const viaNodePort = await topo.tcpMany(topo.out, topo.nodeIP, 30081, 20);
    expect(names(viaNodePort)).toEqual(new Set(['pod1', 'pod2']));
    expect(new Set(viaNodePort.map((a) => a.split(' ')[1]))).toEqual(new Set([topo.outIP]));
    expect(names(await topo.tcpMany(topo.out, '198.51.100.8', 9001, 20))).toEqual(new Set(['pod1', 'pod2']));
    // Pods short-circuit to every endpoint.
    expect(names(await topo.tcpMany(topo.pods[0].ns, '198.51.100.8', 9001, 30))).toEqual(new Set(['pod1', 'pod2', 'pod3']));
    let r = await fetch(`http://127.0.0.1:${hcPort}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.json()).toEqual({ service: { namespace: 'default', name: 'local' }, localEndpoints: 2, serviceProxyHealthy: true });
    // No local endpoint left: outside clients are dropped, the health check says 503.
    setSlice(proxier, makeSlice({ service: 'local', ports: [{ port: 9001 }], endpoints: [on(3)] }));
    await proxier.syncNow();
    r = await fetch(`http://127.0.0.1:${hcPort}/`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { localEndpoints: number }).localEndpoints).toBe(0);
    expect(await topo.tcpMany(topo.out, topo.nodeIP, 30081, 1)).toEqual(['timeout']);
    expect(names(await topo.tcpMany(topo.pods[1].ns, '10.96.0.22', 9001, 3))).toEqual(new Set(['pod3']));
    setSlice(proxier, makeSlice({ service: 'local', ports: [{ port: 9001 }], endpoints: [on(1), on(2), on(3)] }));
    await proxier.syncNow();
  });

  it('internalTrafficPolicy Local: the cluster IP reaches this node’s endpoints only', async () => {
    expect(names(await topo.tcpMany(topo.pods[1].ns, '10.96.0.30', 9001, 20))).toEqual(new Set(['pod1']));
  });

  it('sessionAffinity ClientIP: a client sticks to one endpoint, and the entry expires with its timeout', async () => {
    const a = await topo.tcpMany(topo.pods[1].ns, '10.96.0.40', 9001, 12);
    expect(names(a).size).toBe(1);
    const map = await topo.inNs(topo.node, 'nft', 'list', 'map', 'ip', 'skiff', 'affinity-tcp');
    expect(map).toMatch(new RegExp(`${topo.pods[1].ip.replace(/\./g, '\\.')} \\. 10\\.96\\.0\\.40 \\. 9001 timeout 4s expires`));
    const b = await topo.tcpMany(topo.pods[0].ns, '10.96.0.40', 9001, 12);
    expect(names(b).size).toBe(1);
    // After the timeout the kernel forgets the client.
    for (let i = 0; i < 40 && (await topo.inNs(topo.node, 'nft', 'list', 'map', 'ip', 'skiff', 'affinity-tcp')).includes(topo.pods[1].ip); i++) await sleep(250);
    expect(await topo.inNs(topo.node, 'nft', 'list', 'map', 'ip', 'skiff', 'affinity-tcp')).not.toContain(topo.pods[1].ip);
  });

  it('terminating endpoints serve only when no ready endpoint is left', async () => {
    expect(names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.50', 9001, 10))).toEqual(new Set(['pod1']));
    setSlice(proxier, makeSlice({ service: 'term', ports: [{ port: 9001 }], endpoints: [{ ...on(2), ready: false, serving: true, terminating: true }] }));
    await proxier.syncNow();
    expect(names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.50', 9001, 5))).toEqual(new Set(['pod2']));
  });

  it('IPv6: the ip6 table serves the cluster IP and the NodePort, from pods and off-cluster', async () => {
    expect(names(await topo.tcpMany(topo.pods[2].ns, 'fd00:96::60', 9001, 20))).toEqual(new Set(['pod1', 'pod2']));
    const viaNodePort = await topo.tcpMany(topo.out, topo.nodeIP6, 30060, 10);
    expect(names(viaNodePort)).toEqual(new Set(['pod1', 'pod2']));
    expect(new Set(viaNodePort.map((a) => a.split(' ')[1]))).toEqual(new Set(['fd00:244::1']));
    expect(names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.60', 9001, 5))).toEqual(new Set(['pod1']));
  });

  it('UDP: deletes stale conntrack entries when an endpoint goes away, so a DNS-like client moves over', async () => {
    // One socket, one source port, a query every 100 ms: the conntrack entry lives on.
    const script = join(topo.dir, 'udp-steady.cjs');
    writeFileSync(
      script,
      `const s = require('dgram').createSocket('udp4'); const out = [];
       s.bind(40053, () => { s.connect(53, '10.96.0.70', () => { const t = setInterval(() => s.send('q'), 100); setTimeout(() => { clearInterval(t); console.log(JSON.stringify(out)); process.exit(0); }, 4000); }); });
       s.on('message', (m) => out.push([Date.now(), String(m)])); s.on('error', () => {});`,
    );
    const child = spawn('ip', ['netns', 'exec', topo.pods[2].ns, process.execPath, script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const done = new Promise<void>((r) => child.on('close', () => r()));
    await sleep(1200);
    const switched = Date.now();
    setSlice(proxier, makeSlice({ service: 'stale', ports: [{ port: 5353, protocol: 'UDP' }], endpoints: [on(2)] }));
    const r = await proxier.syncNow();
    expect(r.conntrackDeletes).toBeGreaterThan(0);
    await done;
    const answers = JSON.parse(stdout) as Array<[number, string]>;
    expect(answers.filter(([t]) => t < switched).every(([, n]) => n === 'pod1')).toBe(true);
    // pod1 is still alive: only the conntrack cleanup moves the flow.
    const late = answers.filter(([t]) => t > switched + 1000).map(([, n]) => n);
    expect(late.length).toBeGreaterThan(5);
    expect(new Set(late)).toEqual(new Set(['pod2']));
  });

  it('follows an endpoint change within 1 s', async () => {
    await sleep(200);
    const t0 = Date.now();
    proxier.onEndpointSliceUpsert(webSlice([on(2)]));
    let settledAt = 0;
    let streak = 0;
    while (Date.now() - t0 < 3000) {
      const a = await topo.httpGet(topo.node, 'http://10.96.0.10/');
      if (a === 'pod2') {
        if (++streak === 1) settledAt = Date.now();
        if (streak >= 5) break;
      } else streak = 0;
    }
    expect(streak).toBeGreaterThanOrEqual(5);
    expect(settledAt - t0).toBeLessThan(1000);
    setSlice(proxier, webSlice([on(1), on(2), on(3)]));
    await proxier.syncNow();
  });

  it('a restarted proxier reconciles without touching anything, and open connections survive', async () => {
    const nc = spawn('ip', ['netns', 'exec', topo.node, '/bin/busybox', 'nc', '10.96.0.20', '9000'], { stdio: ['pipe', 'pipe', 'pipe'] });
    nc.stdout.setEncoding('utf8');
    const lines: string[] = [];
    nc.stdout.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    const ask = async (msg: string): Promise<string> => {
      const n = lines.length;
      nc.stdin.write(`${msg}\n`);
      for (let i = 0; i < 50 && lines.length === n; i++) await sleep(50);
      return lines[n] ?? 'no answer';
    };
    try {
      const first = await ask('one');
      expect(first).toMatch(/^pod\d:one$/);
      const pod = first.split(':')[0] as 'pod1' | 'pod2' | 'pod3';
      await proxier.stop();
      proxier = newProxier();
      feed(proxier);
      const r = await proxier.syncNow();
      expect(r.full).toBe(true);
      expect(r.transaction.text).toBe(''); // the kernel already matches: nothing is rewritten
      expect(await ask('two')).toBe(`${pod}:two`);
      // A change made while the agent was down becomes element updates only.
      const p2 = newProxier();
      feed(p2, [on(Number(pod.slice(3)) as 1 | 2 | 3)]);
      const r2 = await p2.syncNow();
      expect(r2.full).toBe(true);
      expect(r2.transaction.structural).toBe(false);
      expect(r2.transaction.elementDeletes).toBeGreaterThan(0);
      expect(r2.transaction.text).not.toMatch(/chain|rule|flush/);
      expect(await ask('three')).toBe(`${pod}:three`);
      await p2.stop();
    } finally {
      nc.kill('SIGKILL');
    }
    proxier = newProxier();
    feed(proxier);
    expect((await proxier.syncNow()).transaction.structural).toBe(false);
    proxier.onSynced();
    proxier.start(ac.signal);
  });

  it('a real nft failing partway keeps the previous ruleset whole; the runner retries with backoff', async () => {
    // A wrapper appends a statement nft rejects while a flag file exists: the kernel refuses
    // the whole transaction, after all its element changes were sent.
    const flag = join(topo.dir, 'fail');
    const count = join(topo.dir, 'attempts');
    const wrapper = join(topo.dir, 'nft-wrapper.sh');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e ${flag} ] && [ "$1" = "-f" ]; then echo x >> ${count}; { cat; echo 'add rule ip skiff-fail services jump no-such-chain'; } | ip netns exec ${topo.node} nft "$@"; exit $?; fi\nexec ip netns exec ${topo.node} nft "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const failing = newProxier('skiff-fail', new SpawnNftExecutor({ command: [wrapper] }));
    const svc = service('flaky', '10.96.0.90', [{ port: 9001 }]);
    try {
      failing.onServiceUpsert(svc);
      failing.onEndpointSliceUpsert(makeSlice({ service: 'flaky', ports: [{ port: 9001 }], endpoints: [on(1)] }));
      failing.onSynced();
      failing.start();
      await failing.syncNow();
      expect(names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.90', 9001, 3))).toEqual(new Set(['pod1']));
      const before = await topo.inNs(topo.node, 'nft', 'list', 'table', 'ip', 'skiff-fail');
      writeFileSync(flag, '');
      failing.onEndpointSliceUpsert(makeSlice({ service: 'flaky', ports: [{ port: 9001 }], endpoints: [on(2)] }));
      await sleep(1700); // the first attempt at once, a retry 1 s later
      expect(readFileSync(count, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
      expect(await topo.inNs(topo.node, 'nft', 'list', 'table', 'ip', 'skiff-fail')).toBe(before);
      expect(names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.90', 9001, 3))).toEqual(new Set(['pod1']));
      rmSync(flag);
      let moved = false;
      for (let i = 0; i < 40 && !moved; i++) {
        await sleep(200);
        moved = names(await topo.tcpMany(topo.pods[2].ns, '10.96.0.90', 9001, 1)).has('pod2');
      }
      expect(moved).toBe(true);
    } finally {
      await failing.cleanup();
    }
  });

  it('check mode validates without applying', async () => {
    await nft.apply('add table ip skiff-check\n', { check: true });
    expect(await topo.inNs(topo.node, 'nft', 'list', 'tables')).not.toMatch(/skiff-check/);
    await expect(nft.apply('add chain ip skiff nope\nadd rule ip skiff nope jump missing\n')).rejects.toMatchObject({
      code: 'SKIFF_NFT_ERROR',
      line: 2,
      statement: 'add rule ip skiff nope jump missing',
    });
  });

  it('cleanup() deletes both tables and nothing else', async () => {
    await topo.inNs(topo.node, 'nft', 'add table ip someone-else');
    await proxier.cleanup();
    const tables = await topo.inNs(topo.node, 'nft', 'list', 'tables');
    expect(tables).not.toMatch(/table ip6? skiff\b/);
    expect(tables).toMatch(/someone-else/);
    await proxier.cleanup(); // idempotent
    await topo.inNs(topo.node, 'nft', 'delete table ip someone-else');
  });
});
