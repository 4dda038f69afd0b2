/**
 * ReplicaSet status (kube's `calculateStatus` and `updateReplicaSetStatus`,
 * `pkg/controller/replicaset/replica_set_utils.go`).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import { selectorFromSet } from '../../../lib/kube/selectors.js';
import { getCondition, removeCondition, setCondition } from '../common/conditions.js';
import { isPodAvailable, isPodReady } from '../common/pods.js';
import { formatTime } from '../common/time.js';

/** The status `rs` should have given its active, claimed `pods` and the last manage error. */
export function calculateStatus(rs: ReplicaSet, pods: readonly Pod[], manageErr: unknown, now: number): ReplicaSetStatus {
  const templateLabels = selectorFromSet(rs.spec?.template?.metadata?.labels);
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (templateLabels.matches(p.metadata?.labels)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
    }
  }
  let conditions: ReplicaSetCondition[] = [...(rs.status?.conditions ?? [])];
  const failure = getCondition(conditions, 'ReplicaFailure');
  if (manageErr !== undefined && !failure) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions = setCondition(conditions, {
      type: 'ReplicaFailure',
      status: 'True',
      reason,
      message: errorMessage(manageErr),
      lastTransitionTime: formatTime(now),
    });
  } else if (manageErr === undefined && failure) {
    conditions = removeCondition(conditions, 'ReplicaFailure');
  }
  const status: ReplicaSetStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (rs.status?.observedGeneration !== undefined) status.observedGeneration = rs.status.observedGeneration;
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** True when `rs` already reports `next` for its current generation. */
export function statusUpToDate(rs: ReplicaSet, next: ReplicaSetStatus): boolean {
  const cur = rs.status ?? { replicas: 0 };
  return (
    (cur.replicas ?? 0) === next.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === (next.fullyLabeledReplicas ?? 0) &&
    (cur.readyReplicas ?? 0) === (next.readyReplicas ?? 0) &&
    (cur.availableReplicas ?? 0) === (next.availableReplicas ?? 0) &&
    (rs.metadata?.generation ?? 0) === (cur.observedGeneration ?? 0) &&
    JSON.stringify(cur.conditions ?? []) === JSON.stringify(next.conditions ?? [])
  );
}
