/**
 * The garbage collector (kube's `pkg/controller/garbagecollector`): a dependency graph of every
 * served kind built from owner references, and two work queues.
 *
 * ```
 *  informers (all kinds) ──► graph ──► attemptToDelete (dependents whose owners may be gone,
 *                                  │     owners being deleted in the foreground)
 *                                  └─► attemptToOrphan (owners with the `orphan` finalizer)
 *
 *  attemptToDelete(x): owners all absent ──► delete x (Background, or x's own policy finalizer)
 *                      some owner present ──► drop the dangling references
 *                      owner waits (foreground) and x has dependents ──► delete x in Foreground
 *                      x in foreground deletion: no blocking dependent left ──► drop finalizer
 *  attemptToOrphan(o): remove o from every dependent's ownerReferences, then the finalizer
 * ```
 *
 * Deviations: no virtual nodes — a dependent whose owner was never observed is itself queued
 * and its owner looked up in the apiserver; only the served kinds are tracked (no discovery
 * of other resources).
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import type { KubeObject } from '../../../lib/kube/client.js';
import { isApiNotFound, isConflict } from '../../../lib/kube/errors.js';
import { Events, SERVED_RESOURCES, type ResourceType } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import { QueueWorker } from '../common/worker.js';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Graph, hasFinalizer, type GraphNode } from './graph.js';

/** Kinds the collector does not track (kube ignores Events). */
const IGNORED = new Set([`${Events.group}/${Events.resource}`]);

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** Options of {@link GarbageCollector}. */
export interface GarbageCollectorOptions {
  /** Kinds to track; default every served kind but Events. */
  resources?: readonly ResourceType[];
  /** `--concurrent-gc-syncs` (default 20 in kube; 5 here). */
  workers?: number;
}

/** Deletes dependents of deleted owners and runs the orphan / foreground protocols. */
export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  readonly graph = new Graph();
  private readonly types: ResourceType[];
  private readonly toDelete: QueueWorker;
  private readonly toOrphan: QueueWorker;
  private readonly log: Logger;

  constructor(private readonly ctx: ControllerContext, opts: GarbageCollectorOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.types = (opts.resources ?? SERVED_RESOURCES).filter((t) => !IGNORED.has(`${t.group}/${t.resource}`));
    const workers = opts.workers ?? 5;
    this.toDelete = new QueueWorker({ clock: ctx.clock, logger: this.log.child({ queue: 'attemptToDelete' }), workers, sync: (u) => this.attemptToDelete(u) });
    this.toOrphan = new QueueWorker({ clock: ctx.clock, logger: this.log.child({ queue: 'attemptToOrphan' }), workers, sync: (u) => this.attemptToOrphan(u) });
    for (const type of this.types) {
      const inf = ctx.informers.informerFor<KubeObject>(type);
      inf.addHandler({
        onAdd: (o) => this.onChange(type, o),
        onUpdate: (_old, o) => this.onChange(type, o),
        onDelete: (o) => this.onDelete(o),
      });
    }
  }

  /** Starts the queues; objects whose owners were not observed are verified first. */
  start(): void {
    for (const n of this.graph.all()) {
      if (n.owners.some((o) => !this.graph.get(o.uid))) this.toDelete.queue.add(n.uid);
      if (n.deletingDependents) this.toDelete.queue.add(n.uid);
    }
    this.toDelete.start();
    this.toOrphan.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.toDelete.stop(), this.toOrphan.stop()]);
  }

  private onChange(type: ResourceType, obj: KubeObject): void {
    const { node, previous } = this.graph.observe(type, obj);
    // A reference to an owner not (yet) in the graph: verify it.
    if (node.owners.some((o) => !this.graph.get(o.uid))) this.toDelete.queue.add(node.uid);
    // A changed or removed reference may unblock an owner waiting for its dependents.
    if (previous) {
      for (const o of previous.owners) {
        const still = node.owners.find((x) => x.uid === o.uid);
        if ((!still || still.blockOwnerDeletion !== o.blockOwnerDeletion) && this.graph.get(o.uid)?.deletingDependents) this.toDelete.queue.add(o.uid);
      }
    }
    if (node.beingDeleted && hasFinalizer(obj, FINALIZER_ORPHAN)) this.toOrphan.queue.add(node.uid);
    if (node.deletingDependents) {
      for (const d of this.graph.dependentsOf(node.uid)) this.toDelete.queue.add(d.uid);
      this.toDelete.queue.add(node.uid);
    }
    // An object being deleted whose owners are deleting their dependents: they may go on.
    if (node.beingDeleted) for (const o of node.owners) if (this.graph.get(o.uid)?.deletingDependents) this.toDelete.queue.add(o.uid);
  }

  private onDelete(obj: KubeObject): void {
    const uid = obj.metadata?.uid ?? '';
    const node = this.graph.remove(uid);
    for (const d of this.graph.dependentsOf(uid)) this.toDelete.queue.add(d.uid);
    for (const o of node?.owners ?? []) if (this.graph.get(o.uid)?.deletingDependents) this.toDelete.queue.add(o.uid);
  }

  /** The served resource type an owner reference names. */
  private typeOf(ref: OwnerReference): ResourceType | undefined {
    const group = groupOf(ref.apiVersion);
    return SERVED_RESOURCES.find((t) => t.kind === ref.kind && t.group === group);
  }

  private async getLive(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.ctx.client.get<KubeObject>(type, type.namespaced ? namespace : undefined, name);
    } catch (err) {
      if (isApiNotFound(err)) return undefined;
      throw err;
    }
  }

  /** `absent` (gone or replaced), `waiting` (foreground-deleting) or `solid`; undefined if unknown kind. */
  private async classify(ref: OwnerReference, dependent: GraphNode): Promise<'absent' | 'waiting' | 'solid' | undefined> {
    const type = this.typeOf(ref);
    if (!type) return undefined;
    // A namespaced owner of a cluster-scoped dependent cannot exist (kube: invalid reference).
    if (type.namespaced && !dependent.namespace) return 'absent';
    // Deviation: kube always looks owners up in the apiserver (with a cache of absent ones);
    // an owner present in the graph is trusted here, and its deletion event re-queues the
    // dependents anyway.
    const cached = this.graph.get(ref.uid);
    let owner: KubeObject | undefined;
    if (cached && cached.name === ref.name) {
      if (cached.deletingDependents) return 'waiting';
      return 'solid';
    }
    // Not in the graph (or not yet): ask the apiserver, as kube does, before deciding.
    owner = await this.getLive(type, dependent.namespace, ref.name);
    if (!owner || owner.metadata?.uid !== ref.uid) return 'absent';
    if (owner.metadata?.deletionTimestamp && hasFinalizer(owner, FINALIZER_FOREGROUND)) return 'waiting';
    return 'solid';
  }

  private async attemptToDelete(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    const latest = await this.getLive(node.type, node.namespace, node.name);
    if (!latest || latest.metadata?.uid !== uid) return;
    if (latest.metadata?.deletionTimestamp && !hasFinalizer(latest, FINALIZER_FOREGROUND)) return;
    if (latest.metadata?.deletionTimestamp && hasFinalizer(latest, FINALIZER_FOREGROUND)) {
      await this.processDeletingDependents(node, latest);
      return;
    }
    const refs = latest.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const c = await this.classify(ref, node);
      if (c === 'absent') dangling.push(ref);
      else if (c === 'waiting') waiting.push(ref);
      else solid.push(ref);
    }
    if (solid.length) {
      if (!dangling.length && !waiting.length) return;
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      this.log.info({ object: this.describe(node), owners: [...drop] }, 'removing dangling owner references');
      await this.updateMeta(node, (m) => ({ ownerReferences: (m.ownerReferences ?? []).filter((r) => !drop.has(r.uid)) }));
      return;
    }
    if (waiting.length && this.graph.dependentsOf(uid).length) {
      if (this.graph.dependentsOf(uid).some((d) => d.deletingDependents)) {
        // A cycle through foreground deletions: stop blocking our owners, as kube does.
        await this.updateMeta(node, (m) => ({
          ownerReferences: (m.ownerReferences ?? []).map((r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r)),
        }));
      }
      await this.deleteObject(node, 'Foreground');
      return;
    }
    const policy = hasFinalizer(latest, FINALIZER_ORPHAN) ? 'Orphan' : hasFinalizer(latest, FINALIZER_FOREGROUND) ? 'Foreground' : 'Background';
    await this.deleteObject(node, policy);
  }

  private async processDeletingDependents(node: GraphNode, latest: KubeObject): Promise<void> {
    const blocking = this.graph.blockingDependentsOf(node.uid);
    if (blocking.length === 0) {
      this.log.info({ object: this.describe(node) }, 'dependents gone, removing foregroundDeletion finalizer');
      void latest;
      await this.updateMeta(node, (m) => ({ finalizers: (m.finalizers ?? []).filter((f) => f !== FINALIZER_FOREGROUND) }));
      return;
    }
    for (const d of blocking) if (!d.deletingDependents) this.toDelete.queue.add(d.uid);
  }

  private async attemptToOrphan(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    const latest = await this.getLive(node.type, node.namespace, node.name);
    if (!latest || latest.metadata?.uid !== uid || !hasFinalizer(latest, FINALIZER_ORPHAN)) return;
    for (const d of this.graph.dependentsOf(uid)) {
      await this.updateMeta(d, (m) => ({ ownerReferences: (m.ownerReferences ?? []).filter((r) => r.uid !== uid) }));
    }
    this.log.info({ object: this.describe(node) }, 'dependents orphaned, removing orphan finalizer');
    await this.updateMeta(node, (m) => ({ finalizers: (m.finalizers ?? []).filter((f) => f !== FINALIZER_ORPHAN) }));
  }

  private async deleteObject(node: GraphNode, policy: 'Background' | 'Foreground' | 'Orphan'): Promise<void> {
    this.log.info({ object: this.describe(node), policy }, 'deleting object');
    try {
      await this.ctx.client.delete(node.type, node.namespace, node.name, { propagationPolicy: policy, preconditions: { uid: node.uid } });
    } catch (err) {
      if (isApiNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  /**
   * Rewrites owner references or finalizers with a JSON merge patch carrying the object's
   * resourceVersion (optimistic concurrency, as kube's GC patches), retrying on conflicts.
   */
  private async updateMeta(
    node: GraphNode,
    change: (meta: NonNullable<KubeObject['metadata']>) => { ownerReferences?: OwnerReference[]; finalizers?: string[] },
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.getLive(node.type, node.namespace, node.name);
      if (!cur || cur.metadata?.uid !== node.uid) return;
      const next = change(cur.metadata!);
      const patch: Record<string, unknown> = { resourceVersion: cur.metadata?.resourceVersion, uid: node.uid };
      let changed = false;
      if (next.ownerReferences) {
        changed ||= JSON.stringify(next.ownerReferences) !== JSON.stringify(cur.metadata?.ownerReferences ?? []);
        patch.ownerReferences = next.ownerReferences.length ? next.ownerReferences : null;
      }
      if (next.finalizers) {
        changed ||= JSON.stringify(next.finalizers) !== JSON.stringify(cur.metadata?.finalizers ?? []);
        patch.finalizers = next.finalizers.length ? next.finalizers : null;
      }
      if (!changed) return;
      try {
        await this.ctx.client.patch(node.type, node.namespace, node.name, 'merge', { metadata: patch });
        return;
      } catch (err) {
        if (isApiNotFound(err)) return;
        if (isConflict(err) && attempt < 5) continue;
        this.log.warn({ object: this.describe(node), err: errorMessage(err) }, 'updating metadata failed');
        throw err;
      }
    }
  }

  private describe(n: GraphNode): string {
    return `${n.type.resource}/${n.namespace ? `${n.namespace}/` : ''}${n.name}`;
  }
}
