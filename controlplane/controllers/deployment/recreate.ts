/**
 * The Recreate strategy (kube's `recreate.go`): scale every old ReplicaSet to zero, wait
 * until none of their pods runs, then create/scale the new one.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { SyncEnv, SyncState } from './env.js';
import { getAllReplicaSetsAndSyncRevision, scaleReplicaSetAndRecordEvent } from './replicasets.js';
import { cleanupDeployment } from './scale.js';
import { syncRolloutStatus } from './status.js';
import { activeReplicaSets, actualReplicaCount, deploymentComplete, replicasOf } from './util.js';

/** `rolloutRecreate`. `podsByRs` maps ReplicaSet UIDs to their pods. */
export async function rolloutRecreate(env: SyncEnv, st: SyncState, rsList: readonly ReplicaSet[], podsByRs: Map<string, Pod[]>): Promise<void> {
  let { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(env, st, rsList, false);
  let all: (ReplicaSet | undefined)[] = [...oldRSs, newRS];
  let scaledDown = false;
  for (const rs of activeReplicaSets(oldRSs)) {
    if ((await scaleReplicaSetAndRecordEvent(env, st, rs, 0)).scaled) scaledDown = true;
  }
  if (scaledDown) {
    await syncRolloutStatus(env, st, all, newRS);
    return;
  }
  if (oldPodsRunning(newRS, oldRSs, podsByRs)) {
    await syncRolloutStatus(env, st, all, newRS);
    return;
  }
  if (!newRS) {
    ({ newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(env, st, rsList, true));
    all = [...oldRSs, newRS];
  }
  await scaleReplicaSetAndRecordEvent(env, st, newRS!, replicasOf(st.d));
  if (deploymentComplete(st.d, st.d.status ?? {})) await cleanupDeployment(env, st, oldRSs);
  await syncRolloutStatus(env, st, all, newRS);
}

/** `oldPodsRunning`: old ReplicaSets still report replicas, or one of their pods is not terminal. */
function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[], podsByRs: Map<string, Pod[]>): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podsByRs) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    for (const p of pods) {
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}
