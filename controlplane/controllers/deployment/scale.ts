/**
 * Scaling without a rollout (kube's `sync.go`): `sync` for paused Deployments and scaling
 * events, proportional scaling across ReplicaSets during a rollout, and the cleanup of old
 * ReplicaSets beyond `revisionHistoryLimit`.
 */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import { ReplicaSets } from '../../../lib/kube/resources.js';
import type { SyncEnv, SyncState } from './env.js';
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSet, scaleReplicaSetAndRecordEvent } from './replicasets.js';
import { syncDeploymentStatus } from './status.js';
import {
  activeReplicaSets,
  byCreation,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  desiredReplicasAnnotation,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  proportion,
  replicasOf,
  rsReplicas,
  specReplicaCount,
} from './util.js';

/** `sync`: scale to the desired size, clean up when paused, update status. */
export async function syncScale(env: SyncEnv, st: SyncState, rsList: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(env, st, rsList, false);
  await scale(env, st, newRS, oldRSs);
  if (st.d.spec?.paused) await cleanupDeployment(env, st, oldRSs);
  await syncDeploymentStatus(env, st, [...oldRSs, newRS], newRS);
}

/** `isScalingEvent`: an active ReplicaSet's desired-replicas annotation differs from spec.replicas. */
export async function isScalingEvent(env: SyncEnv, st: SyncState, rsList: readonly ReplicaSet[]): Promise<boolean> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(env, st, rsList, false);
  for (const rs of activeReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired === undefined) continue;
    if (desired !== replicasOf(st.d)) return true;
  }
  return false;
}

/** `FindActiveOrLatest`: the only active ReplicaSet, or the latest when none is active. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const sortedOld = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...sortedOld, newRS]);
  if (active.length === 0) return newRS ?? sortedOld[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** `scale`: brings the ReplicaSets to the Deployment's size, proportionally during a rollout. */
export async function scale(env: SyncEnv, st: SyncState, newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): Promise<void> {
  const d = st.d;
  const one = findActiveOrLatest(newRS, oldRSs);
  if (one) {
    if (rsReplicas(one) === replicasOf(d)) return;
    await scaleReplicaSetAndRecordEvent(env, st, one, replicasOf(d));
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of activeReplicaSets(oldRSs)) await scaleReplicaSetAndRecordEvent(env, st, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = activeReplicaSets([...oldRSs, newRS]);
  const allReplicas = specReplicaCount(all);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - allReplicas;
  let operation: 'up' | 'down' = 'up';
  if (toAdd > 0) all.sort(bySizeNewer);
  else if (toAdd < 0) {
    all.sort(bySizeOlder);
    operation = 'down';
  }
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of all) {
    const name = rs.metadata?.name ?? '';
    if (toAdd !== 0) {
      const p = proportion(rs, d, toAdd, added);
      sizes.set(name, rsReplicas(rs) + p);
      added += p;
    } else {
      sizes.set(name, rsReplicas(rs));
    }
  }
  for (let i = 0; i < all.length; i++) {
    const rs = all[i];
    const name = rs.metadata?.name ?? '';
    // Leftovers go to the largest ReplicaSet.
    if (i === 0 && toAdd !== 0) sizes.set(name, Math.max(0, (sizes.get(name) ?? 0) + toAdd - added));
    await scaleReplicaSet(env, st, rs, sizes.get(name) ?? rsReplicas(rs), operation);
  }
}

/**
 * `cleanupDeployment`: deletes the oldest old ReplicaSets beyond `revisionHistoryLimit`, only
 * those scaled to zero with no pods and an up-to-date status.
 */
export async function cleanupDeployment(env: SyncEnv, st: SyncState, oldRSs: readonly ReplicaSet[]): Promise<void> {
  const limit = st.d.spec?.revisionHistoryLimit ?? 10;
  const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
  const diff = cleanable.length - limit;
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (let i = 0; i < diff; i++) {
    const rs = cleanable[i];
    if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata?.deletionTimestamp) {
      continue;
    }
    env.log.info({ deployment: st.key, replicaSet: rs.metadata?.name }, 'deleting old replica set');
    try {
      await env.client.delete(ReplicaSets, rs.metadata?.namespace, rs.metadata?.name ?? '', { preconditions: { uid: rs.metadata?.uid } });
    } catch (err) {
      if (!isApiNotFound(err)) throw err;
    }
  }
}
