/**
 * The pod garbage collector (kube's `pkg/controller/podgc`), every `gcCheckPeriod` (20 s):
 *
 * - terminated pods (Succeeded/Failed) beyond `terminatedPodThreshold` are deleted, evicted
 *   ones first, then oldest first;
 * - pods bound to a node that does not exist are, once the node has been missing for the
 *   quarantine period and a fresh lookup confirms it, marked Failed with a DisruptionTarget
 *   condition and force-deleted (grace period 0);
 * - unscheduled pods that are being deleted are force-deleted.
 *
 * Deviation: kube's `gcTerminating` (pods on not-ready nodes with the out-of-service taint) is
 * not implemented.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Timer } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Nodes, Pods } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import { isPodTerminal } from '../common/pods.js';
import { formatTime, parseTime } from '../common/time.js';

/** Options of {@link PodGcController}. */
export interface PodGcOptions {
  /** `--terminated-pod-gc-threshold` (default 12500; 0 disables). */
  terminatedPodThreshold?: number;
  /** Check period (kube's gcCheckPeriod, 20 s). */
  periodMs?: number;
  /** How long a node must be missing before its pods go (kube's quarantineTime, 40 s). */
  quarantineMs?: number;
}

/** Deletes orphaned and excess terminated pods. */
export class PodGcController implements Controller {
  readonly name = 'podgc';
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly log: Logger;
  private readonly threshold: number;
  private readonly period: number;
  private readonly quarantine: number;
  /** Node name → when its absence was first noticed. */
  private readonly missingSince = new Map<string, number>();
  private timer?: Timer;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly ctx: ControllerContext, opts: PodGcOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.threshold = opts.terminatedPodThreshold ?? 12500;
    this.period = opts.periodMs ?? 20_000;
    this.quarantine = opts.quarantineMs ?? 40_000;
    this.pods = ctx.informers.informerFor<Pod>(Pods);
    this.nodes = ctx.informers.informerFor<Node>(Nodes);
  }

  start(): void {
    this.schedule(this.period);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.ctx.clock.setTimer(ms, () => {
      this.running = this.gc()
        .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'pod GC pass failed'))
        .finally(() => this.schedule(this.period));
    });
  }

  /** One GC pass. */
  async gc(): Promise<void> {
    const pods = this.pods.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcOrphaned(pods);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly Pod[]): Promise<void> {
    const terminated = pods.filter((p) => isPodTerminal(p));
    const excess = terminated.length - this.threshold;
    if (excess <= 0) return;
    const evicted = (p: Pod): boolean => p.status?.reason === 'Evicted';
    terminated.sort((a, b) => {
      if (evicted(a) !== evicted(b)) return evicted(a) ? -1 : 1;
      return (parseTime(a.metadata?.creationTimestamp) ?? 0) - (parseTime(b.metadata?.creationTimestamp) ?? 0);
    });
    this.log.info({ count: excess, threshold: this.threshold }, 'deleting terminated pods over the threshold');
    for (const p of terminated.slice(0, excess)) await this.forceDelete(p);
  }

  private async gcOrphaned(pods: readonly Pod[]): Promise<void> {
    const now = this.ctx.clock.now();
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || this.nodes.get(n)) continue;
      (byNode.get(n) ?? byNode.set(n, []).get(n)!).push(p);
    }
    for (const n of [...this.missingSince.keys()]) if (!byNode.has(n)) this.missingSince.delete(n);
    for (const [nodeName, orphans] of byNode) {
      const since = this.missingSince.get(nodeName);
      if (since === undefined) {
        this.missingSince.set(nodeName, now);
        continue;
      }
      if (now - since < this.quarantine) continue;
      // The cache may lag: ask the apiserver before deleting anything.
      try {
        await this.ctx.client.get(Nodes, undefined, nodeName);
        this.missingSince.delete(nodeName);
        continue;
      } catch (err) {
        if (!isApiNotFound(err)) throw err;
      }
      this.missingSince.delete(nodeName);
      for (const p of orphans) {
        this.log.info({ pod: `${p.metadata?.namespace}/${p.metadata?.name}`, node: nodeName }, 'deleting pod of a node that no longer exists');
        await this.markFailed(p, 'DeletionByPodGC', 'PodGC: node no longer exists');
        await this.forceDelete(p);
      }
    }
  }

  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    for (const p of pods) if (p.metadata?.deletionTimestamp && !p.spec?.nodeName) await this.forceDelete(p);
  }

  /** Phase Failed (unless terminal) and a DisruptionTarget condition, as kube 1.31+ does. */
  private async markFailed(p: Pod, reason: string, message: string): Promise<void> {
    const status: Record<string, unknown> = {
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message, lastTransitionTime: formatTime(this.ctx.clock.now()) }],
    };
    if (!isPodTerminal(p)) status.phase = 'Failed';
    try {
      await this.ctx.client.patch(Pods, p.metadata?.namespace, p.metadata?.name ?? '', 'strategic', { status }, { subresource: 'status' });
    } catch (err) {
      if (!isApiNotFound(err)) this.log.warn({ pod: p.metadata?.name, err: errorMessage(err) }, 'marking pod failed');
    }
  }

  private async forceDelete(p: Pod): Promise<void> {
    try {
      await this.ctx.client.delete(Pods, p.metadata?.namespace, p.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: p.metadata?.uid } });
    } catch (err) {
      if (!isApiNotFound(err)) this.log.warn({ pod: `${p.metadata?.namespace}/${p.metadata?.name}`, err: errorMessage(err) }, 'deleting pod failed');
    }
  }
}
