/**
 * The Deployment controller (kube's `pkg/controller/deployment`).
 *
 * ```
 *  Deployment / ReplicaSet / Pod events ──► deployment key ──► sync(key)
 *     claim ReplicaSets (adopt / release) ──► deleting?  ──► status only
 *     paused? ──► Progressing=Unknown (DeploymentPaused), scale only
 *     scaling event (desired-replicas annotation ≠ spec.replicas)? ──► proportional scale
 *     otherwise roll out: RollingUpdate (maxSurge / maxUnavailable) or Recreate
 *     ──► status + Progressing / Available conditions, requeue for the progress deadline
 * ```
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import { objectKey, splitKey } from '../../../lib/kube/client.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Deployments, Pods, ReplicaSets } from '../../../lib/kube/resources.js';
import { labelSelectorFromObject, type Selector } from '../../../lib/kube/selectors.js';
import type { Logger } from '../../../lib/log.js';
import { indexByControllerUid, type Controller, type ControllerContext } from '../common/context.js';
import type { ComponentRecorder } from '../common/events.js';
import { BY_NAMESPACE } from '../common/informers.js';
import { controllerOf } from '../common/owners.js';
import { claimObjects, recheckOwner } from '../common/ref-manager.js';
import { QueueWorker } from '../common/worker.js';
import { updateDeploymentStatus, type SyncEnv, type SyncState } from './env.js';
import { rolloutRecreate } from './recreate.js';
import { rolloutRolling } from './rolling.js';
import { isScalingEvent, syncScale } from './scale.js';
import { checkPausedConditions, syncDeploymentStatus } from './status.js';
import { getAllReplicaSetsAndSyncRevision } from './replicasets.js';

/** Options of {@link DeploymentController}. */
export interface DeploymentControllerOptions {
  /** Concurrent syncs (kube's `--concurrent-deployment-syncs`, default 5). */
  workers?: number;
}

/** Rolls Deployments out through ReplicaSets. */
export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly dInformer: Informer<Deployment>;
  private readonly rsInformer: Informer<ReplicaSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly worker: QueueWorker;
  private readonly log: Logger;
  private readonly events: ComponentRecorder;
  private readonly env: SyncEnv;

  constructor(private readonly ctx: ControllerContext, opts: DeploymentControllerOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.events = ctx.recorder('deployment-controller');
    this.dInformer = ctx.informers.informerFor<Deployment>(Deployments);
    this.rsInformer = ctx.informers.informerFor<ReplicaSet>(ReplicaSets);
    this.podInformer = ctx.informers.informerFor<Pod>(Pods);
    indexByControllerUid(ctx, ReplicaSets);
    indexByControllerUid(ctx, Pods);
    this.worker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: opts.workers ?? 5, sync: (k) => this.sync(k) });
    this.env = {
      client: ctx.client,
      clock: ctx.clock,
      log: this.log,
      events: this.events,
      enqueueAfter: (key, ms) => this.worker.queue.addAfter(key, ms),
      cachedReplicaSet: (ns, name) => this.rsInformer.get(`${ns}/${name}`),
    };
    this.dInformer.addHandler({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_o, d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.rsInformer.addHandler({
      onAdd: (rs) => this.onRsAdd(rs),
      onUpdate: (o, n) => this.onRsUpdate(o, n),
      onDelete: (rs) => this.onRsDelete(rs),
    });
    this.podInformer.addHandler({ onDelete: (p) => this.onPodDelete(p) });
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private enqueue(d: Deployment): void {
    this.worker.queue.add(objectKey(d));
  }

  private resolveRef(rs: ReplicaSet): Deployment | undefined {
    const ref = controllerOf(rs);
    if (!ref || ref.kind !== 'Deployment' || !ref.apiVersion.startsWith('apps/')) return undefined;
    const d = this.dInformer.get(`${rs.metadata?.namespace}/${ref.name}`);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  /** Deployments whose selector matches an orphan ReplicaSet. */
  private deploymentsFor(rs: ReplicaSet): Deployment[] {
    const out: Deployment[] = [];
    for (const d of this.dInformer.byIndex(BY_NAMESPACE, rs.metadata?.namespace ?? '')) {
      let sel: Selector;
      try {
        sel = labelSelectorFromObject(d.spec?.selector);
      } catch {
        continue;
      }
      if (sel.empty || !sel.matches(rs.metadata?.labels)) continue;
      out.push(d);
    }
    return out;
  }

  private onRsAdd(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) return this.onRsDelete(rs);
    if (controllerOf(rs)) {
      const d = this.resolveRef(rs);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsFor(rs)) this.enqueue(d);
  }

  private onRsUpdate(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolveRef(old);
      if (d) this.enqueue(d);
    }
    if (curRef) {
      const d = this.resolveRef(cur);
      if (d) this.enqueue(d);
      return;
    }
    const labelChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelChanged || refChanged) for (const d of this.deploymentsFor(cur)) this.enqueue(d);
  }

  private onRsDelete(rs: ReplicaSet): void {
    const d = this.resolveRef(rs);
    if (d) this.enqueue(d);
  }

  /** Recreate waits for old pods to go: a pod deletion may unblock it. */
  private onPodDelete(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.get(`${pod.metadata?.namespace}/${ref.name}`);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const d = this.resolveRef(rs);
    if (d && d.spec?.strategy?.type === 'Recreate') this.enqueue(d);
  }

  private async sync(key: string): Promise<void> {
    const cached = this.dInformer.get(key);
    if (!cached) return;
    const st: SyncState = { d: structuredClone(cached) as Deployment, key };
    const d = st.d;
    const sel = d.spec?.selector;
    if (sel && Object.keys(sel.matchLabels ?? {}).length === 0 && !sel.matchExpressions?.length) {
      this.events.event(Deployments, d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        st.d = { ...d, status: { ...(d.status ?? {}), observedGeneration: d.metadata?.generation } };
        await updateDeploymentStatus(this.env, st);
      }
      return;
    }
    let selector: Selector;
    try {
      selector = labelSelectorFromObject(sel);
    } catch (err) {
      this.log.error({ key, err: errorMessage(err) }, 'invalid selector');
      return;
    }
    const { namespace } = splitKey(key);
    const rsList = await claimObjects({
      client: this.ctx.client,
      logger: this.log,
      owner: cached,
      ownerType: Deployments,
      type: ReplicaSets,
      selector,
      objects: this.rsInformer.byIndex(BY_NAMESPACE, namespace ?? ''),
      canAdopt: () => recheckOwner(this.ctx.client, Deployments, cached),
    });
    if (d.metadata?.deletionTimestamp) {
      const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(this.env, st, rsList, false);
      await syncDeploymentStatus(this.env, st, [...oldRSs, newRS], newRS);
      return;
    }
    await checkPausedConditions(this.env, st);
    if (st.d.spec?.paused) {
      await syncScale(this.env, st, rsList);
      return;
    }
    if (await isScalingEvent(this.env, st, rsList)) {
      await syncScale(this.env, st, rsList);
      return;
    }
    if (st.d.spec?.strategy?.type === 'Recreate') {
      await rolloutRecreate(this.env, st, rsList, this.podsByReplicaSet(st.d, rsList, selector));
      return;
    }
    await rolloutRolling(this.env, st, rsList);
  }

  /** `getPodMapForDeployment`: the Deployment's pods grouped by owning ReplicaSet UID. */
  private podsByReplicaSet(d: Deployment, rsList: readonly ReplicaSet[], selector: Selector): Map<string, Pod[]> {
    const map = new Map<string, Pod[]>();
    for (const rs of rsList) map.set(rs.metadata?.uid ?? '', []);
    for (const p of this.podInformer.byIndex(BY_NAMESPACE, d.metadata?.namespace ?? '')) {
      if (!selector.matches(p.metadata?.labels)) continue;
      const ref = controllerOf(p);
      if (!ref) continue;
      map.get(ref.uid)?.push(p);
    }
    return map;
  }
}
