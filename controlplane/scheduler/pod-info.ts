/** Precomputed facts about a pod for the scheduler's node accounting. */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { HostPort, PodInfo } from './framework.js';
import { nonZeroRequests, podRequests } from './resources.js';

/** The UID of the pod's controller owner reference. */
export function controllerUidOf(pod: Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((r) => r.controller)?.uid;
}

/** Host ports of the pod's containers (and init containers). */
export function hostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol ?? 'TCP', port: p.hostPort });
    }
  }
  return out;
}

/** `namespace/name`. */
export function podKeyOf(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** Builds the {@link PodInfo} of `pod`. */
export function podInfo(pod: Pod): PodInfo {
  return {
    pod,
    key: podKeyOf(pod),
    uid: pod.metadata?.uid ?? '',
    requests: podRequests(pod),
    nonZero: nonZeroRequests(pod),
    ports: hostPorts(pod),
    ownerUid: controllerUidOf(pod),
    priority: pod.spec?.priority ?? 0,
    terminating: !!pod.metadata?.deletionTimestamp,
  };
}
