/**
 * Resource arithmetic of the scheduler (kube's `framework.Resource`, `resourcehelper.PodRequests`):
 * CPU in millicores, every other resource in integer units (bytes for memory and
 * ephemeral-storage), rounded up as `Quantity.Value()` does.
 */
import type { Container, Node, Pod } from 'kubernetes-types/core/v1.js';
import { cpuToMillis, parseQuantity } from '../../lib/units/index.js';

/** A set of resource amounts; `cpu` is in millicores. */
export type Resources = Map<string, number>;

/** CPU (millicores) assumed, for scoring, for a container without a CPU request (kube's non-zero default). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Memory assumed, for scoring, for a container without a memory request (200 MiB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

function amount(name: string, q: string | number): number {
  try {
    return name === 'cpu' ? cpuToMillis(q) : Math.ceil(parseQuantity(q, name) - 1e-9);
  } catch {
    return 0;
  }
}

/** Parses a ResourceList. */
export function parseResources(list: Record<string, string | number> | undefined): Resources {
  const r: Resources = new Map();
  for (const [k, v] of Object.entries(list ?? {})) r.set(k, amount(k, v));
  return r;
}

function addInto(a: Resources, b: Resources): void {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
}

function maxInto(a: Resources, b: Resources): void {
  for (const [k, v] of b) a.set(k, Math.max(a.get(k) ?? 0, v));
}

// Not shared with the agent's `podRequests` (agent/pods/cgroups/resources.ts): the scheduler
// defaults requests from limits and reads a malformed quantity as 0, where the agent takes
// the apiserver's defaulting as done and throws.
function containerRequests(c: Container): Resources {
  // Requests default to limits (the apiserver defaults them, but be safe with raw input).
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const merged: Record<string, string | number> = { ...lim, ...req };
  return parseResources(merged);
}

/**
 * The pod's effective requests (`PodRequests`): containers summed, restartable init
 * containers (sidecars) added, the largest regular init container (plus the sidecars started
 * before it) as a floor, plus `spec.overhead`.
 */
export function podRequests(pod: Pod): Resources {
  const reqs: Resources = new Map();
  for (const c of pod.spec?.containers ?? []) addInto(reqs, containerRequests(c));
  const sidecars: Resources = new Map();
  const initMax: Resources = new Map();
  for (const ic of pod.spec?.initContainers ?? []) {
    let r = containerRequests(ic);
    if (ic.restartPolicy === 'Always') {
      addInto(reqs, r);
      addInto(sidecars, r);
      r = new Map(sidecars);
    } else {
      const t = new Map(r);
      addInto(t, sidecars);
      r = t;
    }
    maxInto(initMax, r);
  }
  maxInto(reqs, initMax);
  addInto(reqs, parseResources(pod.spec?.overhead));
  return reqs;
}

/** CPU and memory requests for scoring, with kube's non-zero defaults per container. */
export function nonZeroRequests(pod: Pod): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c);
    cpu += r.get('cpu') ?? DEFAULT_MILLI_CPU_REQUEST;
    memory += r.get('memory') ?? DEFAULT_MEMORY_REQUEST;
  }
  let initCpu = 0;
  let initMem = 0;
  for (const ic of pod.spec?.initContainers ?? []) {
    const r = containerRequests(ic);
    initCpu = Math.max(initCpu, r.get('cpu') ?? DEFAULT_MILLI_CPU_REQUEST);
    initMem = Math.max(initMem, r.get('memory') ?? DEFAULT_MEMORY_REQUEST);
  }
  const overhead = parseResources(pod.spec?.overhead);
  return { cpu: Math.max(cpu, initCpu) + (overhead.get('cpu') ?? 0), memory: Math.max(memory, initMem) + (overhead.get('memory') ?? 0) };
}

/** The node's allocatable resources (capacity when allocatable is absent). */
export function nodeAllocatable(node: Node): Resources {
  return parseResources(node.status?.allocatable ?? node.status?.capacity);
}
