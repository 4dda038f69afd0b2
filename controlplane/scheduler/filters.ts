/**
 * Filter plugins, in kube-scheduler 1.32's default order: NodeUnschedulable, TaintToleration,
 * NodeAffinity, NodePorts, NodeResourcesFit. A node is rejected by the first failing filter,
 * with that filter's reasons (the strings of kube's FailedScheduling message).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { FilterFailure, HostPort, NodeInfo } from './framework.js';
import { nodeMatchesPod } from './node-affinity.js';
import type { Resources } from './resources.js';
import { TAINT_UNSCHEDULABLE, effectiveTaints, findUntoleratedTaint, tolerated } from './taints.js';

/** Filter reason 'node(s) were unschedulable', as kube-scheduler words it. */
export const ERR_UNSCHEDULABLE = 'node(s) were unschedulable';
/** Filter reason "node(s) didn't match Pod's node affinity/selector", as kube-scheduler words it. */
export const ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
/** Filter reason "node(s) didn't have free ports for the requested pod ports", as kube-scheduler words it. */
export const ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
/** Filter reason 'Too many pods', as kube-scheduler words it. */
export const ERR_TOO_MANY_PODS = 'Too many pods';

/** What the filters need to know about the pod being scheduled (computed once per cycle). */
export interface PodToSchedule {
  pod: Pod;
  requests: Resources;
  ports: HostPort[];
}

function nodeUnschedulable(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  if (!n.node.spec?.unschedulable) return undefined;
  if (tolerated(p.pod.spec?.tolerations, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' })) return undefined;
  return { plugin: 'NodeUnschedulable', code: 'UnschedulableAndUnresolvable', reasons: [ERR_UNSCHEDULABLE] };
}

function taintToleration(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  const taint = findUntoleratedTaint(effectiveTaints(n.node), p.pod.spec?.tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (!taint) return undefined;
  return {
    plugin: 'TaintToleration',
    code: 'UnschedulableAndUnresolvable',
    reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`],
  };
}

function nodeAffinity(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  if (nodeMatchesPod(p.pod, n.node)) return undefined;
  return { plugin: 'NodeAffinity', code: 'UnschedulableAndUnresolvable', reasons: [ERR_NODE_AFFINITY] };
}

function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.ip === '0.0.0.0' || b.ip === '0.0.0.0' || a.ip === b.ip;
}

function nodePorts(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  if (p.ports.length === 0) return undefined;
  for (const info of n.pods.values()) {
    for (const used of info.ports) {
      if (p.ports.some((want) => portsConflict(want, used))) {
        return { plugin: 'NodePorts', code: 'Unschedulable', reasons: [ERR_NODE_PORTS] };
      }
    }
  }
  return undefined;
}

/** NodeResourcesFit: pod count, then every requested resource against what is left. */
function nodeResourcesFit(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  const reasons: string[] = [];
  const allowedPods = n.allocatable.get('pods') ?? 0;
  if (n.pods.size + 1 > allowedPods) reasons.push(ERR_TOO_MANY_PODS);
  const order = ['cpu', 'memory', 'ephemeral-storage'];
  const names = [...order.filter((r) => p.requests.has(r)), ...[...p.requests.keys()].filter((r) => !order.includes(r) && r !== 'pods').sort()];
  for (const r of names) {
    const want = p.requests.get(r) ?? 0;
    if (want <= 0) continue;
    const free = (n.allocatable.get(r) ?? 0) - (n.requested.get(r) ?? 0);
    if (want > free) reasons.push(`Insufficient ${r}`);
  }
  return reasons.length ? { plugin: 'NodeResourcesFit', code: 'Unschedulable', reasons } : undefined;
}

const FILTERS = [nodeUnschedulable, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit];

/** Runs the filters on one node; undefined when the pod fits. */
export function filterNode(p: PodToSchedule, n: NodeInfo): FilterFailure | undefined {
  for (const f of FILTERS) {
    const failure = f(p, n);
    if (failure) return failure;
  }
  return undefined;
}
