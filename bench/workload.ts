/**
 * The pod-startup workload, run from inside the node's network namespace (the apiserver of
 * the benchmark listens only there): N busybox pods (`sleep 3600`) pinned to one node by
 * `spec.nodeName`, created in parallel through the API, as kubelet's density tests do; then
 * all of them deleted in parallel. One watch, opened before the first create, timestamps each
 * pod's first Ready and each DELETED event, so a pod's latency is the time from our create
 * request to the first watch event that shows it Ready.
 *
 * ```
 * list (rv) ─→ watch from rv ─→ N× POST ─→ … all Ready ─→ N× DELETE ─→ … all DELETED
 *              t0 = before the first POST      d0 = before the first DELETE
 * ```
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig, Pods, RestClient, type WatchEvent } from '../lib/kube/index.js';
import { percentile } from './stats.js';

/** The busybox image the offline image builder imports (never pulled: tag is not `latest`). */
export const BENCH_IMAGE = 'docker.io/library/busybox:1.29';
/** Label on every pod of the workload. */
export const BENCH_LABEL = 'bench=pod-startup';

/** What the workload measured. */
export interface WorkloadResult {
  pods: number;
  /** From before the first create to the last pod's first Ready event. */
  allReadyMs: number;
  /** Per pod: its create request to its first Ready event. */
  p50Ms: number;
  p99Ms: number;
  /** From before the first delete to the last DELETED event. */
  allGoneMs: number;
}

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  client: RestClient;
  pods: number;
  /** `spec.nodeName` of every pod. */
  nodeName: string;
  /** `terminationGracePeriodSeconds` of every pod. */
  graceSeconds: number;
  /** Name prefix (`bench-` for the measured round, `warmup-` for the warm-up). */
  prefix?: string;
  /** Limit of each phase (Ready, gone); default 300 s. */
  phaseTimeoutMs?: number;
}

/** The pod of the workload. */
export function podSpec(name: string, nodeName: string, graceSeconds: number): Pod {
  const [k, v] = BENCH_LABEL.split('=');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { [k]: v } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: graceSeconds,
      containers: [{ name: 'c', image: BENCH_IMAGE, command: ['sleep', '3600'] }],
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(what())), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Creates the pods, waits for all Ready, deletes them and waits for all gone. */
export async function runWorkload(o: WorkloadOptions): Promise<WorkloadResult> {
  const { client, pods: n } = o;
  const prefix = o.prefix ?? 'bench-';
  const limitMs = o.phaseTimeoutMs ?? 300_000;
  const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const mine = new Set(names);
  const ac = new AbortController();
  const start = await client.list<Pod>(Pods, { namespace: 'default', labelSelector: BENCH_LABEL });
  const watch = await client.watch<Pod>(Pods, { namespace: 'default', labelSelector: BENCH_LABEL, resourceVersion: start.metadata.resourceVersion, signal: ac.signal });
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const gone = new Map<string, number>();
  let resolveReady!: () => void;
  let resolveGone!: () => void;
  const allReady = new Promise<void>((r) => (resolveReady = r));
  const allGone = new Promise<void>((r) => (resolveGone = r));
  const reader = (async () => {
    for await (const ev of watch as AsyncIterable<WatchEvent<Pod>>) {
      const name = ev.object.metadata?.name ?? '';
      if (!mine.has(name)) continue;
      if (ev.type === 'DELETED') {
        gone.set(name, performance.now());
        if (gone.size === n) resolveGone();
      } else if (!ready.has(name) && isReady(ev.object)) {
        ready.set(name, performance.now());
        if (ready.size === n) resolveReady();
      }
    }
  })().catch(() => undefined);

  try {
    const t0 = performance.now();
    await Promise.all(
      names.map(async (name) => {
        created.set(name, performance.now());
        await client.create(Pods, podSpec(name, o.nodeName, o.graceSeconds));
      }),
    );
    await within(allReady, limitMs, () => `only ${ready.size}/${n} pods Ready on ${o.nodeName} after ${limitMs / 1000} s`);
    const allReadyMs = Math.max(...ready.values()) - t0;
    const perPod = [...ready].map(([name, t]) => t - (created.get(name) ?? t0));

    const d0 = performance.now();
    await Promise.all(names.map((name) => client.delete(Pods, 'default', name)));
    await within(allGone, limitMs, () => `only ${gone.size}/${n} pods gone from ${o.nodeName} after ${limitMs / 1000} s`);
    const allGoneMs = Math.max(...gone.values()) - d0;
    return { pods: n, allReadyMs, p50Ms: percentile(perPod, 50), p99Ms: percentile(perPod, 99), allGoneMs };
  } finally {
    ac.abort();
    watch.close();
    await reader;
  }
}

/**
 * The `--inner` entry point (inside the network namespace): runs the workload against the
 * apiserver of `--kubeconfig` and prints one JSON {@link WorkloadResult} line.
 */
export async function innerMain(argv: string[]): Promise<number> {
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
  };
  // No client-side rate limit: the benchmark measures the node, not the client.
  const client = new RestClient({ credentials: loadKubeconfig(arg('--kubeconfig', '')), qps: 0 });
  try {
    const r = await runWorkload({
      client,
      pods: Number(arg('--pods', '30')),
      nodeName: arg('--node', ''),
      graceSeconds: Number(arg('--grace', '1')),
      prefix: arg('--prefix', 'bench-'),
    });
    process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  } finally {
    await client.close();
  }
}
