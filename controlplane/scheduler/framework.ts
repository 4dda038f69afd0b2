/**
 * The scheduler's plugin vocabulary (kube's `framework.Status` codes), reduced to what the
 * filters and the failure message need.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Resources } from './resources.js';

/**
 * Why a node was rejected. `UnschedulableAndUnresolvable` means preemption cannot help
 * (taints, affinity); `Unschedulable` means evicting pods might (resources, ports).
 */
export type FilterCode = 'Unschedulable' | 'UnschedulableAndUnresolvable';

/** A failed filter: its code and the reasons that end up in the FailedScheduling message. */
export interface FilterFailure {
  code: FilterCode;
  reasons: string[];
  plugin: string;
}

/** A host port a pod uses. */
export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** What the scheduler knows about a pod placed (or assumed) on a node. */
export interface PodInfo {
  pod: Pod;
  key: string;
  uid: string;
  requests: Resources;
  nonZero: { cpu: number; memory: number };
  ports: HostPort[];
  ownerUid?: string;
  priority: number;
  terminating: boolean;
}

/** A node with its pods and the sums of their requests. */
export interface NodeInfo {
  node: Node;
  name: string;
  allocatable: Resources;
  pods: Map<string, PodInfo>;
  requested: Resources;
  nonZeroRequested: { cpu: number; memory: number };
}
