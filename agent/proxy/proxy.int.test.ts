/**
 * Integration: the proxier against real nft and real traffic, inside network namespaces
 * this test creates and always deletes.
 *
 * ```
 *   netns <id>-out          netns <id>-node                          netns <id>-p1..p3
 *   vo1 192.168.77.2/30 ── vo0 192.168.77.1/30 (default route)
 *   (nothing else: no              cbr0 10.244.0.1/24 (bridge) ── vpN ══ eth0 10.244.0.{2,3,4}/24
 *    forwarding, no routes)        table ip skiff (ours)              busybox httpd :8080,
 *                                                                     node echo :9000/tcp, :5353/udp
 * ```
 * Cluster IPs are in 10.96.0.0/16; from the node they route to the empty `out` namespace,
 * so nothing can leave the machine. Bridge ports have hairpin on, as the CNI bridge does.
 * The HTTP client is curl: busybox-static's `wget` segfaults on this machine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { createProxier, SpawnNftExecutor, type Proxier } from './index.js';
import { makeService, makeSlice } from './fixtures.js';

const run = promisify(execFile);

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['/usr/sbin/ip', '/usr/sbin/nft', '/bin/busybox', '/usr/bin/curl']) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr/sbin', '/sbin'))) return `needs ${bin}`;
  }
  return undefined;
}
const skipReason = missing();

const id = `skiff-t-${randomBytes(3).toString('hex')}`;
const NODE = `${id}-node`;
const OUT = `${id}-out`;
const PODS = [1, 2, 3].map((i) => ({ ns: `${id}-p${i}`, name: `pod${i}`, ip: `10.244.0.${i + 1}` }));
const ALL_NS = [NODE, OUT, ...PODS.map((p) => p.ns)];
const children: ChildProcess[] = [];
let dir = '';

async function sh(...argv: string[]): Promise<string> {
  const { stdout } = await run(argv[0], argv.slice(1), { timeout: 30_000 });
  return stdout;
}
const inNs = (ns: string, ...argv: string[]): Promise<string> => sh('ip', 'netns', 'exec', ns, ...argv);

function background(ns: string, argv: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  return c;
}

const POD_SERVER = `
const net = require('net'), dgram = require('dgram');
const name = process.argv[2];
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(name, r.port, r.address));
u.bind(5353);
net.createServer((c) => { c.setEncoding('utf8'); c.on('data', (d) => c.write(name + ':' + d)); c.on('error', () => {}); }).listen(9000);
`;

const UDP_CLIENT = `
const dgram = require('dgram');
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1)];
const out = [];
function one(i) {
  if (i >= count) { console.log(JSON.stringify(out)); return; }
  const s = dgram.createSocket('udp4');
  const t = setTimeout(() => { out.push('timeout'); s.close(); one(i + 1); }, 1000);
  s.on('message', (m) => { clearTimeout(t); out.push(String(m)); s.close(); one(i + 1); });
  s.on('error', (e) => { clearTimeout(t); out.push('error:' + e.code); s.close(); one(i + 1); });
  // A connected socket reports an ICMP port-unreachable as ECONNREFUSED.
  s.connect(port, host, () => s.send('q'));
}
one(0);
`;

async function httpGet(ns: string, url: string): Promise<string> {
  try {
    return (await inNs(ns, 'curl', '-sS', '--max-time', '2', url)).trim();
  } catch (err) {
    return `error: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`;
  }
}

async function httpMany(ns: string, url: string, n: number): Promise<string[]> {
  const script = `for i in $(seq ${n}); do curl -sS --max-time 2 ${url} || echo error; done`;
  return (await inNs(ns, 'sh', '-c', script)).trim().split('\n');
}

async function udpMany(ns: string, host: string, port: number, n: number): Promise<string[]> {
  return JSON.parse(await inNs(ns, process.execPath, join(dir, 'udp-client.cjs'), host, String(port), String(n))) as string[];
}

async function setup(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-int-'));
  writeFileSync(join(dir, 'pod-server.cjs'), POD_SERVER);
  writeFileSync(join(dir, 'udp-client.cjs'), UDP_CLIENT);
  for (const ns of ALL_NS) {
    await sh('ip', 'netns', 'add', ns);
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  await sh('ip', '-n', NODE, 'link', 'add', 'vo0', 'type', 'veth', 'peer', 'name', 'vo1', 'netns', OUT);
  await sh('ip', '-n', NODE, 'addr', 'add', '192.168.77.1/30', 'dev', 'vo0');
  await sh('ip', '-n', NODE, 'link', 'set', 'vo0', 'up');
  await sh('ip', '-n', OUT, 'addr', 'add', '192.168.77.2/30', 'dev', 'vo1');
  await sh('ip', '-n', OUT, 'link', 'set', 'vo1', 'up');
  await sh('ip', '-n', NODE, 'route', 'add', 'default', 'via', '192.168.77.2');
  await sh('ip', '-n', NODE, 'link', 'add', 'cbr0', 'type', 'bridge');
  await sh('ip', '-n', NODE, 'addr', 'add', '10.244.0.1/24', 'dev', 'cbr0');
  await sh('ip', '-n', NODE, 'link', 'set', 'cbr0', 'up');
  await inNs(NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  for (const [i, p] of PODS.entries()) {
    const host = `vp${i + 1}`;
    await sh('ip', '-n', NODE, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
    await sh('ip', '-n', NODE, 'link', 'set', host, 'master', 'cbr0');
    await sh('ip', '-n', NODE, 'link', 'set', host, 'type', 'bridge_slave', 'hairpin', 'on');
    await sh('ip', '-n', NODE, 'link', 'set', host, 'up');
    await sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0');
    await sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
    await sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', '10.244.0.1');
    const www = join(dir, p.name);
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), `${p.name}\n`);
    background(p.ns, ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
    background(p.ns, [process.execPath, join(dir, 'pod-server.cjs'), p.name]);
  }
  // Wait for the servers to listen.
  for (const p of PODS) {
    for (let i = 0; i < 50; i++) {
      if ((await httpGet(NODE, `http://${p.ip}:8080/`)) === p.name) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function teardown(): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
  for (const ns of ALL_NS) {
    try {
      // Anything still running in a namespace we created was started by this test.
      const pids = (await sh('ip', 'netns', 'pids', ns)).split('\n').filter(Boolean);
      for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* namespace absent */
    }
    await sh('ip', 'netns', 'del', ns).catch(() => undefined);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const nft = new SpawnNftExecutor({ command: ['ip', 'netns', 'exec', NODE, 'nft'] });
function newProxier(): Proxier {
  return createProxier({
    logger: silentLogger(),
    clock: realClock,
    nft,
    nodeName: 'node-1',
    nodeIPs: ['192.168.77.1'],
    podCidr: '10.244.0.0/24',
  });
}

const web = makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
const dns = makeService({ name: 'dns', clusterIP: '10.96.0.11', ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] });
const self = makeService({ name: 'self', clusterIP: '10.96.0.13', ports: [{ port: 80, targetPort: 8080 }] });
const echo = makeService({ name: 'echo', clusterIP: '10.96.0.20', ports: [{ port: 9000 }] });
const empty = makeService({ name: 'empty', clusterIP: '10.96.0.12', ports: [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }] });
const allIPs = PODS.map((p) => p.ip);
const webSlice = (ips: string[]) => makeSlice({ service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: ips });

/** Feeds the test's Services and slices to a proxier; `echoIPs` are the echo Service's endpoints. */
function feed(p: Proxier, echoIPs: string[]): void {
  for (const s of [web, dns, self, echo, empty]) p.onServiceUpsert(s);
  p.onEndpointSliceUpsert(webSlice(allIPs));
  p.onEndpointSliceUpsert(makeSlice({ service: 'dns', ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }], endpoints: allIPs }));
  p.onEndpointSliceUpsert(makeSlice({ service: 'self', ports: [{ port: 8080 }], endpoints: [PODS[0].ip] }));
  p.onEndpointSliceUpsert(makeSlice({ service: 'echo', ports: [{ port: 9000 }], endpoints: echoIPs }));
}

describe.skipIf(skipReason !== undefined)(`proxy with real nft in a netns${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let proxier: Proxier;
  const ac = new AbortController();

  beforeAll(async () => {
    try {
      await setup();
    } catch (err) {
      await teardown();
      throw err;
    }
    proxier = newProxier();
    feed(proxier, allIPs);
    proxier.start(ac.signal);
    await proxier.syncNow();
  });

  afterAll(async () => {
    ac.abort();
    await proxier?.stop().catch(() => undefined);
    await teardown();
  });

  it('br_netfilter is on in the node namespace', async () => {
    expect((await inNs(NODE, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables')).trim()).toBe('1');
  });

  it('reaches every endpoint through the cluster IP from the node', async () => {
    const answers = await httpMany(NODE, 'http://10.96.0.10/', 30);
    expect(new Set(answers)).toEqual(new Set(PODS.map((p) => p.name)));
  });

  it('reaches the cluster IP from a pod, other pods and itself (hairpin)', async () => {
    const answers = await httpMany(PODS[1].ns, 'http://10.96.0.10/', 30);
    expect(new Set(answers)).toEqual(new Set(PODS.map((p) => p.name)));
    // pod1 → its own Service (only endpoint: pod1): hairpin, masqueraded.
    expect(await httpGet(PODS[0].ns, 'http://10.96.0.13/')).toBe('pod1');
  });

  it('serves UDP through the cluster IP', async () => {
    const answers = await udpMany(NODE, '10.96.0.11', 53, 30);
    expect(new Set(answers)).toEqual(new Set(PODS.map((p) => p.name)));
    const fromPod = await udpMany(PODS[2].ns, '10.96.0.11', 53, 20);
    expect(fromPod.every((a) => PODS.some((p) => p.name === a))).toBe(true);
  });

  it('rejects a Service without endpoints (TCP reset, ICMP for UDP)', async () => {
    const started = Date.now();
    const res = await httpGet(NODE, 'http://10.96.0.12/');
    expect(res).toMatch(/error/);
    expect(res).toMatch(/refused|Couldn't connect/i); // curl 7.88 words ECONNREFUSED this way
    expect(Date.now() - started).toBeLessThan(1500); // refused at once, not a timeout
    const udp = await udpMany(PODS[0].ns, '10.96.0.12', 53, 1);
    expect(udp[0]).toBe('error:ECONNREFUSED');
  });

  it('follows an endpoint change within 1 s', async () => {
    // The first change after an idle minSyncPeriod is applied at once; make sure we are idle.
    await new Promise((r) => setTimeout(r, 1100));
    const t0 = Date.now();
    proxier.onEndpointSliceUpsert(webSlice([PODS[1].ip]));
    let settledAt = 0;
    let streak = 0;
    while (Date.now() - t0 < 3000) {
      const a = await httpGet(NODE, 'http://10.96.0.10/');
      if (a === 'pod2') {
        if (++streak === 1) settledAt = Date.now();
        if (streak >= 5) break;
      } else streak = 0;
    }
    expect(streak).toBeGreaterThanOrEqual(5);
    expect(settledAt - t0).toBeLessThan(1000);
    const answers = await httpMany(NODE, 'http://10.96.0.10/', 10);
    expect(new Set(answers)).toEqual(new Set(['pod2']));
    proxier.onEndpointSliceUpsert(webSlice(allIPs));
    await proxier.syncNow();
  });

  it('a restarted proxier reconciles without touching anything, and open connections survive', async () => {
    const nc = spawn('ip', ['netns', 'exec', NODE, '/bin/busybox', 'nc', '10.96.0.20', '9000'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(nc);
    nc.stdout.setEncoding('utf8');
    const lines: string[] = [];
    nc.stdout.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    const ask = async (msg: string): Promise<string> => {
      const n = lines.length;
      nc.stdin.write(`${msg}\n`);
      for (let i = 0; i < 50 && lines.length === n; i++) await new Promise((r) => setTimeout(r, 50));
      return lines[n] ?? 'no answer';
    };
    const first = await ask('one');
    expect(first).toMatch(/^pod\d:one$/);
    const pod = first.split(':')[0];

    // "Restart": the old proxier stops, a new one starts against the existing table.
    await proxier.stop();
    proxier = newProxier();
    feed(proxier, allIPs);
    const r = await proxier.syncNow();
    expect(r.full).toBe(true);
    expect(r.transaction.text).toBe(''); // the kernel already matches: nothing is rewritten
    expect(await ask('two')).toBe(`${pod}:two`);

    // A change made while the agent was down becomes element updates only.
    const p2 = newProxier();
    feed(p2, [PODS.find((p) => p.name === pod)!.ip]);
    const r2 = await p2.syncNow();
    expect(r2.full).toBe(true);
    expect(r2.transaction.structural).toBe(false);
    expect(r2.transaction.elementDeletes).toBeGreaterThan(0);
    expect(r2.transaction.text).not.toMatch(/chain|rule|flush/);
    expect(await ask('three')).toBe(`${pod}:three`);
    nc.kill('SIGKILL');

    // And back, through yet another restart.
    proxier = newProxier();
    feed(proxier, allIPs);
    expect((await proxier.syncNow()).transaction.structural).toBe(false);
  });

  it('check mode validates without applying', async () => {
    await nft.apply('add table ip skiff-check\n', { check: true });
    expect(await sh('ip', 'netns', 'exec', NODE, 'nft', 'list', 'tables')).not.toMatch(/skiff-check/);
    await expect(nft.apply('add chain ip skiff nope\nadd rule ip skiff nope jump missing\n')).rejects.toMatchObject({
      code: 'SKIFF_NFT_ERROR',
      line: 2,
      statement: 'add rule ip skiff nope jump missing',
    });
  });

  it('measures a one-endpoint change at 1k Services (logged, not asserted)', async () => {
    const bench = createProxier({
      logger: silentLogger(),
      clock: realClock,
      nft,
      nodeName: 'node-1',
      nodeIPs: ['192.168.77.1'],
      podCidr: '10.244.0.0/24',
      table: 'skiff-bench',
    });
    try {
      const eps = (s: number, n: number) => Array.from({ length: n }, (_, k) => `10.245.${s >> 4}.${((s & 15) << 4) + k}`);
      for (let s = 0; s < 1000; s++) {
        const name = `svc-${s}`;
        bench.onServiceUpsert(makeService({ name, clusterIP: `10.96.${10 + (s >> 8)}.${s & 255}`, ports: [{ port: 80 }] }));
        bench.onEndpointSliceUpsert(makeSlice({ service: name, ports: [{ port: 8080 }], endpoints: eps(s, 10) }));
      }
      let t = performance.now();
      const full = await bench.syncNow();
      const fullMs = performance.now() - t;
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const e = eps(500, 10);
        e[i % 10] = `10.246.0.${i + 1}`;
        bench.onEndpointSliceUpsert(makeSlice({ service: 'svc-500', ports: [{ port: 8080 }], endpoints: e }));
        t = performance.now();
        const r = await bench.syncNow();
        times.push(performance.now() - t);
        expect(r.transaction.structural).toBe(false);
      }
      times.sort((a, b) => a - b);
      t = performance.now();
      const resync = await (async () => {
        const again = createProxier({ logger: silentLogger(), clock: realClock, nft, nodeName: 'n', nodeIPs: [], table: 'skiff-bench' });
        for (let s = 0; s < 1000; s++) {
          const name = `svc-${s}`;
          again.onServiceUpsert(makeService({ name, clusterIP: `10.96.${10 + (s >> 8)}.${s & 255}`, ports: [{ port: 80 }] }));
          const e = eps(s, 10);
          if (s === 500) e[9] = `10.246.0.10`;
          again.onEndpointSliceUpsert(makeSlice({ service: name, ports: [{ port: 8080 }], endpoints: e }));
        }
        return again.syncNow();
      })();
      const restartMs = performance.now() - t;
      console.log(
        `[bench] 1k services x 10 endpoints: initial load ${fullMs.toFixed(0)} ms (${full.transaction.elementAdds} elements); ` +
          `one-endpoint change p50 ${times[5].toFixed(0)} ms, max ${times[9].toFixed(0)} ms; ` +
          `restart reconcile (read + diff, ${resync.transaction.elementAdds} adds) ${restartMs.toFixed(0)} ms`,
      );
    } finally {
      await bench.cleanup();
    }
  });

  it('cleanup() deletes the table and only it', async () => {
    await inNs(NODE, 'nft', 'add table ip someone-else');
    await proxier.cleanup();
    const tables = await inNs(NODE, 'nft', 'list', 'tables');
    expect(tables).not.toMatch(/table ip skiff\b/);
    expect(tables).toMatch(/someone-else/);
    await proxier.cleanup(); // idempotent
    await inNs(NODE, 'nft', 'delete table ip someone-else');
  });
});
