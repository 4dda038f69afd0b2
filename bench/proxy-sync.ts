/**
 * bench/proxy-sync: the Service proxy at scale, N Services × 10 endpoints.
 *
 * For each N it measures, in one run and back to back:
 *  (a) the first full sync: from starting the Skiff proxy process (the API objects already
 *      exist) to its nft transaction being committed (`a total`), and from its informers
 *      having listed everything to that commit (`a sync`);
 *  (b) one endpoint change at N: patch one EndpointSlice through the API, until the proxy's
 *      `nft -f` for it has returned (the kernel acknowledged the commit; every change is
 *      checked in the kernel afterwards); p50 and p99 over the changes. (`nft monitor` is no
 *      use here: it loads the whole ruleset before listening, minutes at 30k.)
 *  (c) the proxy process's peak RSS (VmHWM);
 *  the floor: a bare `nft -f` of exactly the transaction Skiff generated (median of 3);
 *  the peer: the real kube-proxy 1.20.2 in iptables mode at the peer sizes (its first sync
 *  from its own metric, and process start → all KUBE-SVC chains present).
 *
 * Safety (MACHINE.md): everything runs inside one network namespace this process creates
 * (only `lo`, plus a blackhole route for 10.0.0.0/8: every cluster IP and endpoint address
 * leads nowhere); the apiserver (the companion, in process) listens on 127.0.0.1 there. Every
 * table and chain is deleted after each step, and the namespace (with anything left in it) is
 * deleted at the end, also on failure.
 *
 * Usage: bench/proxy-sync [--sizes 1000,10000,30000] [--changes 50] [--peer-sizes 1000,5000]
 *                         [--peer-backends legacy,nft] [--peer-timeout 600] [--no-peer] [--json] [--no-record]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Endpoints as CoreEndpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { parseControlPlaneConfig, startControlPlane, type RunningControlPlane } from '../controlplane/main.js';
import { silentLogger } from '../lib/log.js';
import { EndpointSlices, Endpoints, Services, type KubeClient } from '../lib/kube/index.js';
import { createNetns, type TestNetns } from '../test/support/netns.js';
import { referenceBinDir } from '../test/support/realcluster.js';
import { selectIptablesBackend, SpawnNftExecutor, type IptablesKind } from '../agent/proxy/index.js';
import { runKubeProxy, type PeerResult } from './proxy-sync-peer.js';
import { peakRssMiB, percentile } from './stats.js';
import { agentNodeFlags } from '../cli/node-flags.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

/** One Skiff row. */
interface SkiffRow {
  n: number;
  elements: number;
  txBytes: number;
  aTotalMs: number;
  aSyncMs: number;
  floorMs: number;
  bP50Ms: number;
  bP99Ms: number;
  changes: number;
  peakRssMiB: number;
  /** The periodic resync's cheap check (chains and set declarations with handles), ms. */
  verifyMs: number;
  /** A full read-back of the table (`nft -j list table` + parse), what every resync cost before, ms. */
  readBackMs: number;
}

interface Results {
  date: string;
  machine: string;
  commit: string;
  load: string;
  skiff: SkiffRow[];
  peer: PeerResult[];
  peerError?: string;
  /** The iptables backend kind's rule picks in the benchmark's namespace. */
  kindPick?: IptablesKind;
}

interface Options {
  sizes: number[];
  changes: number;
  peerSizes: number[];
  peerBackends: IptablesKind[];
  peerTimeoutMs: number;
}

function argList(argv: string[], name: string, dflt: number[]): number[] {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  return argv[i + 1]
    .split(',')
    .map((s) => Number(s.replace(/k$/i, '000')))
    .filter((n) => Number.isInteger(n) && n > 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- API objects --------------------------------------------------------------------------

function endpointIPs(s: number): string[] {
  return Array.from({ length: 10 }, (_, k) => `10.${128 + (s >> 12)}.${(s >> 4) & 255}.${((s & 15) << 4) + k}`);
}

function sliceOf(s: number, ips: string[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc-${s}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${s}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    // Endpoints spread over 100 other nodes, as in a large cluster.
    endpoints: ips.map((ip, k) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: `node-${(s + k) % 100}` })),
  };
}

/** Creates N selectorless Services with a slice each (and Endpoints for the peer). */
async function populate(client: KubeClient, n: number, withEndpoints: boolean): Promise<number> {
  const t0 = Date.now();
  const batch = 256;
  for (let i = 0; i < n; i += batch) {
    const jobs: Promise<unknown>[] = [];
    for (let s = i; s < Math.min(n, i + batch); s++) {
      const svc: Service = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${s}`, namespace: 'default' },
        spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
      };
      jobs.push(client.create(Services, svc));
      jobs.push(client.create(EndpointSlices, sliceOf(s, endpointIPs(s))));
      if (withEndpoints) {
        const ep: CoreEndpoints = {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: `svc-${s}`, namespace: 'default' },
          subsets: [{ addresses: endpointIPs(s).map((ip, k) => ({ ip, nodeName: `node-${(s + k) % 100}` })), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
        };
        jobs.push(client.create(Endpoints, ep));
      }
    }
    await Promise.all(jobs);
  }
  return Date.now() - t0;
}

// ---- the Skiff proxy process --------------------------------------------------------------

interface ProxyEvent {
  ev: string;
  t: number;
  ms?: number;
  full?: boolean;
  reason?: string;
  adds?: number;
}

class ProxyProcess {
  readonly child: ChildProcess;
  readonly events: ProxyEvent[] = [];
  private waiters: Array<() => void> = [];
  readonly started = Date.now();

  constructor(kubeconfig: string, dumpTx: string) {
    // With the V8 flags `skiff agent` runs with (the proxy runs inside the agent).
    this.child = spawn(process.execPath, ['--enable-source-maps', ...agentNodeFlags(), join(here, 'proxy-sync-proxy.js'), '--kubeconfig', kubeconfig, '--dump-tx', dumpTx], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as ProxyEvent);
        } catch {
          /* not ours */
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  async waitFor(pred: (e: ProxyEvent) => boolean, timeoutMs: number): Promise<ProxyEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      if (this.child.exitCode !== null) throw new Error(`the proxy exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the proxy');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.child.kill('SIGKILL');
        r();
      }, 10_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

async function nftElements(set: string, kind: 'set' | 'map'): Promise<number> {
  const { stdout } = await run('nft', ['-j', 'list', kind, 'ip', 'skiff', set], { maxBuffer: 1 << 30 });
  const doc = JSON.parse(stdout) as { nftables: Array<Record<string, { elem?: unknown[] }>> };
  for (const item of doc.nftables) {
    const s = item[kind];
    if (s) return s.elem?.length ?? 0;
  }
  return 0;
}

async function deleteTables(): Promise<void> {
  await run('sh', ['-c', 'nft list table ip skiff >/dev/null 2>&1 && nft delete table ip skiff; nft list table ip6 skiff >/dev/null 2>&1 && nft delete table ip6 skiff; true']);
}

/** One proxy process up to its first full sync: (a) total and (a) sync, ms. */
async function firstSync(proxy: ProxyProcess): Promise<{ total: number; sync: number; syncedAt: number; applyMs: number }> {
  const synced = await proxy.waitFor((e) => e.ev === 'synced', 600_000);
  const first = await proxy.waitFor((e) => e.ev === 'sync' && e.full === true && e.t >= synced.t, 600_000);
  const apply = await proxy.waitFor((e) => e.ev === 'apply' && e.t >= synced.t, 1_000);
  process.stderr.write(`proxy-sync:   first sync: synced→committed ${first.t - synced.t} ms, of which nft -f ${String(apply.ms)} ms; proxier's sync ${String(first.ms)} ms\n`);
  return { total: first.t - proxy.started, sync: first.t - synced.t, syncedAt: synced.t, applyMs: Number(apply.ms) };
}

async function floorRun(txFile: string): Promise<number> {
  const t0 = performance.now();
  await run('nft', ['-f', txFile], { maxBuffer: 1 << 20 });
  const ms = performance.now() - t0;
  await deleteTables();
  return ms;
}

/**
 * (a) three times, each followed by the floor (a bare `nft -f` of the transaction that run
 * wrote), medians reported; (b) and (c) on the first run.
 */
async function skiffRun(cp: RunningControlPlane, n: number, changes: number, dir: string): Promise<SkiffRow> {
  const totals: number[] = [];
  const syncs: number[] = [];
  const floors: number[] = [];
  const lat: number[] = [];
  let rss = NaN;
  let verifyMs = NaN;
  let readBackMs = NaN;
  let elements = 0;
  let txBytes = 0;
  for (let round = 0; round < 3; round++) {
    const txFile = join(dir, `tx-${n}-${round}.nft`);
    const proxy = new ProxyProcess(cp.adminKubeconfig, txFile);
    try {
      const a = await firstSync(proxy);
      totals.push(a.total);
      syncs.push(a.sync);
      const services = await nftElements('cluster-ips', 'set');
      if (services < n) throw new Error(`only ${services} cluster IPs in the kernel, expected ${n}`);
      if (round === 0) {
        elements = await nftElements('service-endpoints-tcp', 'map');
        // (b) one-endpoint changes, each until the proxy's `nft -f` carrying it has returned
        // (nft waits for the kernel's acknowledgement of the committed transaction).
        await sleep(1100);
        const fresh: string[] = [];
        for (let i = 0; i < changes; i++) {
          const s = (i * 7919 + 13) % n;
          const ips = endpointIPs(s);
          ips[i % 10] = `10.250.${i >> 8}.${i & 255}`;
          fresh.push(ips[i % 10]);
          const t0 = Date.now();
          await cp.api.client.patch(EndpointSlices, 'default', `svc-${s}-abc`, 'merge', { endpoints: sliceOf(s, ips).endpoints });
          const applied = await proxy.waitFor((e) => e.ev === 'apply' && e.t >= t0, 30_000);
          lat.push(applied.t - t0);
          // Past minSyncPeriod (1 s): each change meets an idle runner.
          await sleep(Math.max(0, 1100 - (Date.now() - t0)));
        }
        // Every change is in the kernel.
        if (fresh.length) {
          const { stdout } = await run('nft', ['list', 'map', 'ip', 'skiff', 'service-endpoints-tcp'], { maxBuffer: 1 << 30 });
          const missing = fresh.filter((ip) => !stdout.includes(`: ${ip} . 8080`));
          if (missing.length) throw new Error(`changes missing from the kernel: ${missing.join(', ')}`);
        }
        rss = await peakRssMiB(proxy.child.pid!);
        // What the periodic resync costs now (the same executor call) and what it cost before.
        const exec = new SpawnNftExecutor();
        let t0 = performance.now();
        await exec.listStructure('ip', 'skiff');
        verifyMs = performance.now() - t0;
        t0 = performance.now();
        await exec.listTable('ip', 'skiff');
        readBackMs = performance.now() - t0;
      }
    } finally {
      await proxy.stop();
      await deleteTables();
    }
    txBytes = existsSync(txFile) ? readFileSync(txFile).length : 0;
    floors.push(await floorRun(txFile));
  }
  return {
    n,
    elements,
    txBytes,
    aTotalMs: percentile(totals, 50),
    aSyncMs: percentile(syncs, 50),
    floorMs: percentile(floors, 50),
    bP50Ms: lat.length ? percentile(lat, 50) : NaN,
    bP99Ms: lat.length ? percentile(lat, 99) : NaN,
    changes: lat.length,
    peakRssMiB: rss,
    verifyMs,
    readBackMs,
  };
}

async function startCompanion(dir: string): Promise<RunningControlPlane> {
  return startControlPlane(
    parseControlPlaneConfig([`--state-dir=${dir}`, '--bind-address=127.0.0.1', '--secure-port=0', '--advertise-address=127.0.0.1', '--snapshot-file=', '--service-cluster-ip-range=10.96.0.0/16']),
    { logger: silentLogger(), components: [] },
  );
}

/** Runs inside the benchmark's network namespace. */
async function inner(opts: Options): Promise<Results> {
  await run('ip', ['link', 'set', 'lo', 'up']);
  await run('ip', ['route', 'add', 'blackhole', '10.0.0.0/8']);
  const kindPick = await selectIptablesBackend();
  const skiff: SkiffRow[] = [];
  const peer: PeerResult[] = [];
  let peerError: string | undefined;
  const kubeProxy = join(referenceBinDir(), 'kube-proxy');
  const sizes = [...new Set([...opts.sizes, ...opts.peerSizes])].sort((a, b) => a - b);
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), `skiff-bench-proxy-${n}-`));
    const cp = await startCompanion(dir);
    try {
      const withPeer = opts.peerSizes.includes(n);
      const populateMs = await populate(cp.api.client, n, withPeer);
      process.stderr.write(`proxy-sync: N=${n}: ${n} Services and slices created in ${(populateMs / 1000).toFixed(1)} s\n`);
      const changes = opts.sizes.includes(n) ? opts.changes : 0;
      const row = await skiffRun(cp, n, changes, dir);
      skiff.push(row);
      process.stderr.write(`proxy-sync: N=${n}: skiff ${JSON.stringify(row)}\n`);
      if (withPeer) {
        if (!existsSync(kubeProxy)) peerError = `kube-proxy not built in ${referenceBinDir()} (test/reference/build-kubernetes.sh)`;
        else {
          for (const kind of opts.peerBackends) {
            try {
              const r = await runKubeProxy({ binary: kubeProxy, kubeconfig: cp.adminKubeconfig, services: n, dir, kind, timeoutMs: opts.peerTimeoutMs });
              peer.push(r);
              process.stderr.write(`proxy-sync: N=${n}: kube-proxy ${JSON.stringify(r)}\n`);
            } catch (err) {
              peerError = `kube-proxy (${kind}) at ${n}: ${err instanceof Error ? err.message : String(err)}`;
              process.stderr.write(`proxy-sync: ${peerError}\n`);
            }
          }
        }
      }
    } finally {
      await cp.stop();
      if (process.env.SKIFF_BENCH_KEEP) process.stderr.write(`proxy-sync: kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
  return { date: '', machine: '', commit: '', load: '', skiff, peer, kindPick, ...(peerError ? { peerError } : {}) };
}

// ---- reporting ----------------------------------------------------------------------------

const k = (n: number): string => (n % 1000 === 0 ? `${n / 1000}k` : String(n));
const s2 = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '–');
const ms0 = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms)}` : '–');

/** The Markdown tables of a run. */
export function table(r: Results): string {
  const out: string[] = [];
  out.push('| Services × 10 endpoints | elements (endpoint map) | (a) sync: listed → in kernel | (a) total: process start → in kernel | floor: bare `nft -f` | (a) sync / floor | (b) p50 | (b) p99 | (c) peak RSS | periodic check / full read-back |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of r.skiff) {
    const b = row.changes ? [`${ms0(row.bP50Ms)} ms`, `${ms0(row.bP99Ms)} ms`] : ['–', '–'];
    out.push(
      `| ${k(row.n)} | ${row.elements} | ${s2(row.aSyncMs)} s | ${s2(row.aTotalMs)} s | ${s2(row.floorMs)} s | ${(row.aSyncMs / row.floorMs).toFixed(2)}× | ${b[0]} | ${b[1]} | ${Math.round(row.peakRssMiB)} MiB | ${ms0(row.verifyMs)} ms / ${ms0(row.readBackMs)} ms |`,
    );
  }
  if (r.peer.length || r.peerError) {
    out.push('');
    out.push('| Services × 10 endpoints | kube-proxy 1.20.2, iptables mode, backend | first sync (its metric) | start → rules in | iptables rules | peak RSS | Skiff (a) sync | kube-proxy sync / Skiff sync | start → in kernel, kube-proxy / Skiff |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const p of r.peer) {
      const sk = r.skiff.find((x) => x.n === p.n);
      const gt = p.timedOut ? '> ' : '';
      // Timed out before its first sync finished: the sync lasted at least as long as the wait.
      const sync = Number.isFinite(p.syncMs) ? p.syncMs : p.timedOut ? p.rulesMs : NaN;
      const syncGt = Number.isFinite(p.syncMs) ? '' : gt;
      out.push(
        `| ${k(p.n)} | ${p.iptables} | ${syncGt}${s2(sync)} s | ${gt}${s2(p.rulesMs)} s | ${p.timedOut ? '–' : p.iptablesLines} | ${Math.round(p.peakRssMiB)} MiB | ${sk ? `${s2(sk.aSyncMs)} s` : '–'} | ${sk ? `${syncGt}${(sync / sk.aSyncMs).toFixed(1)}×` : '–'} | ${sk ? `${gt}${(p.rulesMs / sk.aTotalMs).toFixed(1)}×` : '–'} |`,
      );
    }
    if (r.peerError) out.push('', `kube-proxy: ${r.peerError}`);
  }
  return out.join('\n') + '\n';
}

function machine(): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let os = 'Linux';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    /* ignore */
  }
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    /* ignore */
  }
  return `${os}, kernel ${kernel}, ${cpus().length} vCPU (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

async function commit(): Promise<string> {
  try {
    const { stdout } = await run('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
    const dirty = (await run('git', ['-C', repo, 'status', '--porcelain', '--', 'agent/proxy', 'bench'])).stdout.trim() ? ' + uncommitted proxy changes' : '';
    return `${stdout.trim()}${dirty}`;
  } catch {
    return 'unknown';
  }
}

/** Replaces (or appends) the proxy-sync section of bench/RESULTS.md, keeping the others. */
function record(r: Results, opts: Options): void {
  const file = join(repo, 'bench', 'RESULTS.md');
  const head = '## bench/proxy-sync — Service proxy sync at scale';
  const body = [
    head,
    '',
    '`sudo bench/proxy-sync` (add `--json` for machine-readable output): one network namespace (only `lo`, a blackhole route for',
    '10.0.0.0/8), the companion apiserver on 127.0.0.1 in it, N selectorless Services with one EndpointSlice of 10 ready endpoints',
    'each (endpoints spread over 100 other nodes). Skiff\'s proxy runs as its own process, with the V8 flags `skiff agent`',
    'runs with (`cli/agent-node-flags`), nftables mode, default minSyncPeriod 1 s. (a) sync: the proxy\'s informers have',
    'listed every object → its transaction is committed (the elements of each list page are computed while the next page',
    'is on its way, so this is the diff, the render and `nft -f`); (a) total: the proxy process starts (API objects already',
    'there) → committed, which adds Node start-up and listing 2N objects over HTTPS; medians of 3 proxy starts. Floor: a bare `nft -f` of exactly the',
    'transaction Skiff wrote, right after each of those starts, into the same emptied namespace (median of the 3). (b): one',
    'endpoint replaced through the API → the proxy\'s `nft -f` carrying it has returned (the kernel acknowledged the commit;',
    'all changes are checked in the kernel afterwards), one change every 1.1 s, on the first start,',
    `${opts.changes} changes. (c): the proxy process's VmHWM (first start). kube-proxy 1.20.2 (iptables mode,`,
    'EndpointSliceProxying=false since the companion serves no discovery.k8s.io/v1beta1) ran right after Skiff at the same N',
    `against the same apiserver, once per iptables backend: iptables-legacy (what kind's select_iptables picks in an empty`,
    `namespace: here ${r.kindPick ?? '?'}) and iptables-nft (what the plain \`iptables\` command is on this Debian host).`,
    'Its first sync comes from its own `kubeproxy_sync_proxy_rules_duration_seconds`; "start → rules in" is until iptables-save',
    'shows a KUBE-SVC chain per Service. "> x" means it had not finished after x (the run was stopped there).',
    'Periodic check: what the 30 s resync now reads (`nft -j list chains` + `nft -j -t list sets|maps`, with handles); full',
    'read-back: `nft -j list table` + parse, what every resync cost before (now only at start, after an error, and on every',
    '10th resync).',
    '',
    `**${r.date}, commit ${r.commit}**, ${r.machine}; load average at start ${r.load}.`,
    '',
    table(r),
    'Targets (issue 4): (a) at 10k ≤ 1.3× the floor; (b) at 10k p50 ≤ 100 ms, p99 ≤ 250 ms; (a) at 5k ≥ 20× faster than',
    'kube-proxy 1.20\'s sync. MACHINE.md\'s calibration (another run): kube-proxy 1.20 took 2.4–2.7 s at 1k and 35–72 s at 5k.',
    '',
  ].join('\n');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const start = text.indexOf(head);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + head.length);
    text = text.slice(0, start) + body + (next >= 0 ? text.slice(next + 1) : '');
  } else {
    text = `${text.replace(/\n*$/, '\n\n')}${body}`;
  }
  writeFileSync(file, text);
}

async function main(argv: string[]): Promise<number> {
  const opts: Options = {
    sizes: argList(argv, '--sizes', [1000, 10000, 30000]),
    changes: argv.includes('--changes') ? Number(argv[argv.indexOf('--changes') + 1]) || 0 : 50,
    peerSizes: argv.includes('--no-peer') ? [] : argList(argv, '--peer-sizes', [1000, 5000]),
    peerBackends: argv.includes('--peer-backends') ? (argv[argv.indexOf('--peer-backends') + 1].split(',') as IptablesKind[]) : ['legacy', 'nft'],
    peerTimeoutMs: argv.includes('--peer-timeout') ? Number(argv[argv.indexOf('--peer-timeout') + 1]) * 1000 : 600_000,
  };
  if (argv.includes('--inner')) {
    const r = await inner(opts);
    writeFileSync(argv[argv.indexOf('--out') + 1], JSON.stringify(r));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/proxy-sync: needs root (network namespaces, nftables)\n');
    return 1;
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  let ns: TestNetns | undefined;
  const outFile = join(mkdtempSync(join(tmpdir(), 'skiff-bench-')), 'result.json');
  // Interrupted: delete the namespace (and everything in it) before going.
  const onSignal = (): void => {
    void (ns?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    ns = await createNetns({ prefix: 'skiff-b' });
    const args = [
      fileURLToPath(import.meta.url), '--inner', '--out', outFile, '--sizes', opts.sizes.join(','), '--changes', String(opts.changes),
      '--peer-sizes', opts.peerSizes.join(',') || '0', '--peer-backends', opts.peerBackends.join(','), '--peer-timeout', String(opts.peerTimeoutMs / 1000),
    ];
    const child = ns.spawn(process.execPath, ['--enable-source-maps', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`the benchmark failed (exit ${code})`);
    const r = JSON.parse(readFileSync(outFile, 'utf8')) as Results;
    r.date = new Date().toISOString().slice(0, 10);
    r.machine = machine();
    r.commit = await commit();
    r.load = load;
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(table(r));
    if (!argv.includes('--no-record')) record(r, opts);
    return 0;
  } finally {
    // Deleting the namespace takes every table and chain in it along, whatever happened.
    await ns?.destroy();
    rmSync(dirname(outFile), { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (c) => (process.exitCode = c),
  (err: unknown) => {
    process.stderr.write(`bench/proxy-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
