/**
 * A pod's QoS class from its spec (kube's `ComputePodQOS` in `pkg/apis/core/v1/helper/qos`),
 * for the agent (cgroups, `oom_score_adj`) and the control plane (`status.qosClass` on create).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';

/** `Guaranteed`, `Burstable` or `BestEffort`. */
export type QOSClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/**
 * The amount of one `cpu` or `memory` quantity, in a unit of the caller's choosing (the same
 * unit for requests and limits); it may throw on a malformed quantity.
 */
export type QosQuantityFn = (name: 'cpu' | 'memory', quantity: string) => number;

function isComputeResource(name: string): name is 'cpu' | 'memory' {
  return name === 'cpu' || name === 'memory';
}

/**
 * `ComputePodQOS`: `BestEffort` when no container (regular or init) has a positive cpu or
 * memory request or limit; `Guaranteed` when every container has positive cpu and memory
 * limits and the summed requests equal the summed limits; `Burstable` otherwise. Requests are
 * not defaulted from limits here (the apiserver does that). `amount` parses each quantity.
 */
export function computePodQos(pod: Pod, amount: QosQuantityFn): QOSClass {
  const requests: Record<string, number> = {};
  const limits: Record<string, number> = {};
  let guaranteed = true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of all) {
    for (const [name, q] of Object.entries(c.resources?.requests ?? {})) {
      if (!isComputeResource(name)) continue;
      const v = amount(name, q);
      if (v > 0) requests[name] = (requests[name] ?? 0) + v;
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
      if (!isComputeResource(name)) continue;
      const v = amount(name, q);
      if (v > 0) {
        found.add(name);
        limits[name] = (limits[name] ?? 0) + v;
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  const nReq = Object.keys(requests).length;
  const nLim = Object.keys(limits).length;
  if (nReq === 0 && nLim === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of Object.entries(requests)) {
      if (limits[name] === undefined || limits[name] !== req) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && nReq === nLim ? 'Guaranteed' : 'Burstable';
}
