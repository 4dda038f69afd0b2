/**
 * The Deployment's ReplicaSets: finding or creating the new one with its revision
 * (`getAllReplicaSetsAndSyncRevision`, `getNewReplicaSet`) and scaling one
 * (`scaleReplicaSet`, `scaleReplicaSetAndRecordEvent`).
 */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import { isAlreadyExists } from '../../../lib/kube/errors.js';
import { Deployments, ReplicaSets } from '../../../lib/kube/resources.js';
import { getCondition, setCondition } from '../common/conditions.js';
import { controllerOf, newControllerRef } from '../common/owners.js';
import { deploymentEvent, now, updateDeploymentStatus, updateReplicaSet, type SyncEnv, type SyncState } from './env.js';
import { computeHash } from './hash.js';
import {
  POD_TEMPLATE_HASH,
  REVISION,
  Reasons,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  hasProgressDeadline,
  maxRevision,
  maxSurge,
  newCondition,
  newRSNewReplicas,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  rsReplicas,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from './util.js';

/** `SetDeploymentRevision` on the sync's copy; true when it changed. */
function setDeploymentRevision(st: SyncState, revision: string): boolean {
  const ann = (st.d.metadata!.annotations ??= {});
  if (ann[REVISION] === revision) return false;
  ann[REVISION] = revision;
  return true;
}

/**
 * `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (created when
 * `createIfNotExisted`) and every old one.
 */
export async function getAllReplicaSetsAndSyncRevision(
  env: SyncEnv,
  st: SyncState,
  rsList: readonly ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
  const existing = findNewReplicaSet(st.d, rsList);
  const oldRSs = findOldReplicaSets(rsList, existing);
  const newRS = await getNewReplicaSet(env, st, rsList, oldRSs, createIfNotExisted);
  return { newRS, oldRSs };
}

async function getNewReplicaSet(
  env: SyncEnv,
  st: SyncState,
  rsList: readonly ReplicaSet[],
  oldRSs: ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(st.d, rsList);
  const newRevision = maxRevision(oldRSs) + 1;
  if (existing) {
    const rsCopy = structuredClone(existing) as ReplicaSet;
    const annotationsUpdated = setNewReplicaSetAnnotations(st.d, rsCopy, newRevision, true);
    const minReady = st.d.spec?.minReadySeconds ?? 0;
    if (annotationsUpdated || (rsCopy.spec?.minReadySeconds ?? 0) !== minReady) {
      rsCopy.spec = { ...rsCopy.spec!, minReadySeconds: minReady };
      return updateReplicaSet(env, rsCopy);
    }
    // The revision recorded on the ReplicaSet is the Deployment's.
    let needsUpdate = setDeploymentRevision(st, rsCopy.metadata?.annotations?.[REVISION] ?? '');
    if (hasProgressDeadline(st.d) && !getCondition(st.d.status?.conditions, 'Progressing')) {
      const cond = newCondition('Progressing', 'True', Reasons.FoundNewRS, `Found new replica set "${rsCopy.metadata?.name}"`, now(env));
      st.d = { ...st.d, status: { ...(st.d.status ?? {}), conditions: setCondition(st.d.status?.conditions, cond) } };
      needsUpdate = true;
    }
    if (needsUpdate) await updateDeploymentStatus(env, st);
    return rsCopy;
  }
  if (!createIfNotExisted) return undefined;

  const d = st.d;
  const template = structuredClone(d.spec!.template);
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
  const selector = structuredClone(d.spec!.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
  const name = `${d.metadata?.name}-${hash}`;
  const newRS: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: d.metadata?.namespace,
      ownerReferences: [newControllerRef(d, Deployments)],
      labels: { ...(template.metadata.labels ?? {}) },
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  const newReplicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
  newRS.spec!.replicas = newReplicas;
  setNewReplicaSetAnnotations(d, newRS, newRevision, false);

  let created: ReplicaSet;
  let alreadyExisted = false;
  try {
    created = await env.client.create<ReplicaSet>(ReplicaSets, newRS);
  } catch (err) {
    if (isAlreadyExists(err)) {
      const found =
        env.cachedReplicaSet(d.metadata?.namespace ?? '', name) ??
        (await env.client.get<ReplicaSet>(ReplicaSets, d.metadata?.namespace, name));
      const ref = controllerOf(found);
      if (ref?.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, found.spec?.template)) {
        created = found;
        alreadyExisted = true;
      } else {
        // A hash collision with someone else's ReplicaSet: bump collisionCount and retry.
        st.d = { ...d, status: { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 } };
        try {
          await updateDeploymentStatus(env, st);
          env.log.info({ deployment: st.key, collisionCount: st.d.status?.collisionCount }, 'pod-template-hash collision');
        } catch {
          // The retry recomputes everything anyway.
        }
        throw err;
      }
    } else {
      const msg = `Failed to create new replica set "${name}": ${errorMessage(err)}`;
      if (hasProgressDeadline(d)) {
        const cond = newCondition('Progressing', 'False', Reasons.FailedRSCreate, msg, now(env));
        st.d = { ...d, status: { ...(d.status ?? {}), conditions: setCondition(d.status?.conditions, cond) } };
        try {
          await updateDeploymentStatus(env, st);
        } catch {
          // Best effort, as kube.
        }
      }
      deploymentEvent(env, st, 'Warning', Reasons.FailedRSCreate, msg);
      throw err;
    }
  }
  if (!alreadyExisted && newReplicas > 0) {
    deploymentEvent(env, st, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name} to ${newReplicas}`);
  }
  let needsUpdate = setDeploymentRevision(st, String(newRevision));
  if (!alreadyExisted && hasProgressDeadline(st.d)) {
    const cond = newCondition('Progressing', 'True', Reasons.NewRSCreated, `Created new replica set "${created.metadata?.name}"`, now(env));
    st.d = { ...st.d, status: { ...(st.d.status ?? {}), conditions: setCondition(st.d.status?.conditions, cond) } };
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(env, st);
  return created;
}

/**
 * `scaleReplicaSet`: sets `spec.replicas` and the replica annotations when either changed.
 * Returns whether the size changed and the written ReplicaSet.
 */
export async function scaleReplicaSet(
  env: SyncEnv,
  st: SyncState,
  rs: ReplicaSet,
  newScale: number,
  operation: 'up' | 'down',
): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  const d = st.d;
  const sizeNeedsUpdate = rsReplicas(rs) !== newScale;
  const max = replicasOf(d) + maxSurge(d);
  if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), max)) return { scaled: false, rs };
  const oldScale = rsReplicas(rs);
  const copy = structuredClone(rs) as ReplicaSet;
  copy.spec = { ...copy.spec!, replicas: newScale };
  setReplicasAnnotations(copy, replicasOf(d), max);
  const updated = await updateReplicaSet(env, copy);
  if (sizeNeedsUpdate) {
    deploymentEvent(env, st, 'Normal', 'ScalingReplicaSet', `Scaled ${operation} replica set ${rs.metadata?.name} to ${newScale} from ${oldScale}`);
  }
  return { scaled: sizeNeedsUpdate, rs: updated };
}

/** `scaleReplicaSetAndRecordEvent`: no-op when the size is already right. */
export async function scaleReplicaSetAndRecordEvent(env: SyncEnv, st: SyncState, rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  if (rsReplicas(rs) === newScale) return { scaled: false, rs };
  return scaleReplicaSet(env, st, rs, newScale, newScale > rsReplicas(rs) ? 'up' : 'down');
}
