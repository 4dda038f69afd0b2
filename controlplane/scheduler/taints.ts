/**
 * The node's effective scheduling taints; the toleration matching itself lives in
 * `lib/kube/tolerations.ts` (re-exported here).
 */
import type { Node, Taint } from 'kubernetes-types/core/v1.js';
export { toleratesTaint, tolerated, findUntoleratedTaint } from '../../lib/kube/tolerations.js';

/** Taint key 'node.kubernetes.io/not-ready'. */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Taint key 'node.kubernetes.io/unreachable'. */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** Taint key 'node.kubernetes.io/unschedulable'. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

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
