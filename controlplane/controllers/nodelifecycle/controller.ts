/**
 * The node lifecycle controller (kube's `pkg/controller/nodelifecycle`, simplified).
 *
 * ```
 *  every nodeMonitorPeriod (5 s):
 *    for each node: heartbeat seen? (Ready lastHeartbeatTime changed, or Lease renewTime moved)
 *         yes ─► probeTimestamp = now
 *    now > probeTimestamp + grace (40 s; 60 s for a node that never posted Ready)?
 *         ─► Ready, MemoryPressure, DiskPressure, PIDPressure := Unknown (NodeStatusUnknown,
 *            "Kubelet stopped posting node status."); pods on it marked not Ready
 *  on every node change and pass: taints follow conditions
 *    Ready=False ─► not-ready (NoSchedule + NoExecute); Ready=Unknown ─► unreachable (both);
 *    pressure conditions, NetworkUnavailable, spec.unschedulable ─► their NoSchedule taints
 *  NoExecute taints ─► taint eviction (after tolerationSeconds)
 * ```
 *
 * Deviations: no zone-based disruption rate limiting (taints are applied at once), and the
 * health of a node seen for the first time starts at this controller's clock, as kube's does.
 */
import type { Node, NodeCondition, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Timer } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import { isApiNotFound, isConflict } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Leases, Nodes, Pods } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import type { ComponentRecorder } from '../common/events.js';
import { formatTime, parseTime } from '../common/time.js';
import { QueueWorker } from '../common/worker.js';
import { reconcileTaints } from './taints.js';
import { TaintEvictionManager } from './taint-eviction.js';

/** Options of {@link NodeLifecycleController}. */
export interface NodeLifecycleOptions {
  /** `--node-monitor-period` (default 5 s). */
  monitorPeriodMs?: number;
  /** `--node-monitor-grace-period` (default 40 s). */
  gracePeriodMs?: number;
  /** `--node-startup-grace-period` (default 60 s). */
  startupGracePeriodMs?: number;
  /** Evict pods that do not tolerate NoExecute taints (default true). */
  taintEviction?: boolean;
}

const LEASE_NAMESPACE = 'kube-node-lease';
const BY_NODE = 'nodeName';
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

interface Health {
  probeTimestamp: number;
  heartbeat?: string;
  leaseRenew?: number;
}

/** Watches node heartbeats and keeps node conditions and taints honest. */
export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly health = new Map<string, Health>();
  private readonly taintWorker: QueueWorker;
  private readonly eviction?: TaintEvictionManager;
  private readonly log: Logger;
  private readonly events: ComponentRecorder;
  private readonly period: number;
  private readonly grace: number;
  private readonly startupGrace: number;
  private timer?: Timer;
  private monitoring?: Promise<void>;
  private stopped = false;

  constructor(private readonly ctx: ControllerContext, opts: NodeLifecycleOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.events = ctx.recorder('node-controller');
    this.period = opts.monitorPeriodMs ?? 5000;
    this.grace = opts.gracePeriodMs ?? 40_000;
    this.startupGrace = opts.startupGracePeriodMs ?? 60_000;
    this.nodes = ctx.informers.informerFor<Node>(Nodes);
    this.leases = ctx.informers.informerFor<Lease>(Leases);
    this.pods = ctx.informers.informerFor<Pod>(Pods);
    ctx.informers.ensureIndex<Pod>(Pods, BY_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    this.taintWorker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: 1, sync: (n) => this.syncTaints(n) });
    if (opts.taintEviction ?? true) this.eviction = new TaintEvictionManager(ctx.client, ctx.clock, this.log, ctx.recorder('taint-eviction-controller'));
    this.nodes.addHandler({
      onAdd: (n) => this.onNode(n),
      onUpdate: (_o, n) => this.onNode(n),
      onDelete: (n) => {
        this.health.delete(n.metadata?.name ?? '');
        for (const p of this.pods.byIndex(BY_NODE, n.metadata?.name ?? '')) this.eviction?.forget(p);
      },
    });
    this.pods.addHandler({
      onAdd: (p) => this.onPod(p),
      onUpdate: (_o, p) => this.onPod(p),
      onDelete: (p) => this.eviction?.forget(p),
    });
  }

  start(): void {
    this.taintWorker.start();
    for (const n of this.nodes.list()) this.onNode(n);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.eviction?.stop();
    await this.monitoring;
    await this.taintWorker.stop();
  }

  private onNode(n: Node): void {
    this.taintWorker.queue.add(n.metadata?.name ?? '');
    if (this.eviction) for (const p of this.pods.byIndex(BY_NODE, n.metadata?.name ?? '')) this.eviction.process(p, n);
  }

  private onPod(p: Pod): void {
    if (!this.eviction || !p.spec?.nodeName) return;
    this.eviction.process(p, this.nodes.get(p.spec.nodeName));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.ctx.clock.setTimer(ms, () => {
      this.monitoring = this.monitor()
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'node health pass failed'))
        .finally(() => this.schedule(this.period));
    });
  }

  /** One pass over every node (`monitorNodeHealth`). */
  async monitor(): Promise<void> {
    for (const node of this.nodes.list()) {
      if (this.stopped) return;
      try {
        await this.checkNode(node);
      } catch (err) {
        if (!isConflict(err) && !isApiNotFound(err)) this.log.warn({ node: node.metadata?.name, err: errorMessage(err) }, 'updating node health failed');
      }
    }
  }

  private async checkNode(node: Node): Promise<void> {
    const name = node.metadata?.name ?? '';
    const now = this.ctx.clock.now();
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    let h = this.health.get(name);
    if (!h) {
      h = { probeTimestamp: now, heartbeat: ready?.lastHeartbeatTime };
      this.health.set(name, h);
    } else if (ready?.lastHeartbeatTime !== h.heartbeat) {
      h.heartbeat = ready?.lastHeartbeatTime;
      h.probeTimestamp = now;
    }
    const lease = this.leases.get(`${LEASE_NAMESPACE}/${name}`);
    const renew = parseTime(lease?.spec?.renewTime);
    if (renew !== undefined && (h.leaseRenew === undefined || renew > h.leaseRenew)) {
      h.leaseRenew = renew;
      h.probeTimestamp = now;
    }
    const grace = ready ? this.grace : this.startupGrace;
    if (now <= h.probeTimestamp + grace) return;

    const nowT = formatTime(now);
    const conds: NodeCondition[] = structuredClone(node.status?.conditions ?? []) as NodeCondition[];
    let changed = false;
    for (const type of KUBELET_CONDITIONS) {
      const c = conds.find((x) => x.type === type);
      if (!c) {
        conds.push({
          type,
          status: 'Unknown',
          reason: 'NodeStatusNeverUpdated',
          message: 'Kubelet never posted node status.',
          lastHeartbeatTime: node.metadata?.creationTimestamp,
          lastTransitionTime: nowT,
        });
        changed = true;
      } else if (c.status !== 'Unknown') {
        c.status = 'Unknown';
        c.reason = 'NodeStatusUnknown';
        c.message = 'Kubelet stopped posting node status.';
        c.lastTransitionTime = nowT;
        changed = true;
      }
    }
    if (!changed) return;
    this.log.info({ node: name, lastProbe: formatTime(h.probeTimestamp) }, 'node stopped posting status; marking conditions Unknown');
    await this.ctx.client.update<Node>(Nodes, { ...node, status: { ...(node.status ?? {}), conditions: conds } }, { subresource: 'status' });
    if (ready?.status === 'True') {
      this.events.event(Nodes, { ...node, metadata: { ...node.metadata, uid: name } }, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      await this.markPodsNotReady(name);
    }
  }

  /** `MarkPodsNotReady`: Ready=False on every pod of the node. */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    const nowT = formatTime(this.ctx.clock.now());
    for (const pod of this.pods.byIndex(BY_NODE, nodeName)) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: nowT } : c));
      try {
        await this.ctx.client.update<Pod>(Pods, { ...pod, status: { ...(pod.status ?? {}), conditions } }, { subresource: 'status' });
        this.events.event(Pods, pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (err) {
        if (!isApiNotFound(err)) this.log.warn({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: errorMessage(err) }, 'marking pod not ready failed');
      }
    }
  }

  private async syncTaints(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) return;
    const taints = reconcileTaints(node, formatTime(this.ctx.clock.now()));
    if (!taints) return;
    this.log.info({ node: name, taints: taints.map((t) => `${t.key}:${t.effect}`) }, 'updating node taints');
    await this.ctx.client.update<Node>(Nodes, { ...node, spec: { ...(node.spec ?? {}), taints: taints.length ? taints : undefined } });
  }
}
