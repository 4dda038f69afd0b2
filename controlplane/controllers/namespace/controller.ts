/**
 * The namespace controller (kube's `pkg/controller/namespace`): once a namespace has a
 * deletionTimestamp, everything in it is deleted (every served namespaced kind); while
 * content remains, the namespace reports kube's deletion conditions; when none remains, the
 * `kubernetes` finalizer is removed through `namespaces/<ns>/finalize` and the apiserver
 * deletes the namespace.
 *
 * Deviations: the kinds come from the served-resource table rather than discovery, and
 * objects are deleted one by one (the client has no deletecollection), each with
 * propagationPolicy Background as kube's deletecollection call uses.
 */
import type { Namespace, NamespaceCondition } from 'kubernetes-types/core/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import type { KubeObject } from '../../../lib/kube/client.js';
import { isApiNotFound, isConflict } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Namespaces, SERVED_RESOURCES, type ResourceType } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import { ControllerError } from '../common/errors.js';
import { formatTime } from '../common/time.js';
import { QueueWorker } from '../common/worker.js';

const FINALIZER = 'kubernetes';

interface Outcome {
  remaining: Map<string, number>;
  finalizers: Map<string, number>;
  errors: string[];
  /** Longest grace period of a pod still terminating (s). */
  estimate: number;
}

function resourceName(t: ResourceType): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

/** The five deletion conditions, as kube's `updateConditions` reports them. */
function deletionConditions(o: Outcome): Omit<NamespaceCondition, 'lastTransitionTime'>[] {
  const sortedCounts = (m: Map<string, number>, fmt: (k: string, n: number) => string): string =>
    [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, n]) => fmt(k, n)).join(', ');
  return [
    { type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
    { type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
    o.errors.length
      ? { type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${o.errors.length} remaining: ${o.errors.join(', ')}` }
      : { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
    o.remaining.size
      ? { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${sortedCounts(o.remaining, (k, n) => `${k} has ${n} resource instances`)}` }
      : { type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed' },
    o.finalizers.size
      ? { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${sortedCounts(o.finalizers, (k, n) => `${k} in ${n} resource instances`)}` }
      : { type: 'NamespaceFinalizersRemaining', status: 'False', reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
  ];
}

/** Empties and finalizes namespaces being deleted. */
export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private readonly namespaces: Informer<Namespace>;
  private readonly worker: QueueWorker;
  private readonly log: Logger;
  private readonly types: ResourceType[];

  constructor(private readonly ctx: ControllerContext, opts: { workers?: number; resources?: readonly ResourceType[] } = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.types = (opts.resources ?? SERVED_RESOURCES).filter((t) => t.namespaced);
    this.namespaces = ctx.informers.informerFor<Namespace>(Namespaces);
    this.worker = new QueueWorker({
      clock: ctx.clock,
      logger: this.log,
      workers: opts.workers ?? 5,
      sync: (k) => this.sync(k),
      retry: { initialMs: 100, maxMs: 5 * 60_000, factor: 2 },
    });
    const onNs = (ns: Namespace): void => {
      if (ns.metadata?.deletionTimestamp) this.worker.queue.add(ns.metadata.name ?? '');
    };
    this.namespaces.addHandler({ onAdd: onNs, onUpdate: (_o, n) => onNs(n) });
    // Content going away in a terminating namespace: check again right away.
    for (const t of this.types) {
      ctx.informers.informerFor<KubeObject>(t).addHandler({
        onDelete: (o) => {
          const ns = o.metadata?.namespace;
          if (ns && this.namespaces.get(ns)?.metadata?.deletionTimestamp) this.worker.queue.add(ns);
        },
      });
    }
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private async sync(name: string): Promise<void> {
    const ns = this.namespaces.get(name);
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!ns.spec?.finalizers?.includes(FINALIZER)) return;
    const outcome = await this.deleteContent(name);
    await this.updateConditions(name, outcome);
    if (outcome.errors.length) {
      throw new ControllerError('SKIFF_NAMESPACE_CONTENT', `deleting content of namespace ${name}: ${outcome.errors.join('; ')}`);
    }
    if (outcome.remaining.size) {
      // kube retries after half the longest remaining grace period, plus a second.
      this.worker.queue.addAfter(name, (Math.floor(outcome.estimate / 2) + 1) * 1000);
      return;
    }
    await this.finalize(name);
  }

  private async deleteContent(ns: string): Promise<Outcome> {
    const o: Outcome = { remaining: new Map(), finalizers: new Map(), errors: [], estimate: 0 };
    for (const t of this.types) {
      let items: KubeObject[];
      try {
        items = (await this.ctx.client.list<KubeObject>(t, { namespace: ns })).items;
      } catch (err) {
        o.errors.push(`${resourceName(t)}: ${errorMessage(err)}`);
        continue;
      }
      let left = 0;
      for (const item of items) {
        let cur: KubeObject | undefined = item;
        if (!item.metadata?.deletionTimestamp) {
          try {
            const r = await this.ctx.client.delete<KubeObject>(t, ns, item.metadata?.name ?? '', { propagationPolicy: 'Background' });
            // A returned object that still has a deletionTimestamp lingers (graceful, finalizers).
            cur = (r as KubeObject).metadata?.deletionTimestamp ? (r as KubeObject) : undefined;
          } catch (err) {
            if (isApiNotFound(err)) cur = undefined;
            else {
              o.errors.push(`${resourceName(t)} "${item.metadata?.name}": ${errorMessage(err)}`);
              continue;
            }
          }
        }
        if (!cur) continue;
        left++;
        for (const f of cur.metadata?.finalizers ?? []) o.finalizers.set(f, (o.finalizers.get(f) ?? 0) + 1);
        o.estimate = Math.max(o.estimate, cur.metadata?.deletionGracePeriodSeconds ?? 0);
      }
      if (left) o.remaining.set(resourceName(t), left);
    }
    return o;
  }

  private async updateConditions(name: string, o: Outcome): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      let ns: Namespace;
      try {
        ns = await this.ctx.client.get<Namespace>(Namespaces, undefined, name);
      } catch (err) {
        if (isApiNotFound(err)) return;
        throw err;
      }
      const now = formatTime(this.ctx.clock.now());
      const cur = ns.status?.conditions ?? [];
      let changed = false;
      const next: NamespaceCondition[] = cur.filter((c) => !deletionConditions(o).some((d) => d.type === c.type));
      for (const want of deletionConditions(o)) {
        const have = cur.find((c) => c.type === want.type);
        if (have && have.status === want.status && have.reason === want.reason && have.message === want.message) {
          next.push(have);
          continue;
        }
        changed = true;
        next.push({ ...want, lastTransitionTime: have && have.status === want.status ? have.lastTransitionTime : now });
      }
      if (!changed) return;
      try {
        await this.ctx.client.update(Namespaces, { ...ns, status: { ...(ns.status ?? {}), phase: 'Terminating', conditions: next } }, { subresource: 'status' });
        return;
      } catch (err) {
        if (isApiNotFound(err)) return;
        if (!isConflict(err)) throw err;
      }
    }
  }

  private async finalize(name: string): Promise<void> {
    let ns: Namespace;
    try {
      ns = await this.ctx.client.get<Namespace>(Namespaces, undefined, name);
    } catch (err) {
      if (isApiNotFound(err)) return;
      throw err;
    }
    const finalizers = (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER);
    this.log.info({ namespace: name }, 'namespace empty, removing the kubernetes finalizer');
    try {
      await this.ctx.client.update(Namespaces, { ...ns, spec: { ...(ns.spec ?? {}), finalizers } }, { subresource: 'finalize' });
    } catch (err) {
      if (!isApiNotFound(err)) throw err;
    }
  }
}
