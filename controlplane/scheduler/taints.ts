/**
 * Taints and tolerations (kube's `v1helper.TolerationsTolerateTaint` and
 * `Toleration.ToleratesTaint`), and the node's effective scheduling taints.
 */
import type { Node, Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** Taint key 'node.kubernetes.io/not-ready'. */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Taint key 'node.kubernetes.io/unreachable'. */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Taint key 'node.kubernetes.io/unschedulable'. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** `Toleration.ToleratesTaint`: effect, key and (Equal) value must match; Exists matches any value. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** True when one of `tolerations` tolerates `taint`. */
export function tolerated(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** The first taint passing `filter` that no toleration tolerates (`FindMatchingUntoleratedTaint`). */
export function findUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[] | undefined,
  filter: (t: Taint) => boolean,
): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerated(tolerations, taint));
}

/**
 * The taints the scheduler checks: the node's own, plus — when the node's Ready condition is
 * not True and the node lifecycle controller has not tainted it yet — the NoSchedule taint
 * that controller would add (`not-ready` for False or missing, `unreachable` for Unknown).
 *
 * Deviation: kube-scheduler does not look at conditions and relies on those taints alone;
 * deriving them here closes the window before the controller reacts, and keeps the
 * FailedScheduling message the same as upstream's once it has.
 */
export function effectiveTaints(node: Node): Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const key = ready?.status === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  }
  return taints;
}
