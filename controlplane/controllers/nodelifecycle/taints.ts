/**
 * The taints the node lifecycle controller owns (kube's `TaintNodesByCondition` and
 * `doNoExecuteTaintingPass`): NoSchedule taints mirroring node conditions and
 * `spec.unschedulable`, and the NoExecute `not-ready` / `unreachable` taints.
 */
import type { Node, Taint } from 'kubernetes-types/core/v1.js';

/** Taint key 'node.kubernetes.io/not-ready'. */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Taint key 'node.kubernetes.io/unreachable'. */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Taint key 'node.kubernetes.io/unschedulable'. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
/** Taint key 'node.kubernetes.io/memory-pressure'. */
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
/** Taint key 'node.kubernetes.io/disk-pressure'. */
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
/** Taint key 'node.kubernetes.io/pid-pressure'. */
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
/** Taint key 'node.kubernetes.io/network-unavailable'. */
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** (condition type, status) → NoSchedule taint key (kube's `nodeConditionToTaintKeyStatusMap`). */
const CONDITION_TAINTS: readonly [string, string, string][] = [
  ['Ready', 'False', TAINT_NOT_READY],
  ['Ready', 'Unknown', TAINT_UNREACHABLE],
  ['MemoryPressure', 'True', TAINT_MEMORY_PRESSURE],
  ['DiskPressure', 'True', TAINT_DISK_PRESSURE],
  ['NetworkUnavailable', 'True', TAINT_NETWORK_UNAVAILABLE],
  ['PIDPressure', 'True', TAINT_PID_PRESSURE],
];

const MANAGED_NO_SCHEDULE = new Set([...CONDITION_TAINTS.map(([, , k]) => k), TAINT_UNSCHEDULABLE]);
const MANAGED_NO_EXECUTE = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE]);

function managed(t: Taint): boolean {
  return (t.effect === 'NoSchedule' && MANAGED_NO_SCHEDULE.has(t.key)) || (t.effect === 'NoExecute' && MANAGED_NO_EXECUTE.has(t.key));
}

/** The managed taints `node` should carry now. */
export function desiredTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  const conds = node.status?.conditions ?? [];
  for (const [type, status, key] of CONDITION_TAINTS) {
    if (conds.some((c) => c.type === type && c.status === status)) out.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  const ready = conds.find((c) => c.type === 'Ready')?.status;
  if (ready === 'False') out.push({ key: TAINT_NOT_READY, effect: 'NoExecute' });
  if (ready === 'Unknown') out.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute' });
  return out;
}

/**
 * The node's taints with the managed ones reconciled: unmanaged taints untouched, managed
 * ones kept (with their timeAdded) when still wanted, added with `timeAdded = now` when new,
 * removed when no longer wanted. Undefined when nothing changes.
 */
export function reconcileTaints(node: Node, now: string): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const want = desiredTaints(node);
  const same = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;
  const next: Taint[] = [];
  let changed = false;
  for (const t of current) {
    if (!managed(t) || want.some((w) => same(w, t))) next.push(t);
    else changed = true;
  }
  for (const w of want) {
    if (current.some((t) => same(t, w))) continue;
    next.push({ ...w, timeAdded: now });
    changed = true;
  }
  return changed ? next : undefined;
}
