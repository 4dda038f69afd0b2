/**
 * bench/pod-startup: N busybox pods (default 30) create→Ready and delete→gone on one node,
 * and the node agent's peak RSS.
 *
 * Two modes:
 * - **side by side** (the default when the reference binaries are built): the real kubelet
 *   1.20.2 and Skiff, one after the other, on one real control plane and one containerd in a
 *   throwaway network namespace; prints both results and the Skiff/kubelet ratios against
 *   issue 3's targets. See `side-by-side.ts`.
 * - **Skiff only** (`--skiff-only`, or when the reference binaries are missing): a real
 *   `skiff up` (containerd, companion control plane, agent) in a throwaway network namespace.
 *
 * The workload itself (`workload.ts`) runs inside the namespace, as `--inner`.
 *
 * Usage: bench/pod-startup [--skiff-only] [--pods 30] [--rounds 1]
 *          [--first kubelet|skiff] [--warmup 1] [--grace 1] [--no-skiff-proxy]
 *          [--skiff-node-flags "--a --b"] [--kubelet-flag F]… [--skiff-flag F]… [--keep-state] [--json]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { startUpCluster, upClusterSkipReason } from '../test/support/up-cluster.js';
import { realControlPlaneSkipReason, referenceBinDir } from '../test/support/realcluster.js';
import { agentNodeFlags } from '../cli/node-flags.js';
import { innerMain, type WorkloadResult } from './workload.js';
import { runSideBySide, type AgentName, type AgentRun, type SideBySideResult } from './side-by-side.js';
import { median, peakRssMiB, secs } from './stats.js';

/** Issue 3's targets: Skiff/kubelet ratios. */
const TARGETS = { ready: 0.35, gone: 0.35, rss: 1 } as const;

interface Args {
  pods: number;
  json: boolean;
  skiffOnly: boolean;
  rounds: number;
  first: AgentName;
  warmup: number;
  grace: number;
  skiffProxy: boolean;
  skiffNodeFlags?: string[];
  kubeletFlags: string[];
  skiffFlags: string[];
  keepState: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const all = (name: string): string[] => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]] : []));
  const num = (name: string, dflt: number): number => {
    const v = value(name);
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${v}`);
    return n;
  };
  const first = value('--first') ?? 'kubelet';
  if (first !== 'kubelet' && first !== 'skiff') throw new Error(`--first: kubelet or skiff, not ${first}`);
  const nodeFlags = value('--skiff-node-flags');
  return {
    pods: num('--pods', 30) || 30,
    json: argv.includes('--json'),
    skiffOnly: argv.includes('--skiff-only'),
    rounds: Math.max(1, num('--rounds', 1)),
    first,
    warmup: num('--warmup', 1),
    grace: num('--grace', 1),
    skiffProxy: !argv.includes('--no-skiff-proxy'),
    skiffNodeFlags: nodeFlags === undefined ? undefined : nodeFlags.split(/\s+/).filter(Boolean),
    kubeletFlags: all('--kubelet-flag'),
    skiffFlags: all('--skiff-flag'),
    keepState: argv.includes('--keep-state'),
  };
}

const progress = (msg: string): void => {
  process.stderr.write(`bench/pod-startup: ${msg}\n`);
};

/** Date, host, CPU, memory, load and commit: the header every result carries. */
function machineLine(): string {
  let commit = '';
  try {
    const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    if (dirty) commit += ' (+ uncommitted changes)';
  } catch {
    /* not a git checkout */
  }
  const c = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${new Date().toISOString()} on ${hostname()}: ${c.length}× ${c[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load ${load}; commit ${commit || 'unknown'}`;
}

// ---------------------------------------------------------------------------------------
// Skiff only (skiff up + companion control plane)
// ---------------------------------------------------------------------------------------

interface SkiffOnlyResult extends WorkloadResult {
  agentPeakRssMiB: number;
}

async function skiffOnly(a: Args): Promise<number> {
  const skip = upClusterSkipReason();
  if (skip) {
    progress(`cannot run: ${skip}`);
    return 1;
  }
  const header = machineLine();
  const nodeName = 'bench-node';
  const cluster = await startUpCluster({ nodeName });
  let code = 0;
  try {
    const rec = cluster.record();
    const inner = (pods: number, prefix: string): Promise<string> =>
      cluster.exec(process.execPath, [fileURLToPath(import.meta.url), '--inner', '--kubeconfig', rec.adminKubeconfig, '--pods', String(pods), '--node', nodeName, '--grace', String(a.grace), '--prefix', prefix], { timeoutMs: 900_000 });
    if (a.warmup > 0) await inner(a.warmup, 'warmup-');
    const out = await inner(a.pods, 'bench-');
    const w = JSON.parse(out.trim().split('\n').pop()!) as WorkloadResult;
    const pid = (JSON.parse(readFileSync(join(cluster.stateDir, 'up.json'), 'utf8')) as { pids: { agent?: number } }).pids.agent;
    const r: SkiffOnlyResult = { ...w, agentPeakRssMiB: pid ? await peakRssMiB(pid) : NaN };
    process.stdout.write(a.json ? JSON.stringify({ mode: 'skiff-only', header, ...r }) + '\n' : skiffOnlyTable(r, header, a));
  } catch (err) {
    progress((err as Error).message);
    code = 1;
  } finally {
    const left = await cluster.down();
    if (left.length) progress(`left behind: ${left.join('; ')}`);
  }
  return code;
}

function skiffOnlyTable(r: SkiffOnlyResult, header: string, a: Args): string {
  return [
    `bench/pod-startup --skiff-only: ${r.pods} busybox pods on one Skiff node (skiff up, companion control plane)`,
    header,
    `warm-up: ${a.warmup} pod(s); terminationGracePeriodSeconds ${a.grace}`,
    '',
    '| measure | Skiff |',
    '|---|---|',
    `| time to all ${r.pods} Ready | ${secs(r.allReadyMs)} s |`,
    `| per-pod create→Ready p50 | ${secs(r.p50Ms)} s |`,
    `| per-pod create→Ready p99 | ${secs(r.p99Ms)} s |`,
    `| time to all ${r.pods} gone after delete | ${secs(r.allGoneMs)} s |`,
    `| agent peak RSS | ${r.agentPeakRssMiB.toFixed(0)} MiB |`,
    '',
    `target (issue 2): all ${r.pods} Ready in ≤ 8 s → ${r.allReadyMs <= 8000 ? 'met' : 'NOT met'}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// Side by side (real kubelet 1.20.2 vs Skiff)
// ---------------------------------------------------------------------------------------

const verdict = (ratio: number, target: number): string => (Number.isFinite(ratio) ? (ratio <= target ? 'met' : 'NOT met') : 'n/a');

function sideBySideTable(res: SideBySideResult, header: string, a: Args): string {
  const n = a.pods;
  const by = (agent: AgentName): AgentRun[] => res.runs.filter((r) => r.agent === agent);
  const k = by('kubelet');
  const s = by('skiff');
  const med = (rs: AgentRun[], f: (r: AgentRun) => number): number => median(rs.map(f));
  const lines = [
    `bench/pod-startup: ${n} busybox pods, real kubelet ${res.kubernetesVersion} vs Skiff, on one control plane (kube-apiserver ${res.kubernetesVersion}) and one containerd (${res.containerdVersion})`,
    header,
    `order: ${a.rounds > 1 ? `${a.rounds} rounds, alternating, ${a.first} first in round 1` : `${a.first} first`}; warm-up: ${a.warmup} pod(s) per agent; terminationGracePeriodSeconds ${a.grace}; ` +
      `Skiff's proxy ${a.skiffProxy ? 'on (system:kube-proxy)' : 'off (--disable-proxy)'}; Skiff node flags: ${(a.skiffNodeFlags ?? agentNodeFlags()).join(' ') || '(none)'}` +
      (a.kubeletFlags.length ? `; kubelet flags: ${a.kubeletFlags.join(' ')}` : ''),
    '',
    '| round | agent | node Ready after start | all Ready | per-pod p50 | per-pod p99 | all gone | peak RSS (VmHWM) | RSS at end | agent CPU | containerd CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...res.runs.map(
      (r) =>
        `| ${r.round} | ${r.agent === 'kubelet' ? `kubelet ${res.kubernetesVersion}` : 'Skiff'} | ${secs(r.nodeReadyMs)} s | ${secs(r.allReadyMs)} s | ${secs(r.p50Ms)} s | ${secs(r.p99Ms)} s | ${secs(r.allGoneMs)} s | ` +
        `${r.peakRssMiB.toFixed(0)} MiB | ${r.endRssMiB.toFixed(0)} MiB | ${r.cpuSeconds.toFixed(1)} s | ${r.containerdCpuSeconds.toFixed(1)} s |`,
    ),
    '',
  ];
  const ratio = (f: (r: AgentRun) => number): number => med(s, f) / med(k, f);
  const rows: [string, (r: AgentRun) => number, number | undefined, (v: number) => string][] = [
    [`time to all ${n} Ready`, (r) => r.allReadyMs, TARGETS.ready, (v) => `${secs(v)} s`],
    ['per-pod create→Ready p50', (r) => r.p50Ms, undefined, (v) => `${secs(v)} s`],
    [`time to all ${n} gone after delete`, (r) => r.allGoneMs, TARGETS.gone, (v) => `${secs(v)} s`],
    ['agent peak RSS (VmHWM)', (r) => r.peakRssMiB, TARGETS.rss, (v) => `${v.toFixed(0)} MiB`],
    ['agent CPU during the workload', (r) => r.cpuSeconds, undefined, (v) => `${v.toFixed(1)} s`],
  ];
  lines.push(
    `${a.rounds > 1 ? `Medians over ${a.rounds} rounds` : 'Result'}; ratio = Skiff / kubelet, measured in this run:`,
    '',
    '| measure | kubelet | Skiff | Skiff/kubelet | target | |',
    '|---|---|---|---|---|---|',
    ...rows.map(([name, f, target, fmt]) => {
      const q = ratio(f);
      return `| ${name} | ${fmt(med(k, f))} | ${fmt(med(s, f))} | ${q.toFixed(2)} | ${target === undefined ? '–' : `≤ ${target}`} | ${target === undefined ? '' : verdict(q, target)} |`;
    }),
    '',
    "Peak RSS: kubelet's is the kubelet process alone (kube-proxy is a separate process, not counted); " +
      `Skiff's is the whole agent${a.skiffProxy ? ', Service proxy included' : ' (proxy disabled)'}.`,
    '',
  );
  if (res.leftovers.length) lines.push(`cleanup problems: ${res.leftovers.join('; ')}`, '');
  return lines.join('\n');
}

async function sideBySide(a: Args, binDir: string): Promise<number> {
  const header = machineLine();
  const res = await runSideBySide({
    binDir,
    pods: a.pods,
    graceSeconds: a.grace,
    rounds: a.rounds,
    first: a.first,
    warmupPods: a.warmup,
    skiffProxy: a.skiffProxy,
    skiffNodeFlags: a.skiffNodeFlags,
    kubeletFlags: a.kubeletFlags,
    skiffFlags: a.skiffFlags,
    keepState: a.keepState,
    progress,
  });
  if (a.json) {
    const k = res.runs.filter((r) => r.agent === 'kubelet');
    const s = res.runs.filter((r) => r.agent === 'skiff');
    const ratio = (f: (r: AgentRun) => number): number => median(s.map(f)) / median(k.map(f));
    const ratios = { allReady: ratio((r) => r.allReadyMs), allGone: ratio((r) => r.allGoneMs), peakRss: ratio((r) => r.peakRssMiB) };
    process.stdout.write(JSON.stringify({ mode: 'side-by-side', header, ...res, ratios, targets: TARGETS }) + '\n');
  } else {
    process.stdout.write(sideBySideTable(res, header, a));
  }
  return res.leftovers.length ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--inner')) return innerMain(argv);
  const a = parseArgs(argv);
  if (process.getuid?.() !== 0) {
    progress('needs root (network namespaces, containerd, cgroups)');
    return 1;
  }
  if (a.skiffOnly) return skiffOnly(a);
  const binDir = referenceBinDir();
  const why = realControlPlaneSkipReason(binDir) ?? (existsSync(join(binDir, 'kubelet')) ? undefined : `kubelet not built in ${binDir}`);
  if (why) {
    progress(`the side-by-side run needs the reference Kubernetes build: ${why}`);
    progress('running Skiff only (the bench/pod-startup wrapper builds the reference when missing: test/reference/build-kubernetes.sh, about 12 min)');
    return skiffOnly(a);
  }
  return sideBySide(a, binDir);
}

main(process.argv.slice(2)).then(
  (c) => (process.exitCode = c),
  (err: unknown) => {
    progress((err as Error).stack ?? String(err));
    process.exitCode = 1;
  },
);
