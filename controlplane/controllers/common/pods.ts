/**
 * Pod predicates shared by the controllers (kube's `pkg/api/v1/pod` and
 * `pkg/controller/controller_utils.go`).
 */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { parseTime } from './time.js';

/** The pod's condition of type `type`. */
export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** `Ready` condition is `True` (`podutil.IsPodReady`). */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Phase is `Succeeded` or `Failed`. */
export function isPodTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/** Not terminal and not being deleted (`controller.IsPodActive`). */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

/**
 * Ready for at least `minReadySeconds` at `now` (`podutil.IsPodAvailable`): a pod is
 * available when its Ready condition turned True at least `minReadySeconds` ago.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = parseTime(podCondition(pod, 'Ready')?.lastTransitionTime);
  if (since === undefined) return false;
  return since + minReadySeconds * 1000 <= now;
}

/** When the pod's Ready condition turned True (ms), or undefined. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = podCondition(pod, 'Ready');
  return c?.status === 'True' ? parseTime(c.lastTransitionTime) : undefined;
}

/** `namespace/name`. */
export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
