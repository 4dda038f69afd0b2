/**
 * The scheduler's view of the cluster (kube's scheduler cache): nodes with the pods placed on
 * them and the sums of their requests, including pods *assumed* on a node while their binding
 * is in flight. Assuming before the bind completes is what lets the next scheduling cycle see
 * the capacity as used, so a burst of pods never overcommits a node.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { NodeInfo, PodInfo } from './framework.js';
import { podInfo } from './pod-info.js';
import { nodeAllocatable, type Resources } from './resources.js';

function emptyInfo(name: string): NodeInfo {
  return { node: { metadata: { name } }, name, allocatable: new Map(), pods: new Map(), requested: new Map(), nonZeroRequested: { cpu: 0, memory: 0 } };
}

function add(into: Resources, r: Resources, sign: 1 | -1): void {
  for (const [k, v] of r) into.set(k, (into.get(k) ?? 0) + sign * v);
}

/** Nodes and the pods on them, assumed ones included. */
export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  private readonly present = new Set<string>();
  /** Pod UID → node it is counted on. */
  private readonly podNode = new Map<string, string>();
  private readonly assumed = new Set<string>();

  private info(name: string): NodeInfo {
    let i = this.infos.get(name);
    if (!i) {
      i = emptyInfo(name);
      this.infos.set(name, i);
    }
    return i;
  }

  /** Adds or replaces a node. */
  upsertNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const i = this.info(name);
    i.node = node;
    i.allocatable = nodeAllocatable(node);
    this.present.add(name);
  }

  /** Removes a node (its pods stay accounted until they go, as kube's ghost nodes). */
  removeNode(name: string): void {
    this.present.delete(name);
    const i = this.infos.get(name);
    if (i && i.pods.size === 0) this.infos.delete(name);
  }

  /** The nodes that exist, sorted by name. */
  nodes(): NodeInfo[] {
    return [...this.present].sort().map((n) => this.infos.get(n)!);
  }

  /** Number of nodes that exist. */
  nodeCount(): number {
    return this.present.size;
  }

  private place(pi: PodInfo, nodeName: string): void {
    const i = this.info(nodeName);
    i.pods.set(pi.uid, pi);
    add(i.requested, pi.requests, 1);
    i.nonZeroRequested.cpu += pi.nonZero.cpu;
    i.nonZeroRequested.memory += pi.nonZero.memory;
    this.podNode.set(pi.uid, nodeName);
  }

  private unplace(uid: string): void {
    const nodeName = this.podNode.get(uid);
    if (nodeName === undefined) return;
    this.podNode.delete(uid);
    const i = this.infos.get(nodeName);
    const pi = i?.pods.get(uid);
    if (!i || !pi) return;
    i.pods.delete(uid);
    add(i.requested, pi.requests, -1);
    i.nonZeroRequested.cpu -= pi.nonZero.cpu;
    i.nonZeroRequested.memory -= pi.nonZero.memory;
    if (i.pods.size === 0 && !this.present.has(nodeName)) this.infos.delete(nodeName);
  }

  /**
   * Records a pod the informer reports. Bound, non-terminal pods are counted on their node
   * (confirming an assumption); terminal ones are dropped; unbound ones keep any assumption.
   */
  observePod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.assumed.delete(uid);
      this.unplace(uid);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    this.assumed.delete(uid);
    this.unplace(uid);
    this.place(podInfo(pod), nodeName);
  }

  /** The pod is gone. */
  removePod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.assumed.delete(uid);
    this.unplace(uid);
  }

  /** Counts `pod` on `nodeName` until the informer confirms the binding or it is forgotten. */
  assume(pod: Pod, nodeName: string): void {
    const uid = pod.metadata?.uid ?? '';
    this.unplace(uid);
    this.place(podInfo({ ...pod, spec: { ...pod.spec!, nodeName } }), nodeName);
    this.assumed.add(uid);
  }

  /** Drops an assumption (the binding failed). */
  forget(uid: string): void {
    if (!this.assumed.delete(uid)) return;
    this.unplace(uid);
  }

  /** True while `uid` is assumed and not yet confirmed. */
  isAssumed(uid: string): boolean {
    return this.assumed.has(uid);
  }

  /** True when the pod is counted on some node (assumed or bound). */
  isPlaced(uid: string): boolean {
    return this.podNode.has(uid);
  }
}
