/**
 * The companion control plane's scheduler (kube-scheduler): binds pending pods to nodes
 * through `pods/binding`, with kube's default filters (unschedulable, taints, node
 * affinity/selector, host ports, resources) and a least-allocated + spread score.
 */
import { Scheduler, type SchedulerOptions } from './scheduler.js';

export { Scheduler, DEFAULT_SCHEDULER_NAME, type SchedulerOptions } from './scheduler.js';
export { toleratesTaint, tolerated, effectiveTaints } from './taints.js';
export { nodeMatchesPod } from './node-affinity.js';
export { podRequests, type Resources } from './resources.js';

/** A running scheduler. */
export interface RunningScheduler {
  /** Resolves once the informers synced and the scheduling loop runs. */
  readonly ready: Promise<void>;
  /** Stops scheduling (in-flight bindings finish) and the informers. */
  stop(): Promise<void>;
}

/** Starts the scheduler. */
export function startScheduler(opts: SchedulerOptions): RunningScheduler {
  const s = new Scheduler(opts);
  const ready = s.start();
  return { ready, stop: () => s.stop() };
}
