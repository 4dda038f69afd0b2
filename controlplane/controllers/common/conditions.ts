/**
 * Status conditions with kube's update rule: a condition whose status does not change keeps
 * its `lastTransitionTime`.
 */

/** The fields every API condition shares. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

/** The condition of `type` in `conds`. */
export function getCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

/** `conds` without conditions of `type`. */
export function removeCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C[] {
  return (conds ?? []).filter((c) => c.type !== type);
}

/**
 * Sets `cond` (`SetDeploymentCondition` / `SetReplicaSetCondition`): unchanged when type,
 * status and reason are the same; the transition time is kept when only the reason or
 * message changed. Returns a new array.
 */
export function setCondition<C extends Condition>(conds: readonly C[] | undefined, cond: C): C[] {
  const cur = getCondition(conds, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return [...(conds ?? [])];
  const next = { ...cond };
  if (cur && cur.status === cond.status && cur.lastTransitionTime) next.lastTransitionTime = cur.lastTransitionTime;
  return [...removeCondition(conds, cond.type), next];
}
