/**
 * kubelet's pod admission predicates (`pkg/kubelet/lifecycle/predicate.go` and the scheduler
 * filters it calls through `AdmissionCheck`): OS label and field, resources against
 * allocatable (pods, cpu, memory, ephemeral-storage, scalar resources), required node
 * affinity / nodeSelector, node name, host ports, and untolerated NoExecute taints. The first
 * failure decides the reason and message, in kubelet's order.
 *
 * Not here (kubelet runs them as other admit handlers): the eviction manager's
 * pressure-based rejections, sysctls, AppArmor, and critical-pod preemption on failure.
 */
import type { ContainerPort, Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { isStaticPod, podRequests, quantityAmount } from '../cgroups/index.js';
import { toleratesTaint } from '../../../lib/kube/tolerations.js';

export { toleratesTaint };

/** The outcome of {@link admitPod}. */
export type AdmitResult = { admit: true } | { admit: false; reason: string; message: string };

/** Inputs of {@link admitPod}. */
export interface AdmitContext {
  /** This node, with `status.allocatable` and `spec.taints`. */
  node: Node;
  /** Pods already admitted and not terminated (the pod itself is skipped if present). */
  activePods: Pod[];
}

/** The OS this agent runs (`runtime.GOOS`). */
const NODE_OS = 'linux';
const LABEL_OS = 'kubernetes.io/os';

/** Scheduler plugin names and reasons, verbatim. */
const NODE_AFFINITY = 'NodeAffinity';
const NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector";
const NODE_NAME = 'NodeName';
const NODE_NAME_REASON = "node(s) didn't match the requested node name";
const NODE_PORTS = 'NodePorts';
const NODE_PORTS_REASON = "node(s) didn't have free ports for the requested pod ports";
const TAINT_TOLERATION = 'TaintToleration';
const TAINT_REASON = "node(s) had taints that the pod didn't tolerate";

type Failure =
  | { kind: 'resource'; resource: string; requested: number; used: number; capacity: number }
  | { kind: 'predicate'; name: string; desc: string };

/**
 * Decides whether `pod` may run on this node, as kubelet's `canAdmitPod` predicate handler
 * does. A rejected pod is set `Failed` by the caller with this reason and message, e.g.
 * `OutOfcpu` / `Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000`.
 */
export function admitPod(pod: Pod, ctx: AdmitContext): AdmitResult {
  const node = ctx.node;
  // kubelet compares the pod's *label* (not its nodeSelector) with the node's OS label, which
  // it takes to be its own OS whatever the Node object says.
  const podOs = pod.metadata?.labels?.[LABEL_OS];
  if (podOs !== undefined && podOs !== NODE_OS) {
    return {
      admit: false,
      reason: 'PodOSSelectorNodeLabelDoesNotMatch',
      message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
    };
  }
  if (pod.spec?.os?.name !== undefined && pod.spec.os.name !== NODE_OS) {
    return { admit: false, reason: 'PodOSNotSupported', message: "Failed to admit pod as the OS field doesn't match node OS" };
  }

  const uid = pod.metadata?.uid;
  const others = ctx.activePods.filter(
    (p) => p !== pod && (uid === undefined || p.metadata?.uid !== uid) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
  );
  const failures: Failure[] = [...fitsResources(pod, node, others)];
  if (!matchesNodeAffinity(pod, node)) failures.push({ kind: 'predicate', name: NODE_AFFINITY, desc: NODE_AFFINITY_REASON });
  if (pod.spec?.nodeName && pod.spec.nodeName !== node.metadata?.name) {
    failures.push({ kind: 'predicate', name: NODE_NAME, desc: NODE_NAME_REASON });
  }
  if (!fitsHostPorts(pod, others)) failures.push({ kind: 'predicate', name: NODE_PORTS, desc: NODE_PORTS_REASON });
  if (!isStaticPod(pod) && findUntoleratedNoExecute(node.spec?.taints ?? [], pod.spec?.tolerations ?? [])) {
    failures.push({ kind: 'predicate', name: TAINT_TOLERATION, desc: TAINT_REASON });
  }
  const first = failures[0];
  if (!first) return { admit: true };
  if (first.kind === 'predicate') return { admit: false, reason: first.name, message: `Predicate ${first.name} failed: ${first.desc}` };
  return {
    admit: false,
    reason: `OutOf${first.resource}`,
    message: `Node didn't have enough resource: ${first.resource}, requested: ${first.requested}, used: ${first.used}, capacity: ${first.capacity}`,
  };
}

/** Native resources (no domain, or a `kubernetes.io/` domain). */
function isNativeResource(name: string): boolean {
  if (!name.includes('/')) return true;
  const domain = name.slice(0, name.indexOf('/'));
  return domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io');
}

/** `IsExtendedResourceName`: a domain-prefixed name outside kubernetes.io, not `requests.*`. */
function isExtendedResource(name: string): boolean {
  return !isNativeResource(name) && !name.startsWith('requests.');
}

/** Resources the scheduler tracks as scalars: extended, hugepages, prefixed native, attachable volumes. */
function isScalarResource(name: string): boolean {
  return isExtendedResource(name) || name.startsWith('hugepages-') || (name.includes('/') && isNativeResource(name)) || name.startsWith('attachable-volumes-');
}

function fitsResources(pod: Pod, node: Node, others: Pod[]): Failure[] {
  const alloc = node.status?.allocatable ?? {};
  const allocOf = (name: string): number => quantityAmount(name, alloc[name]);
  const out: Failure[] = [];
  const allowedPods = allocOf('pods');
  if (others.length + 1 > allowedPods) {
    out.push({ kind: 'resource', resource: 'pods', requested: 1, used: others.length, capacity: allowedPods });
  }
  const req = podRequests(pod);
  // removeMissingExtendedResources: cluster-level extended resources unknown to the node are ignored.
  for (const name of Object.keys(req)) if (isExtendedResource(name) && alloc[name] === undefined) delete req[name];
  const scalarNames = Object.keys(req).filter((n) => isScalarResource(n) && req[n] !== 0);
  if (!req.cpu && !req.memory && !req['ephemeral-storage'] && scalarNames.length === 0) return out;
  const used: Record<string, number> = {};
  for (const p of others) {
    for (const [k, v] of Object.entries(podRequests(p))) used[k] = (used[k] ?? 0) + v;
  }
  for (const name of ['cpu', 'memory', 'ephemeral-storage']) {
    const r = req[name] ?? 0;
    if (r > 0 && r > allocOf(name) - (used[name] ?? 0)) {
      out.push({ kind: 'resource', resource: name, requested: r, used: used[name] ?? 0, capacity: allocOf(name) });
    }
  }
  for (const name of scalarNames.sort()) {
    const r = req[name];
    if (r > allocOf(name) - (used[name] ?? 0)) {
      out.push({ kind: 'resource', resource: name, requested: r, used: used[name] ?? 0, capacity: allocOf(name) });
    }
  }
  return out;
}

/**
 * `GetRequiredNodeAffinity(pod).Match(node)`: nodeSelector labels and required node affinity
 * terms. Stricter than `controlplane/scheduler/node-affinity.ts` on purpose (it does not rely
 * on API validation): a requirement with the wrong number of values, or a `matchFields` entry
 * other than `metadata.name In/NotIn [one name]`, matches nothing, and `Gt`/`Lt` compare as
 * BigInt.
 */
export function matchesNodeAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => matchesTerm(t, labels, node.metadata?.name ?? ''));
}

function matchesTerm(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // A term with no requirements matches nothing.
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!matchesRequirement(r, labels)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name' || (r.operator !== 'In' && r.operator !== 'NotIn') || (r.values ?? []).length !== 1) return false;
    if (!matchesRequirement(r, { 'metadata.name': nodeName })) return false;
  }
  return true;
}

function matchesRequirement(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return values.length > 0 && has && values.includes(v);
    case 'NotIn':
      return values.length > 0 && (!has || !values.includes(v));
    case 'Exists':
      return values.length === 0 && has;
    case 'DoesNotExist':
      return values.length === 0 && !has;
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1 || !has) return false;
      if (!/^[+-]?\d+$/.test(values[0]) || !/^[+-]?\d+$/.test(v)) return false;
      const lv = BigInt(v);
      const rv = BigInt(values[0]);
      return r.operator === 'Gt' ? lv > rv : lv < rv;
    }
    default:
      return false;
  }
}

function hostPortsOf(pod: Pod): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if ((p.hostPort ?? 0) > 0) out.push(p);
  return out;
}

function portKey(p: ContainerPort): { ip: string; proto: string; port: number } {
  return { ip: p.hostIP || '0.0.0.0', proto: p.protocol || 'TCP', port: p.hostPort ?? 0 };
}

/** `nodeports.Fits`: no wanted host port (ip, protocol, port) collides with one in use; 0.0.0.0 collides with every IP. */
function fitsHostPorts(pod: Pod, others: Pod[]): boolean {
  const want = hostPortsOf(pod).map(portKey);
  if (!want.length) return true;
  const used = others.flatMap(hostPortsOf).map(portKey);
  for (const w of want) {
    for (const u of used) {
      if (u.proto !== w.proto || u.port !== w.port) continue;
      if (w.ip === '0.0.0.0' || u.ip === '0.0.0.0' || u.ip === w.ip) return false;
    }
  }
  return true;
}

function findUntoleratedNoExecute(taints: Taint[], tolerations: Toleration[]): Taint | undefined {
  return taints.find((taint) => taint.effect === 'NoExecute' && !tolerations.some((t) => toleratesTaint(t, taint)));
}
