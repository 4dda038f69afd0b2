/**
 * The ReplicaSet controller (kube's `pkg/controller/replicaset/replica_set.go`).
 *
 * ```
 *  RS / Pod events ──► rs key ──► sync(key)
 *                                  │ expectations satisfied?  no ─► status only
 *                                  ▼ yes
 *                      claim pods (adopt orphans, release non-matching)
 *                                  ▼
 *         active pods < replicas: create in slow-start batches (expect creations)
 *         active pods > replicas: delete the lowest-ranked (expect deletions)
 *                                  ▼
 *                       status (+ ReplicaFailure), requeue for minReadySeconds
 * ```
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import { objectKey, splitKey } from '../../../lib/kube/client.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Pods, ReplicaSets } from '../../../lib/kube/resources.js';
import { labelSelectorFromObject, type Selector } from '../../../lib/kube/selectors.js';
import type { Logger } from '../../../lib/log.js';
import { BY_CONTROLLER_UID, indexByControllerUid, type Controller, type ControllerContext } from '../common/context.js';
import type { ComponentRecorder } from '../common/events.js';
import { ControllerError, isNamespaceTerminating } from '../common/errors.js';
import { Expectations } from '../common/expectations.js';
import { BY_NAMESPACE } from '../common/informers.js';
import { controllerOf, newControllerRef } from '../common/owners.js';
import { isPodActive, isPodReady, podKey } from '../common/pods.js';
import { podFromTemplate } from '../common/pod-template.js';
import { claimObjects, recheckOwner } from '../common/ref-manager.js';
import { slowStartBatch } from '../common/slow-start.js';
import { QueueWorker } from '../common/worker.js';
import { podsToDelete } from './ranking.js';
import { calculateStatus, statusUpToDate } from './status.js';

/** kube's `BurstReplicas`: most pods created or deleted in one sync. */
export const BURST_REPLICAS = 500;

/** Options of {@link ReplicaSetController}. */
export interface ReplicaSetControllerOptions {
  /** Concurrent syncs (kube's `--concurrent-replicaset-syncs`, default 5). */
  workers?: number;
}

function labelsChanged(a: Pod, b: Pod): boolean {
  return JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {});
}

/** Keeps the number of active pods of every ReplicaSet equal to `spec.replicas`. */
export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly expectations: Expectations;
  private readonly worker: QueueWorker;
  private readonly log: Logger;
  private readonly events: ComponentRecorder;

  constructor(private readonly ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.events = ctx.recorder('replicaset-controller');
    this.expectations = new Expectations(ctx.clock);
    this.rsInformer = ctx.informers.informerFor<ReplicaSet>(ReplicaSets);
    this.podInformer = ctx.informers.informerFor<Pod>(Pods);
    indexByControllerUid(ctx, Pods);
    indexByControllerUid(ctx, ReplicaSets);
    this.worker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: opts.workers ?? 5, sync: (k) => this.sync(k) });
    this.rsInformer.addHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (old, cur) => {
        if (old.metadata?.uid !== cur.metadata?.uid) this.onRsDelete(old);
        this.enqueue(cur);
      },
      onDelete: (rs) => this.onRsDelete(rs),
    });
    this.podInformer.addHandler({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (o, n) => this.onPodUpdate(o, n),
      onDelete: (p) => this.onPodDelete(p),
    });
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** Pending expectations of a ReplicaSet key (for tests and debugging). */
  pendingExpectations(key: string): { add: number; del: number } | undefined {
    return this.expectations.pending(key);
  }

  private enqueue(rs: ReplicaSet): void {
    this.worker.queue.add(objectKey(rs));
  }

  private onRsDelete(rs: ReplicaSet): void {
    const key = objectKey(rs);
    this.expectations.delete(key);
    this.worker.queue.add(key);
  }

  /** The cached ReplicaSet a controller reference points at (name and UID must match). */
  private resolveRef(namespace: string | undefined, pod: Pod): ReplicaSet | undefined {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== ReplicaSets.kind || !ref.apiVersion.startsWith('apps/')) return undefined;
    const rs = this.rsInformer.get(`${namespace}/${ref.name}`);
    return rs && rs.metadata?.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets in the pod's namespace whose selector matches it (for orphans). */
  private matchingReplicaSets(pod: Pod): ReplicaSet[] {
    const out: ReplicaSet[] = [];
    for (const rs of this.rsInformer.byIndex(BY_NAMESPACE, pod.metadata?.namespace ?? '')) {
      let sel: Selector;
      try {
        sel = labelSelectorFromObject(rs.spec?.selector);
      } catch {
        continue;
      }
      if (sel.empty || !sel.matches(pod.metadata?.labels)) continue;
      out.push(rs);
    }
    return out;
  }

  private onPodAdd(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // On a restart the informer may see a pod already being deleted: count it as deleted.
      this.onPodDelete(pod);
      return;
    }
    if (controllerOf(pod)) {
      const rs = this.resolveRef(pod.metadata?.namespace, pod);
      if (!rs) return;
      const key = objectKey(rs);
      this.expectations.creationObserved(key);
      this.worker.queue.add(key);
      return;
    }
    for (const rs of this.matchingReplicaSets(pod)) this.enqueue(rs);
  }

  private onPodUpdate(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelChanged = labelsChanged(old, cur);
    if (cur.metadata?.deletionTimestamp) {
      this.onPodDelete(cur);
      if (labelChanged) this.onPodDelete(old);
      return;
    }
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const rs = this.resolveRef(old.metadata?.namespace, old);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolveRef(cur.metadata?.namespace, cur);
      if (!rs) return;
      this.enqueue(rs);
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) {
        // Re-check availability once minReadySeconds have passed.
        this.worker.queue.addAfter(objectKey(rs), minReady * 1000 + 1000);
      }
      return;
    }
    if (labelChanged || refChanged) for (const rs of this.matchingReplicaSets(cur)) this.enqueue(rs);
  }

  private onPodDelete(pod: Pod): void {
    const rs = this.resolveRef(pod.metadata?.namespace, pod);
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, podKey(pod));
    this.worker.queue.add(key);
  }

  private async sync(key: string): Promise<void> {
    const rs = this.rsInformer.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    let selector: Selector;
    try {
      selector = labelSelectorFromObject(rs.spec?.selector);
    } catch (err) {
      // Validation should have caught it; retrying cannot help (kube returns nil too).
      this.log.error({ key, err: errorMessage(err) }, 'invalid selector');
      return;
    }
    const { namespace } = splitKey(key);
    const active = this.podInformer.byIndex(BY_NAMESPACE, namespace ?? '').filter(isPodActive);
    const pods = await claimObjects({
      client: this.ctx.client,
      logger: this.log,
      owner: rs,
      ownerType: ReplicaSets,
      type: Pods,
      selector,
      objects: active,
      canAdopt: () => recheckOwner(this.ctx.client, ReplicaSets, rs),
    });
    let manageErr: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (err) {
        manageErr = err;
      }
    }
    const status = calculateStatus(rs, pods, manageErr, this.ctx.clock.now());
    const updated = await this.updateStatus(rs, status);
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const replicas = rs.spec?.replicas ?? 1;
    if (
      manageErr === undefined &&
      minReady > 0 &&
      (updated.status?.readyReplicas ?? 0) === replicas &&
      (updated.status?.availableReplicas ?? 0) !== replicas
    ) {
      this.worker.queue.addAfter(key, minReady * 1000);
    }
    if (manageErr !== undefined) throw manageErr;
  }

  private async manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<void> {
    const replicas = rs.spec?.replicas ?? 1;
    let diff = pods.length - replicas;
    if (diff < 0) {
      diff = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, diff);
      this.log.debug({ key, need: replicas, creating: diff }, 'too few replicas');
      const ref = newControllerRef(rs, ReplicaSets);
      const { successes, error } = await slowStartBatch(diff, 1, async () => {
        const pod = podFromTemplate(rs.spec?.template, rs.metadata?.namespace ?? '', rs.metadata?.name ?? '', ref);
        try {
          const created = await this.ctx.client.create<Pod>(Pods, pod);
          this.events.event(ReplicaSets, rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
        } catch (err) {
          // Creation into a terminating namespace fails anyway; not an error (as kube).
          if (isNamespaceTerminating(err)) return;
          this.events.event(ReplicaSets, rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      // Failed and never-attempted creations will not be observed by the informer.
      for (let i = successes; i < diff; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
      return;
    }
    if (diff > 0) {
      diff = Math.min(diff, BURST_REPLICAS);
      this.log.debug({ key, need: replicas, deleting: diff }, 'too many replicas');
      const victims = podsToDelete(pods, this.relatedPods(rs), diff, this.ctx.clock.now());
      this.expectations.expectDeletions(key, victims.map(podKey));
      const results = await Promise.allSettled(
        victims.map(async (p) => {
          try {
            await this.ctx.client.delete(Pods, p.metadata?.namespace, p.metadata?.name ?? '');
            this.events.event(ReplicaSets, rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key, podKey(p));
            if (isApiNotFound(err)) return;
            this.events.event(ReplicaSets, rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
            throw err;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw new ControllerError('SKIFF_DELETE_FAILED', errorMessage(failed.reason), { cause: failed.reason });
    }
  }

  /** Active pods of every ReplicaSet sharing this one's controller (kube's indirectly related pods). */
  private relatedPods(rs: ReplicaSet): Pod[] {
    const ref = controllerOf(rs);
    const owners = ref
      ? this.rsInformer.byIndex(BY_CONTROLLER_UID, ref.uid).filter((r) => r.metadata?.namespace === rs.metadata?.namespace)
      : [rs];
    const seen = new Map<string, Pod>();
    for (const r of owners) {
      for (const p of this.podInformer.byIndex(BY_CONTROLLER_UID, r.metadata?.uid ?? '')) seen.set(p.metadata?.uid ?? '', p);
    }
    return [...seen.values()];
  }

  private async updateStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<ReplicaSet> {
    if (statusUpToDate(rs, status)) return rs;
    let cur: ReplicaSet = rs;
    for (let attempt = 0; ; attempt++) {
      const next: ReplicaSetStatus = { ...status, observedGeneration: cur.metadata?.generation };
      try {
        return await this.ctx.client.update<ReplicaSet>(ReplicaSets, { ...cur, status: next }, { subresource: 'status' });
      } catch (err) {
        // kube's statusUpdateRetries = 1: refetch once, then give up until the next sync.
        if (attempt >= 1) throw err;
        cur = await this.ctx.client.get<ReplicaSet>(ReplicaSets, rs.metadata?.namespace, rs.metadata?.name ?? '');
      }
    }
  }
}
