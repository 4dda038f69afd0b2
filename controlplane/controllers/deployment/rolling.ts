/**
 * The RollingUpdate strategy (kube's `rolling.go`): scale the new ReplicaSet up within
 * maxSurge, then the old ones down within maxUnavailable, unhealthy replicas first.
 */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { ControllerError } from '../common/errors.js';
import type { SyncEnv, SyncState } from './env.js';
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent } from './replicasets.js';
import { cleanupDeployment } from './scale.js';
import { syncRolloutStatus } from './status.js';
import {
  activeReplicaSets,
  availableReplicaCount,
  byCreation,
  deploymentComplete,
  maxUnavailable,
  newRSNewReplicas,
  replicasOf,
  rsReplicas,
  specReplicaCount,
} from './util.js';

/** `rolloutRolling`. */
export async function rolloutRolling(env: SyncEnv, st: SyncState, rsList: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(env, st, rsList, true);
  const all = [...oldRSs, newRS!];
  if (await reconcileNewReplicaSet(env, st, all, newRS!)) {
    await syncRolloutStatus(env, st, all, newRS);
    return;
  }
  if (await reconcileOldReplicaSets(env, st, all, activeReplicaSets(oldRSs), newRS!)) {
    await syncRolloutStatus(env, st, all, newRS);
    return;
  }
  if (deploymentComplete(st.d, st.d.status ?? {})) await cleanupDeployment(env, st, oldRSs);
  await syncRolloutStatus(env, st, all, newRS);
}

async function reconcileNewReplicaSet(env: SyncEnv, st: SyncState, all: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const d = st.d;
  if (rsReplicas(newRS) === replicasOf(d)) return false;
  if (rsReplicas(newRS) > replicasOf(d)) return (await scaleReplicaSetAndRecordEvent(env, st, newRS, replicasOf(d))).scaled;
  return (await scaleReplicaSetAndRecordEvent(env, st, newRS, newRSNewReplicas(d, all, newRS))).scaled;
}

async function reconcileOldReplicaSets(env: SyncEnv, st: SyncState, all: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const d = st.d;
  if (specReplicaCount(oldRSs) === 0) return false;
  const allPods = specReplicaCount(all);
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  // Unhealthy replicas first: they do not reduce availability.
  const { rss: cleaned, scaledDown: cleanupCount } = await cleanupUnhealthyReplicas(env, st, oldRSs, maxScaledDown);
  const scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(env, st, [...cleaned, newRS], cleaned);
  return cleanupCount + scaledDown > 0;
}

async function cleanupUnhealthyReplicas(
  env: SyncEnv,
  st: SyncState,
  oldRSs: ReplicaSet[],
  maxCleanup: number,
): Promise<{ rss: ReplicaSet[]; scaledDown: number }> {
  const rss = [...oldRSs].sort(byCreation);
  let total = 0;
  for (let i = 0; i < rss.length; i++) {
    if (total >= maxCleanup) break;
    const rs = rss[i];
    if (rsReplicas(rs) === 0) continue;
    if (rsReplicas(rs) === (rs.status?.availableReplicas ?? 0)) continue;
    const count = Math.min(maxCleanup - total, rsReplicas(rs) - (rs.status?.availableReplicas ?? 0));
    const next = rsReplicas(rs) - count;
    if (next > rsReplicas(rs)) {
      throw new ControllerError('SKIFF_DEPLOYMENT_SCALE', `when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata?.namespace}/${rs.metadata?.name} ${rsReplicas(rs)} -> ${next}`);
    }
    const { rs: updated } = await scaleReplicaSetAndRecordEvent(env, st, rs, next);
    total += count;
    rss[i] = updated;
  }
  return { rss, scaledDown: total };
}

async function scaleDownOldReplicaSetsForRollingUpdate(env: SyncEnv, st: SyncState, all: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
  const d = st.d;
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const available = availableReplicaCount(all);
  if (available <= minAvailable) return 0;
  const rss = [...oldRSs].sort(byCreation);
  const target = available - minAvailable;
  let total = 0;
  for (const rs of rss) {
    if (total >= target) break;
    if (rsReplicas(rs) === 0) continue;
    const count = Math.min(rsReplicas(rs), target - total);
    const next = rsReplicas(rs) - count;
    if (next > rsReplicas(rs)) {
      throw new ControllerError('SKIFF_DEPLOYMENT_SCALE', `when scaling down old replica sets, got invalid request to scale down ${rs.metadata?.namespace}/${rs.metadata?.name} ${rsReplicas(rs)} -> ${next}`);
    }
    await scaleReplicaSetAndRecordEvent(env, st, rs, next);
    total += count;
  }
  return total;
}
