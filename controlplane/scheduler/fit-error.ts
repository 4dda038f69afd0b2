/**
 * The FailedScheduling message (kube's `FitError.Error()` plus the DefaultPreemption
 * PostFilter diagnosis), e.g.
 *
 *   0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint
 *   {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 1 No preemption
 *   victims found for incoming pod, 1 Preemption is not helpful for scheduling.
 *
 * Deviation: preemption itself is not implemented. The preemption part of the message says
 * what kube's dry run would conclude when no lower-priority pod could make room; when
 * evicting lower-priority pods would make room, it still reports "No preemption victims
 * found for incoming pod" since no pod is preempted.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { FilterFailure, NodeInfo } from './framework.js';
import { filterNode, type PodToSchedule } from './filters.js';

/** kube's `ErrNoNodesAvailable`. */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
const NO_VICTIMS = 'No preemption victims found for incoming pod';

function histogram(reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/** What preemption would say about one node that rejected the pod. */
function preemptionReasons(p: PodToSchedule, node: NodeInfo, failure: FilterFailure): string[] {
  if (failure.code === 'UnschedulableAndUnresolvable') return [NOT_HELPFUL];
  const priority = p.pod.spec?.priority ?? 0;
  const remaining = new Map([...node.pods].filter(([, pi]) => pi.priority >= priority));
  if (remaining.size === node.pods.size) return [NO_VICTIMS];
  // Without every lower-priority pod: does it fit? If not, kube reports the filter's reasons.
  const requested = new Map<string, number>();
  for (const pi of remaining.values()) for (const [k, v] of pi.requests) requested.set(k, (requested.get(k) ?? 0) + v);
  const without: NodeInfo = { ...node, pods: remaining, requested };
  const f = filterNode(p, without);
  return f ? f.reasons : [NO_VICTIMS];
}

/** The message for a pod no node admits. `failures` has one entry per node. */
export function fitErrorMessage(p: PodToSchedule, failures: readonly { node: NodeInfo; failure: FilterFailure }[], numNodes: number): string {
  if (numNodes === 0) return NO_NODES_AVAILABLE;
  const reasons = failures.flatMap((f) => f.failure.reasons);
  let msg = `0/${numNodes} nodes are available: ${histogram(reasons)}.`;
  const pod: Pod = p.pod;
  if (pod.spec?.preemptionPolicy === 'Never') {
    msg += ' preemption: not eligible due to preemptionPolicy=Never.';
  } else {
    const pre = failures.flatMap((f) => preemptionReasons(p, f.node, f.failure));
    msg += ` preemption: 0/${numNodes} nodes are available: ${histogram(pre)}.`;
  }
  return msg;
}
