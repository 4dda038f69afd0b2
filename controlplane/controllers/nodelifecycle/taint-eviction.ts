/**
 * Taint-based eviction (kube's `NoExecuteTaintManager`, now the taint-eviction-controller):
 * a pod on a node with NoExecute taints it does not tolerate is deleted at once; one that
 * tolerates them for `tolerationSeconds` is deleted when the shortest of those runs out
 * (counted from when the manager first saw it); tolerating forever cancels any eviction.
 */
import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import type { KubeClient } from '../../../lib/kube/client.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import { Pods } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { ComponentRecorder } from '../common/events.js';
import { formatTime } from '../common/time.js';
import { toleratesTaint } from '../../../lib/kube/tolerations.js';

interface Scheduled {
  timer: Timer;
  createdAt: number;
  fireAt: number;
}

/** Schedules and cancels evictions of pods on NoExecute-tainted nodes. */
export class TaintEvictionManager {
  private readonly scheduled = new Map<string, Scheduled>();

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly events: ComponentRecorder,
  ) {}

  /** Re-evaluates `pod` on `node` (undefined when the node is gone or the pod unbound). */
  process(pod: Pod, node: Node | undefined): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (pod.metadata?.deletionTimestamp || !node) {
      this.cancel(key, pod, false);
      return;
    }
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (taints.length === 0) {
      this.cancel(key, pod, true);
      return;
    }
    const tolerations = pod.spec?.tolerations ?? [];
    const used: Toleration[] = [];
    for (const taint of taints) {
      const t = tolerations.find((x) => toleratesTaint(x, taint));
      if (!t) {
        this.cancel(key, pod, false);
        void this.evict(pod);
        return;
      }
      used.push(t);
    }
    // Shortest tolerationSeconds; tolerations without one tolerate forever.
    const secs = used.filter((t) => t.tolerationSeconds !== undefined && t.tolerationSeconds !== null).map((t) => Math.max(0, t.tolerationSeconds!));
    if (secs.length === 0) {
      this.cancel(key, pod, true);
      return;
    }
    const delay = Math.min(...secs) * 1000;
    const now = this.clock.now();
    const existing = this.scheduled.get(key);
    const createdAt = existing?.createdAt ?? now;
    const fireAt = createdAt + delay;
    if (existing) {
      if (existing.fireAt === fireAt) return;
      existing.timer.cancel();
    }
    const timer = this.clock.setTimer(Math.max(0, fireAt - now), () => {
      this.scheduled.delete(key);
      void this.evict(pod);
    });
    this.scheduled.set(key, { timer, createdAt, fireAt });
  }

  /** Forgets a pod (deleted). */
  forget(pod: Pod): void {
    this.cancel(`${pod.metadata?.namespace}/${pod.metadata?.name}`, pod, false);
  }

  /** Cancels every scheduled eviction. */
  stop(): void {
    for (const s of this.scheduled.values()) s.timer.cancel();
    this.scheduled.clear();
  }

  private cancel(key: string, pod: Pod, withEvent: boolean): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    s.timer.cancel();
    this.scheduled.delete(key);
    if (withEvent) this.events.event(Pods, pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  private async evict(pod: Pod): Promise<void> {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name ?? '';
    this.events.event(Pods, pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ns}/${name}`);
    try {
      // PodDisruptionConditions (GA in 1.31): say why before deleting.
      await this.client.patch(
        Pods,
        ns,
        name,
        'strategic',
        {
          status: {
            conditions: [
              { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: formatTime(this.clock.now()) },
            ],
          },
        },
        { subresource: 'status' },
      );
      await this.client.delete(Pods, ns, name, { preconditions: { uid: pod.metadata?.uid } });
      this.log.info({ pod: `${ns}/${name}`, node: pod.spec?.nodeName }, 'evicted pod for NoExecute taint');
    } catch (err) {
      if (!isApiNotFound(err)) this.log.warn({ pod: `${ns}/${name}`, err: errorMessage(err) }, 'taint eviction failed');
    }
  }
}
