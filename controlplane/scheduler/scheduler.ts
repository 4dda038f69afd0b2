/**
 * The scheduler (kube-scheduler, reduced): one pod at a time from the scheduling queue,
 * filter every node, score the feasible ones, assume the pod on the best node, and bind it
 * through `pods/binding` asynchronously while the next pod is scheduled.
 *
 * ```
 *  pod informer ──► pending pods ──► SchedulingQueue ──pop──► filter ──► score ──► assume
 *        │                               ▲        ▲                │no fit          │
 *        └──► cache (bound pods) ────────┘ moveAll│        PodScheduled=False    bind (async)
 *  node informer ──► cache (nodes) ───────────────┘        FailedScheduling       ├─ ok: Scheduled
 *                                                          backoff, retry         └─ err: forget, retry
 * ```
 */
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { KubeClient } from '../../lib/kube/client.js';
import { isApiNotFound, isConflict } from '../../lib/kube/errors.js';
import { Informer } from '../../lib/kube/informer.js';
import { Nodes, Pods } from '../../lib/kube/resources.js';
import type { Logger } from '../../lib/log.js';
import type { EventRecorder } from '../../lib/kube/event-recorder.js';
import { ApiEventRecorder } from '../../lib/kube/event-recorder.js';
import { SchedulerCache } from './cache.js';
import type { FilterFailure, NodeInfo } from './framework.js';
import { filterNode, type PodToSchedule } from './filters.js';
import { fitErrorMessage } from './fit-error.js';
import { hostPorts, podKeyOf } from './pod-info.js';
import { SchedulingQueue } from './queue.js';
import { podRequests } from './resources.js';
import { selectHost } from './score.js';

/** The default `schedulerName`. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** Pods with this `spec.schedulerName` are scheduled (default `default-scheduler`). */
  schedulerName?: string;
  /** Replaces the API event recorder (tests). */
  recorder?: EventRecorder;
  /** Backoff of unschedulable pods (kube's podInitialBackoffSeconds / podMaxBackoffSeconds). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The parts of a pod whose change can make it schedulable (kube's `isPodUpdated` ignores status). */
function schedulingRelevant(pod: Pod): string {
  return JSON.stringify([pod.spec, pod.metadata?.labels, pod.metadata?.annotations]);
}

/** Binds pending pods to nodes. */
export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly log: Logger;
  private readonly recorder: EventRecorder;
  private readonly name: string;
  private running?: Promise<void>;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly opts: SchedulerOptions) {
    this.log = opts.logger.child({ component: 'kube-scheduler' });
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.queue = new SchedulingQueue(opts.clock, { initialBackoffMs: opts.initialBackoffMs, maxBackoffMs: opts.maxBackoffMs });
    this.recorder =
      opts.recorder ??
      new ApiEventRecorder({ client: opts.client, component: this.name, host: '', clock: opts.clock, logger: this.log, qps: 100, burst: 1000 });
    const dropManaged = <T extends Pod | Node>(o: T): T => {
      if (!o.metadata?.managedFields) return o;
      const { managedFields: _m, ...metadata } = o.metadata;
      return { ...o, metadata };
    };
    this.pods = new Informer<Pod>(opts.client, Pods, { clock: opts.clock, logger: this.log, transform: dropManaged });
    this.nodes = new Informer<Node>(opts.client, Nodes, { clock: opts.clock, logger: this.log, transform: dropManaged });
    this.nodes.addHandler({
      onAdd: (n) => {
        this.cache.upsertNode(n);
        this.queue.moveAll();
      },
      onUpdate: (o, n) => {
        this.cache.upsertNode(n);
        if (this.nodeChangeMatters(o, n)) this.queue.moveAll();
      },
      onDelete: (n) => this.cache.removeNode(n.metadata?.name ?? ''),
    });
    this.pods.addHandler({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (o, p) => this.onPodUpdate(o, p),
      onDelete: (p) => this.onPodDelete(p),
    });
  }

  /** Starts the informers and, once they synced, the scheduling loop. */
  start(): Promise<void> {
    this.nodes.start();
    this.pods.start();
    const ready = Promise.all([this.nodes.waitForSync(), this.pods.waitForSync()]).then(() => {
      if (this.stopped) return;
      this.running = this.loop();
      this.log.info({ schedulerName: this.name }, 'scheduler started');
    });
    return ready;
  }

  /** Stops scheduling; in-flight bindings finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    await this.running;
    await Promise.allSettled([...this.inflight]);
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
  }

  private responsible(pod: Pod): boolean {
    return (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.name;
  }

  private pending(pod: Pod): boolean {
    return !pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && !isTerminal(pod) && this.responsible(pod) && !pod.spec?.schedulingGates?.length;
  }

  private nodeChangeMatters(o: Node, n: Node): boolean {
    const ready = (x: Node): string | undefined => x.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    return (
      JSON.stringify(o.status?.allocatable) !== JSON.stringify(n.status?.allocatable) ||
      JSON.stringify(o.metadata?.labels) !== JSON.stringify(n.metadata?.labels) ||
      JSON.stringify(o.spec?.taints) !== JSON.stringify(n.spec?.taints) ||
      !!o.spec?.unschedulable !== !!n.spec?.unschedulable ||
      ready(o) !== ready(n)
    );
  }

  private onPodAdd(pod: Pod): void {
    if (pod.spec?.nodeName || isTerminal(pod)) {
      this.cache.observePod(pod);
      return;
    }
    if (this.pending(pod)) this.queue.add(podKeyOf(pod), pod.spec?.priority ?? 0);
  }

  private onPodUpdate(old: Pod, pod: Pod): void {
    const key = podKeyOf(pod);
    if (pod.spec?.nodeName || isTerminal(pod)) {
      const freed = !!old.spec?.nodeName && !isTerminal(old) && isTerminal(pod);
      this.cache.observePod(pod);
      this.queue.delete(key);
      if (freed) this.queue.moveAll();
      return;
    }
    if (!this.pending(pod)) {
      this.queue.delete(key);
      return;
    }
    if (!this.queue.has(key) || schedulingRelevant(old) !== schedulingRelevant(pod)) this.queue.add(key, pod.spec?.priority ?? 0);
  }

  private onPodDelete(pod: Pod): void {
    const placed = this.cache.isPlaced(pod.metadata?.uid ?? '');
    this.cache.removePod(pod);
    this.queue.delete(podKeyOf(pod));
    if (placed) this.queue.moveAll();
  }

  private async loop(): Promise<void> {
    let n = 0;
    for (;;) {
      const key = await this.queue.pop();
      if (key === undefined) return;
      try {
        this.scheduleOne(key);
      } catch (err) {
        this.log.error({ pod: key, err: errorMessage(err) }, 'scheduling cycle failed');
        this.queue.markUnschedulable(key);
      }
      // Let timers and I/O run between bursts of scheduling cycles.
      if (++n % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** One scheduling cycle: synchronous, so no other cycle sees a half-updated cache. */
  private scheduleOne(key: string): void {
    const pod = this.pods.get(key);
    if (!pod || !this.pending(pod) || this.cache.isPlaced(pod.metadata?.uid ?? '')) {
      this.queue.delete(key);
      return;
    }
    const p: PodToSchedule = { pod, requests: podRequests(pod), ports: hostPorts(pod) };
    const nodes = this.cache.nodes();
    const feasible: NodeInfo[] = [];
    const failures: { node: NodeInfo; failure: FilterFailure }[] = [];
    for (const n of nodes) {
      const f = filterNode(p, n);
      if (f) failures.push({ node: n, failure: f });
      else feasible.push(n);
    }
    if (feasible.length === 0) {
      const msg = fitErrorMessage(p, failures, nodes.length);
      this.log.debug({ pod: key, msg }, 'unschedulable');
      this.queue.markUnschedulable(key);
      this.track(this.reportFailure(pod, 'Unschedulable', msg));
      return;
    }
    const host = selectHost(pod, feasible);
    this.cache.assume(pod, host.name);
    this.track(this.bind(key, pod, host.name));
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async bind(key: string, pod: Pod, nodeName: string): Promise<void> {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    try {
      await this.opts.client.createSubresource(Pods, ns, name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
      this.queue.delete(key);
      this.recorder.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${nodeName}`);
      this.log.debug({ pod: key, node: nodeName }, 'bound');
    } catch (err) {
      this.cache.forget(pod.metadata?.uid ?? '');
      if (isApiNotFound(err) || (isConflict(err) && (await this.boundOrGone(pod)))) {
        // Deleted, or bound by someone else: nothing left to do for this pod.
        this.queue.delete(key);
        this.log.debug({ pod: key, err: errorMessage(err) }, 'binding not needed any more');
        return;
      }
      this.log.warn({ pod: key, node: nodeName, err: errorMessage(err) }, 'binding failed');
      this.queue.markUnschedulable(key);
      await this.reportFailure(pod, 'SchedulerError', `Binding rejected: ${errorMessage(err)}`);
    }
  }

  /** True when the pod no longer needs a binding (bound elsewhere, deleting, or gone). */
  private async boundOrGone(pod: Pod): Promise<boolean> {
    try {
      const cur = await this.opts.client.get<Pod>(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '');
      return cur.metadata?.uid !== pod.metadata?.uid || !!cur.spec?.nodeName || !!cur.metadata?.deletionTimestamp;
    } catch (err) {
      return isApiNotFound(err);
    }
  }

  /** FailedScheduling Event and PodScheduled=False (only written when it changes). */
  private async reportFailure(pod: Pod, reason: string, message: string): Promise<void> {
    this.recorder.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'FailedScheduling', message);
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message) return;
    const cond: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason,
      message,
      lastProbeTime: null as unknown as undefined,
      lastTransitionTime: cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : formatTime(this.opts.clock.now()),
    };
    try {
      await this.opts.client.patch(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '', 'strategic', { status: { conditions: [cond] } }, { subresource: 'status' });
    } catch (err) {
      if (!isApiNotFound(err)) this.log.warn({ pod: podKeyOf(pod), err: errorMessage(err) }, 'updating PodScheduled failed');
    }
  }
}
