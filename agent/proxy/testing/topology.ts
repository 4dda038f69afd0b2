/**
 * A throwaway node for the proxy's integration tests: network namespaces this process
 * creates and always deletes (MACHINE.md safety rules). Test-only; not part of the proxy's
 * public face.
 *
 * ```
 *   netns <id>-out (off-cluster client)   netns <id>-node                        netns <id>-pN
 *   vo1 192.168.77.2/30, fd00:77::2/64 ── vo0 192.168.77.1/30, fd00:77::1/64
 *   routes: service ranges via the node     cbr0 10.244.0.1/24, fd00:244::1/64 ── vpN ══ eth0 10.244.0.N+1,
 *   (nothing else: no default route)        (bridge, hairpin on the ports)              fd00:244::N+1
 *                                           default route → out (leads nowhere)
 * ```
 * Each pod runs busybox httpd on :8080 (answers its name), and a node server: TCP :9000
 * echoes `name:line`, TCP :9001 answers `name clientAddress` and closes, UDP :5353 answers
 * its name. Cluster IPs (10.96.0.0/16, fd00:96::/64) and the test's external addresses are
 * routed from `out` to the node only, so nothing can leave the machine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One pod namespace. */
export interface TestPod {
  ns: string;
  name: string;
  ip: string;
  ip6: string;
}

/** The node and its pods. */
export interface Topology {
  node: string;
  out: string;
  nodeIP: string;
  nodeIP6: string;
  outIP: string;
  pods: TestPod[];
  /** Scratch directory (client scripts). */
  dir: string;
  /** Runs a command inside a namespace; returns stdout. */
  inNs(ns: string, ...argv: string[]): Promise<string>;
  /** `curl` inside a namespace; the body, or `error: …`. */
  httpGet(ns: string, url: string): Promise<string>;
  /** `n` requests with curl, one answer (or `error`) per request. */
  httpMany(ns: string, url: string, n: number): Promise<string[]>;
  /** `n` TCP connections to host:port from a namespace, each answer's first line (or `error:…`). */
  tcpMany(ns: string, host: string, port: number, n: number): Promise<string[]>;
  /** `n` UDP queries from fresh sockets; `timeout` or `error:ECONNREFUSED` when nothing answered. */
  udpMany(ns: string, host: string, port: number, n: number): Promise<string[]>;
  /** Starts a long-running process inside a namespace (killed at teardown). */
  background(ns: string, argv: string[]): ChildProcess;
  /** Kills everything and deletes every namespace; safe to call twice. */
  teardown(): Promise<void>;
}

/** Why the topology cannot be built here, or undefined. */
export function topologySkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['/usr/sbin/ip', '/usr/sbin/nft', '/bin/busybox', '/usr/bin/curl']) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr/sbin', '/sbin'))) return `needs ${bin}`;
  }
  return undefined;
}

const POD_SERVER = `
const net = require('net'), dgram = require('dgram');
const name = process.argv[2];
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(name, r.port, r.address));
u.bind(5353);
net.createServer((c) => { c.setEncoding('utf8'); c.on('data', (d) => c.write(name + ':' + d)); c.on('error', () => {}); }).listen(9000, '::');
net.createServer((c) => { c.on('error', () => {}); c.end(name + ' ' + c.remoteAddress.replace(/^::ffff:/, '') + '\\n'); }).listen(9001, '::');
`;

const UDP_CLIENT = `
const dgram = require('dgram');
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1)];
const out = [];
function one(i) {
  if (i >= count) { console.log(JSON.stringify(out)); return; }
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const t = setTimeout(() => { out.push('timeout'); s.close(); one(i + 1); }, 1000);
  s.on('message', (m) => { clearTimeout(t); out.push(String(m)); s.close(); one(i + 1); });
  s.on('error', (e) => { clearTimeout(t); out.push('error:' + e.code); s.close(); one(i + 1); });
  // A connected socket reports an ICMP port-unreachable as ECONNREFUSED.
  s.connect(port, host, () => s.send('q'));
}
one(0);
`;

const TCP_CLIENT = `
const net = require('net');
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1)];
const out = [];
function one(i) {
  if (i >= count) { console.log(JSON.stringify(out)); return; }
  let buf = '', done = false;
  const finish = (v) => { if (done) return; done = true; out.push(v); s.destroy(); one(i + 1); };
  const s = net.connect({ host, port, timeout: 2000 });
  s.setEncoding('utf8');
  s.on('data', (d) => { buf += d; if (buf.includes('\\n')) finish(buf.split('\\n')[0]); });
  s.on('end', () => finish(buf.trim() || 'empty'));
  s.on('timeout', () => finish('timeout'));
  s.on('error', (e) => finish('error:' + e.code));
}
one(0);
`;

/** Builds the topology with `podCount` pods (IPv6 too when `ipv6`). Always pair with `teardown()`. */
export async function createTopology(opts: { podCount?: number; ipv6?: boolean; prefix?: string } = {}): Promise<Topology> {
  const id = `${opts.prefix ?? 'skiff-t'}-${randomBytes(3).toString('hex')}`;
  const node = `${id}-node`;
  const out = `${id}-out`;
  const pods: TestPod[] = Array.from({ length: opts.podCount ?? 3 }, (_, i) => ({
    ns: `${id}-p${i + 1}`,
    name: `pod${i + 1}`,
    ip: `10.244.0.${i + 2}`,
    ip6: `fd00:244::${i + 2}`,
  }));
  const all = [node, out, ...pods.map((p) => p.ns)];
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-int-'));
  const sh = async (...argv: string[]): Promise<string> => (await run(argv[0], argv.slice(1), { timeout: 30_000, maxBuffer: 64 << 20 })).stdout;
  const inNs = (ns: string, ...argv: string[]): Promise<string> => sh('ip', 'netns', 'exec', ns, ...argv);
  const background = (ns: string, argv: string[]): ChildProcess => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(c);
    return c;
  };
  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    for (const ns of all) {
      try {
        // Anything still running in a namespace we created was started by this test.
        const pids = (await sh('ip', 'netns', 'pids', ns)).split('\n').filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* namespace absent */
      }
      await sh('ip', 'netns', 'del', ns).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const httpGet = async (ns: string, url: string): Promise<string> => {
    try {
      return (await inNs(ns, 'curl', '-sS', '--max-time', '2', url)).trim();
    } catch (err) {
      return `error: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`;
    }
  };
  const topo: Topology = {
    node,
    out,
    nodeIP: '192.168.77.1',
    nodeIP6: 'fd00:77::1',
    outIP: '192.168.77.2',
    pods,
    dir,
    inNs,
    httpGet,
    httpMany: async (ns, url, n) => (await inNs(ns, 'sh', '-c', `for i in $(seq ${n}); do curl -sS --max-time 2 '${url}' || echo error; done`)).trim().split('\n'),
    tcpMany: async (ns, host, port, n) => JSON.parse(await inNs(ns, process.execPath, join(dir, 'tcp-client.cjs'), host, String(port), String(n))) as string[],
    udpMany: async (ns, host, port, n) => JSON.parse(await inNs(ns, process.execPath, join(dir, 'udp-client.cjs'), host, String(port), String(n))) as string[],
    background,
    teardown,
  };
  try {
    writeFileSync(join(dir, 'pod-server.cjs'), POD_SERVER);
    writeFileSync(join(dir, 'udp-client.cjs'), UDP_CLIENT);
    writeFileSync(join(dir, 'tcp-client.cjs'), TCP_CLIENT);
    for (const ns of all) {
      await sh('ip', 'netns', 'add', ns);
      await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    const v6 = opts.ipv6 ?? false;
    await sh('ip', '-n', node, 'link', 'add', 'vo0', 'type', 'veth', 'peer', 'name', 'vo1', 'netns', out);
    await sh('ip', '-n', node, 'addr', 'add', '192.168.77.1/30', 'dev', 'vo0');
    await sh('ip', '-n', out, 'addr', 'add', '192.168.77.2/30', 'dev', 'vo1');
    if (v6) {
      await sh('ip', '-n', node, 'addr', 'add', 'fd00:77::1/64', 'dev', 'vo0', 'nodad');
      await sh('ip', '-n', out, 'addr', 'add', 'fd00:77::2/64', 'dev', 'vo1', 'nodad');
    }
    await sh('ip', '-n', node, 'link', 'set', 'vo0', 'up');
    await sh('ip', '-n', out, 'link', 'set', 'vo1', 'up');
    // The node's default route leads into `out`, which has no route anywhere else.
    await sh('ip', '-n', node, 'route', 'add', 'default', 'via', '192.168.77.2');
    // `out` reaches the service and test-external ranges through the node only.
    for (const r of ['10.96.0.0/16', '203.0.113.0/24', '198.51.100.0/24']) await sh('ip', '-n', out, 'route', 'add', r, 'via', '192.168.77.1');
    if (v6) {
      await sh('ip', '-n', node, '-6', 'route', 'add', 'default', 'via', 'fd00:77::2');
      await sh('ip', '-n', out, '-6', 'route', 'add', 'fd00:96::/64', 'via', 'fd00:77::1');
    }
    await sh('ip', '-n', node, 'link', 'add', 'cbr0', 'type', 'bridge');
    await sh('ip', '-n', node, 'addr', 'add', '10.244.0.1/24', 'dev', 'cbr0');
    if (v6) await sh('ip', '-n', node, 'addr', 'add', 'fd00:244::1/64', 'dev', 'cbr0', 'nodad');
    await sh('ip', '-n', node, 'link', 'set', 'cbr0', 'up');
    await inNs(node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    if (v6) await inNs(node, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    for (const [i, p] of pods.entries()) {
      const host = `vp${i + 1}`;
      await sh('ip', '-n', node, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
      await sh('ip', '-n', node, 'link', 'set', host, 'master', 'cbr0');
      await sh('ip', '-n', node, 'link', 'set', host, 'type', 'bridge_slave', 'hairpin', 'on');
      await sh('ip', '-n', node, 'link', 'set', host, 'up');
      await sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0');
      if (v6) await sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip6}/64`, 'dev', 'eth0', 'nodad');
      await sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
      await sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', '10.244.0.1');
      if (v6) await sh('ip', '-n', p.ns, '-6', 'route', 'add', 'default', 'via', 'fd00:244::1');
      const www = join(dir, p.name);
      mkdirSync(www);
      writeFileSync(join(www, 'index.html'), `${p.name}\n`);
      background(p.ns, ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www]);
      background(p.ns, [process.execPath, join(dir, 'pod-server.cjs'), p.name]);
    }
    for (const p of pods) {
      for (let i = 0; i < 50; i++) {
        if ((await httpGet(node, `http://${p.ip}:8080/`)) === p.name) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await teardown();
    throw err;
  }
  return topo;
}
