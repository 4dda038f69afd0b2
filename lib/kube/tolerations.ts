/**
 * Taints and tolerations as kube matches them (`Toleration.ToleratesTaint` and
 * `v1helper.FindMatchingUntoleratedTaint`), shared by the scheduler, the taint-eviction
 * controller and the agent's admission.
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';

/**
 * `Toleration.ToleratesTaint`: an empty effect or key matches any; the operator is `Equal`
 * when missing or empty (the value must match), `Exists` matches any value, and any other
 * operator tolerates nothing.
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator || 'Equal') {
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
