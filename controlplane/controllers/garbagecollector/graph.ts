/**
 * The garbage collector's dependency graph (kube's `GraphBuilder` nodes): every object of a
 * watched kind, by UID, with its owner references; and for every owner UID — observed or
 * not — the set of dependents that point at it.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../../../lib/kube/client.js';
import type { ResourceType } from '../../../lib/kube/resources.js';

/** The 'orphan' finalizer of deletion propagation. */
export const FINALIZER_ORPHAN = 'orphan';
/** The 'foregroundDeletion' finalizer of deletion propagation. */
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** One object in the graph. */
export interface GraphNode {
  uid: string;
  type: ResourceType;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  /** deletionTimestamp is set. */
  beingDeleted: boolean;
  /** Being deleted with the `foregroundDeletion` finalizer: waits for its dependents. */
  deletingDependents: boolean;
}

/** What changed when an object was observed. */
export interface ObservedChange {
  node: GraphNode;
  previous?: GraphNode;
}

/** True when `obj` carries `finalizer`. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return !!obj.metadata?.finalizers?.includes(finalizer);
}

/** The dependency graph. */
export class Graph {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();

  /** Adds or replaces the node of `obj`. */
  observe(type: ResourceType, obj: KubeObject): ObservedChange {
    const uid = obj.metadata?.uid ?? '';
    const previous = this.nodes.get(uid);
    const beingDeleted = !!obj.metadata?.deletionTimestamp;
    const node: GraphNode = {
      uid,
      type,
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name ?? '',
      owners: [...(obj.metadata?.ownerReferences ?? [])],
      beingDeleted,
      deletingDependents: beingDeleted && hasFinalizer(obj, FINALIZER_FOREGROUND),
    };
    if (previous) for (const o of previous.owners) this.dependents.get(o.uid)?.delete(uid);
    for (const o of node.owners) (this.dependents.get(o.uid) ?? this.dependents.set(o.uid, new Set()).get(o.uid)!).add(uid);
    for (const o of previous?.owners ?? []) if (this.dependents.get(o.uid)?.size === 0) this.dependents.delete(o.uid);
    this.nodes.set(uid, node);
    return { node, previous };
  }

  /** Removes the node of `uid`; returns it. */
  remove(uid: string): GraphNode | undefined {
    const node = this.nodes.get(uid);
    if (!node) return undefined;
    this.nodes.delete(uid);
    for (const o of node.owners) {
      const set = this.dependents.get(o.uid);
      set?.delete(uid);
      if (set?.size === 0) this.dependents.delete(o.uid);
    }
    return node;
  }

  /** The node of `uid`. */
  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** Nodes whose owner references include `ownerUid`. */
  dependentsOf(ownerUid: string): GraphNode[] {
    return [...(this.dependents.get(ownerUid) ?? [])].map((u) => this.nodes.get(u)).filter((n): n is GraphNode => !!n);
  }

  /** Dependents whose reference to `ownerUid` has `blockOwnerDeletion: true`. */
  blockingDependentsOf(ownerUid: string): GraphNode[] {
    return this.dependentsOf(ownerUid).filter((d) => d.owners.some((o) => o.uid === ownerUid && o.blockOwnerDeletion === true));
  }

  /** Every node. */
  all(): IterableIterator<GraphNode> {
    return this.nodes.values();
  }
}
