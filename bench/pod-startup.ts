/**
 * bench/pod-startup: creates N pods (default 30) bound to one Skiff node and measures
 * create→Ready for every pod and for all of them, then delete→gone, plus the agent's peak RSS.
 * The node is a real `skiff up` (containerd, companion control plane, agent) inside a
 * throwaway network namespace. Pods are created in parallel through the API, as kubelet's
 * density tests do; times come from one watch, so each pod's latency is the time from our
 * create request to the first watch event that shows it Ready.
 *
 * Usage: bench/pod-startup [--pods 30] [--json]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig, Pods, RestClient, type WatchEvent } from '../lib/kube/index.js';
import { startUpCluster, upClusterSkipReason } from '../test/support/up-cluster.js';
import { peakRssMiB, percentile, secs } from './stats.js';

interface Result {
  pods: number;
  allReadyMs: number;
  p50Ms: number;
  p99Ms: number;
  allGoneMs: number;
  agentPeakRssMiB: number;
}

function podSpec(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${i}`, namespace: 'default', labels: { bench: 'pod-startup' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'docker.io/library/busybox:1.29', command: ['sleep', '3600'] }],
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function measure(client: RestClient, n: number, agentPid: () => number | undefined): Promise<Result> {
  const ac = new AbortController();
  const start = await client.list<Pod>(Pods, { namespace: 'default', labelSelector: 'bench=pod-startup' });
  const watch = await client.watch<Pod>(Pods, { namespace: 'default', labelSelector: 'bench=pod-startup', resourceVersion: start.metadata.resourceVersion, signal: ac.signal });
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const gone = new Map<string, number>();
  let wantGone = false;
  let resolveReady!: () => void;
  let resolveGone!: () => void;
  const allReady = new Promise<void>((r) => (resolveReady = r));
  const allGone = new Promise<void>((r) => (resolveGone = r));
  const reader = (async () => {
    for await (const ev of watch as AsyncIterable<WatchEvent<Pod>>) {
      const name = ev.object.metadata?.name ?? '';
      if (ev.type === 'DELETED') {
        gone.set(name, performance.now());
        if (wantGone && gone.size === n) resolveGone();
      } else if (!ready.has(name) && isReady(ev.object)) {
        ready.set(name, performance.now());
        if (ready.size === n) resolveReady();
      }
    }
  })().catch(() => undefined);

  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      created.set(`bench-${i}`, performance.now());
      await client.create(Pods, podSpec(i));
    }),
  );
  await Promise.race([allReady, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${ready.size}/${n} pods Ready after 180 s`)), 180_000))]);
  const allReadyMs = Math.max(...ready.values()) - t0;
  const perPod = [...ready].map(([name, t]) => t - (created.get(name) ?? t0));
  const pid = agentPid();
  const rss = pid ? await peakRssMiB(pid) : NaN;

  wantGone = true;
  const d0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => client.delete(Pods, 'default', `bench-${i}`)));
  await Promise.race([allGone, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${gone.size}/${n} pods gone after 180 s`)), 180_000))]);
  const allGoneMs = Math.max(...gone.values()) - d0;
  ac.abort();
  watch.close();
  await reader;
  return { pods: n, allReadyMs, p50Ms: percentile(perPod, 50), p99Ms: percentile(perPod, 99), allGoneMs, agentPeakRssMiB: rss };
}

/** Inside the node's network namespace: measure against the apiserver and print JSON. */
async function inner(argv: string[]): Promise<number> {
  const kubeconfig = argv[argv.indexOf('--kubeconfig') + 1];
  const recordFile = argv[argv.indexOf('--record') + 1];
  const n = Number(argv[argv.indexOf('--pods') + 1] || 30) || 30;
  const { readFileSync } = await import('node:fs');
  const agentPid = (): number | undefined => (JSON.parse(readFileSync(recordFile, 'utf8')) as { pids: { agent?: number } }).pids.agent;
  // No client-side rate limit: the benchmark measures the node, not the client.
  const client = new RestClient({ credentials: loadKubeconfig(kubeconfig), qps: 0 });
  try {
    process.stdout.write(JSON.stringify(await measure(client, n, agentPid)) + '\n');
    return 0;
  } finally {
    await client.close();
  }
}

function table(r: Result): string {
  return [
    `bench/pod-startup: ${r.pods} busybox pods on one Skiff node (${new Date().toISOString()})`,
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

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--inner')) return inner(argv);
  const n = Number(argv[argv.indexOf('--pods') + 1] || 30) || 30;
  const json = argv.includes('--json');
  const skip = upClusterSkipReason();
  if (skip) {
    process.stderr.write(`bench/pod-startup: cannot run: ${skip}\n`);
    return 1;
  }
  const cluster = await startUpCluster({ nodeName: 'bench-node' });
  let code = 0;
  try {
    const rec = cluster.record();
    const out = await cluster.exec(process.execPath, [fileURLToPath(import.meta.url), '--inner', '--pods', String(n), '--kubeconfig', rec.adminKubeconfig, '--record', join(cluster.stateDir, 'up.json')], { timeoutMs: 600_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Result;
    process.stdout.write(json ? JSON.stringify(r) + '\n' : table(r));
  } catch (err) {
    process.stderr.write(`bench/pod-startup: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    const left = await cluster.down();
    if (left.length) process.stderr.write(`bench/pod-startup: left behind: ${left.join('; ')}\n`);
  }
  return code;
}

main(process.argv.slice(2)).then((c) => (process.exitCode = c));
