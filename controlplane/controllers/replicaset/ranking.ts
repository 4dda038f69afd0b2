/**
 * Which pods a ReplicaSet deletes first when it scales down (kube's `getPodsToDelete` and
 * `ActivePodsWithRanks.Less`, with the `PodDeletionCost` and `LogarithmicScaleDown` features
 * on, as they are by default in 1.32).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodActive, isPodReady, podReadyTime } from '../common/pods.js';
import { parseTime } from '../common/time.js';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

interface Ranked {
  pod: Pod;
  /** Number of related active pods on the same node. */
  rank: number;
}

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[DELETION_COST];
  if (v === undefined || !/^[-+]?\d+$/.test(v)) return 0;
  return Number(v);
}

function maxRestarts(pod: Pod): number {
  let m = 0;
  for (const c of pod.status?.containerStatuses ?? []) m = Math.max(m, c.restartCount ?? 0);
  return m;
}

/** `logarithmicRankDiff`: compares the base-2 logarithm of each age (in ns) at `now`. */
function logRankDiff(t1: number, t2: number, now: number): number {
  const r = (t: number): number => {
    const d = (now - t) * 1e6;
    return d <= 0 ? -1 : Math.floor(Math.log2(d));
  };
  return r(t1) - r(t2);
}

/** `afterOrZero`: an absent time sorts first, then later times before earlier ones. */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

function compareTimes(p1: Pod, p2: Pod, t1: number | undefined, t2: number | undefined, now: number): number {
  if (t1 === undefined || t2 === undefined) return afterOrZero(t1, t2) ? -1 : 1;
  const d = logRankDiff(t1, t2, now);
  if (d === 0) return (p1.metadata?.uid ?? '') < (p2.metadata?.uid ?? '') ? -1 : (p1.metadata?.uid ?? '') > (p2.metadata?.uid ?? '') ? 1 : 0;
  return d < 0 ? -1 : 1;
}

/** Negative when `a` should be deleted before `b`. */
function compare(a: Ranked, b: Ranked, now: number): number {
  const p1 = a.pod;
  const p2 = b.pod;
  const n1 = p1.spec?.nodeName ?? '';
  const n2 = p2.spec?.nodeName ?? '';
  // 1. Unassigned < assigned.
  if (n1 !== n2 && (n1 === '' || n2 === '')) return n1 === '' ? -1 : 1;
  // 2. Pending < Unknown < Running.
  const o1 = PHASE_ORDINAL[p1.status?.phase ?? 'Pending'] ?? 0;
  const o2 = PHASE_ORDINAL[p2.status?.phase ?? 'Pending'] ?? 0;
  if (o1 !== o2) return o1 - o2;
  // 3. Not ready < ready.
  const r1 = isPodReady(p1);
  const r2 = isPodReady(p2);
  if (r1 !== r2) return r1 ? 1 : -1;
  // 4. Lower pod-deletion-cost < higher.
  const c1 = deletionCost(p1);
  const c2 = deletionCost(p2);
  if (c1 !== c2) return c1 - c2;
  // 5. Doubled up (more related pods on the node) < not doubled up.
  if (a.rank !== b.rank) return b.rank - a.rank;
  // 6. Ready for less time < ready for more time.
  if (r1 && r2) {
    const t1 = podReadyTime(p1);
    const t2 = podReadyTime(p2);
    if (t1 !== t2) {
      const c = compareTimes(p1, p2, t1, t2, now);
      if (c !== 0) return c;
    }
  }
  // 7. More container restarts < fewer.
  const m1 = maxRestarts(p1);
  const m2 = maxRestarts(p2);
  if (m1 !== m2) return m2 - m1;
  // 8. Newer < older.
  const t1 = parseTime(p1.metadata?.creationTimestamp);
  const t2 = parseTime(p2.metadata?.creationTimestamp);
  if (t1 !== t2) {
    const c = compareTimes(p1, p2, t1, t2, now);
    if (c !== 0) return c;
  }
  // Deterministic tie-break (kube leaves the order to sort.Sort).
  return (p1.metadata?.name ?? '') < (p2.metadata?.name ?? '') ? -1 : (p1.metadata?.name ?? '') > (p2.metadata?.name ?? '') ? 1 : 0;
}

/**
 * The `diff` pods to delete from `pods`. `related` are the active pods of every ReplicaSet
 * owned by the same controller (for the "doubled up on a node" rank).
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], diff: number, now: number): Pod[] {
  if (diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: Ranked[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => compare(a, b, now));
  return ranked.slice(0, diff).map((r) => r.pod);
}
