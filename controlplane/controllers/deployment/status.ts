/**
 * Deployment status (kube's `calculateStatus`, `syncDeploymentStatus`, `syncRolloutStatus`,
 * `requeueStuckDeployment` and `checkPausedConditions`). These are the fields
 * `kubectl rollout status` reads: observedGeneration, replicas, updatedReplicas,
 * availableReplicas and the Progressing condition's reason.
 */
import type { DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { getCondition, removeCondition, setCondition } from '../common/conditions.js';
import { parseTime } from '../common/time.js';
import { now, updateDeploymentStatus, type SyncEnv, type SyncState } from './env.js';
import {
  Reasons,
  actualReplicaCount,
  availableReplicaCount,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  hasProgressDeadline,
  maxUnavailable,
  newCondition,
  readyReplicaCount,
  replicasOf,
} from './util.js';

function put(s: DeploymentStatus, k: keyof DeploymentStatus, v: number): void {
  if (v) (s as Record<string, unknown>)[k] = v;
}

/** The status the Deployment should report for `all` and `newRS` (`calculateStatus`). */
export function calculateStatus(env: SyncEnv, st: SyncState, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentStatus {
  const d = st.d;
  const available = availableReplicaCount(all);
  const total = actualReplicaCount(all);
  const unavailable = Math.max(0, total - available);
  const s: DeploymentStatus = {};
  put(s, 'observedGeneration', d.metadata?.generation ?? 0);
  put(s, 'replicas', total);
  put(s, 'updatedReplicas', actualReplicaCount([newRS]));
  put(s, 'readyReplicas', readyReplicaCount(all));
  put(s, 'availableReplicas', available);
  put(s, 'unavailableReplicas', unavailable);
  if (d.status?.collisionCount !== undefined) s.collisionCount = d.status.collisionCount;
  let conds: DeploymentCondition[] = [...(d.status?.conditions ?? [])];
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    conds = setCondition(conds, newCondition('Available', 'True', Reasons.MinimumReplicasAvailable, 'Deployment has minimum availability.', now(env)));
  } else {
    conds = setCondition(conds, newCondition('Available', 'False', Reasons.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now(env)));
  }
  if (conds.length) s.conditions = conds;
  return s;
}

function normalized(s: DeploymentStatus | undefined): string {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s ?? {})) {
    if (v === 0 || v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
    o[k] = v;
  }
  return JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** True when two statuses are the same (absent and zero are equal, as with omitempty). */
export function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  return normalized(a) === normalized(b);
}

/** `syncDeploymentStatus`: writes the calculated status when it changed. */
export async function syncDeploymentStatus(env: SyncEnv, st: SyncState, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
  const s = calculateStatus(env, st, all, newRS);
  if (statusEqual(st.d.status, s)) return;
  st.d = { ...st.d, status: s };
  await updateDeploymentStatus(env, st);
}

/** `syncRolloutStatus`: status plus the Progressing condition, and a requeue for the deadline. */
export async function syncRolloutStatus(env: SyncEnv, st: SyncState, all: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
  const d = st.d;
  const s = calculateStatus(env, st, all, newRS);
  if (!hasProgressDeadline(d)) s.conditions = removeCondition(s.conditions, 'Progressing');
  const cur = getCondition(s.conditions, 'Progressing');
  const isComplete = (s.replicas ?? 0) === (s.updatedReplicas ?? 0) && cur?.reason === Reasons.NewRSAvailable;
  if (hasProgressDeadline(d) && !isComplete) {
    if (deploymentComplete(d, s)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has successfully progressed.` : 'Deployment has successfully progressed.';
      s.conditions = setCondition(s.conditions, newCondition('Progressing', 'True', Reasons.NewRSAvailable, msg, now(env)));
    } else if (deploymentProgressing(d, s)) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" is progressing.` : `Deployment "${d.metadata?.name}" is progressing.`;
      const cond = newCondition('Progressing', 'True', Reasons.ReplicaSetUpdated, msg, now(env));
      // Progress moves lastUpdateTime (the deadline's start) but not the transition time.
      if (cur?.status === 'True' && cur.lastTransitionTime) cond.lastTransitionTime = cur.lastTransitionTime;
      s.conditions = [...removeCondition(s.conditions, 'Progressing'), cond];
    } else if (deploymentTimedOut(d, s, env.clock.now())) {
      const msg = newRS ? `ReplicaSet "${newRS.metadata?.name}" has timed out progressing.` : `Deployment "${d.metadata?.name}" has timed out progressing.`;
      s.conditions = setCondition(s.conditions, newCondition('Progressing', 'False', Reasons.TimedOut, msg, now(env)));
    }
  }
  // ReplicaFailure mirrors the ReplicaSets' own failure conditions.
  const failures = all.flatMap((rs) => (rs?.status?.conditions ?? []).filter((c) => c.type === 'ReplicaFailure'));
  if (failures.length) {
    const f = failures[0];
    s.conditions = setCondition(s.conditions, newCondition('ReplicaFailure', f.status, f.reason ?? '', f.message ?? '', f.lastTransitionTime ?? now(env)));
  } else {
    s.conditions = removeCondition(s.conditions, 'ReplicaFailure');
  }
  if (!s.conditions?.length) delete s.conditions;
  if (statusEqual(d.status, s)) {
    requeueStuckDeployment(env, st, s);
    return;
  }
  st.d = { ...d, status: s };
  await updateDeploymentStatus(env, st);
}

/** `requeueStuckDeployment`: syncs again when the progress deadline would pass. */
function requeueStuckDeployment(env: SyncEnv, st: SyncState, s: DeploymentStatus): void {
  const d = st.d;
  const cur = getCondition(s.conditions, 'Progressing');
  if (!hasProgressDeadline(d) || !cur) return;
  if (deploymentComplete(d, s) || cur.reason === Reasons.TimedOut) return;
  const from = parseTime(cur.lastUpdateTime);
  if (from === undefined) return;
  const after = from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 - env.clock.now();
  // kube requeues at once when less than a second is left; waiting until just past the
  // deadline instead avoids a busy loop when the clock does not move (a fake clock).
  env.enqueueAfter(st.key, Math.max(0, after) + 1);
}

/** `checkPausedConditions`: Progressing=Unknown with DeploymentPaused / DeploymentResumed. */
export async function checkPausedConditions(env: SyncEnv, st: SyncState): Promise<void> {
  const d = st.d;
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status?.conditions, 'Progressing');
  if (cond?.reason === Reasons.TimedOut) return;
  const pausedExists = cond?.reason === Reasons.Paused;
  let next: DeploymentCondition | undefined;
  if (d.spec?.paused && !pausedExists) next = newCondition('Progressing', 'Unknown', Reasons.Paused, 'Deployment is paused', now(env));
  else if (!d.spec?.paused && pausedExists) next = newCondition('Progressing', 'Unknown', Reasons.Resumed, 'Deployment is resumed', now(env));
  if (!next) return;
  st.d = { ...d, status: { ...(d.status ?? {}), conditions: setCondition(d.status?.conditions, next) } };
  await updateDeploymentStatus(env, st);
}
