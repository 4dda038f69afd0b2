/**
 * Pod workers: one serialized worker per pod UID (kubelet's `pod_workers.go`).
 *
 * Each worker owns a mailbox holding at most one pending turn: an update that arrives while
 * a turn is running replaces whatever was pending, and the worker runs one more turn with the
 * newest pod afterwards. A worker's phase is derived from the pod (deletionTimestamp,
 * terminal phase, gone from the API) and from its own records (the sync said the pod is
 * terminal, termination finished):
 *
 * ```
 *   update(pod) ─► SYNCING ── sync() ──┬─► resync after syncFrequency (jittered), or at a backoff's end,
 *                    ▲  │              │   or at once on wake(uid): container exit seen by the PLEG,
 *                    │  │              │   probe result change
 *                    │  │              └─► failure: retry after a jittered backoff (1 s … 10 s)
 *                    │  │
 *                    │  │ deletionTimestamp set / removed from the API / the API phase is terminal
 *                    │  │ (aborts a running sync through its AbortController)
 *                    │  │ or sync() reports a terminal phase (Succeeded / Failed)
 *                    │  ▼
 *                    │ TERMINATING ── syncTerminating(grace) ──► preStop, stop containers, stop sandbox
 *                    │  │   (a shorter grace period aborts and restarts the turn; grace only decreases)
 *                    │  ▼
 *                    │ TERMINATED ── syncTerminated() ──► remove containers/sandboxes/volumes/cgroup
 *                    │  │                                  (deleted pods), confirm the deletion
 *                    │  ▼
 *                    │ FINISHED ── gone from the API ──► the worker is forgotten
 *                    │     └─ deletionTimestamp arrives later ──► TERMINATED again (cleanup + confirm)
 *   (never back) ────┘
 * ```
 *
 * A pod rejected at admission starts FINISHED. Turns of different pods run in parallel; the
 * turns of one pod never overlap.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { KeyedBackoff, type BackoffPolicy } from '../../lib/backoff.js';
import { errorMessage, hasCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { SyncContext, SyncOutcome } from './syncer.js';

/** Where a pod worker is in the pod's life. */
export type WorkerPhase = 'syncing' | 'terminating' | 'terminated' | 'finished';

/** The three turns a worker can take. */
export interface PodWorkerSyncer {
  sync(pod: Pod, ctx: SyncContext): Promise<SyncOutcome>;
  syncTerminating(pod: Pod, gracePeriodSeconds: number, ctx: SyncContext): Promise<SyncOutcome>;
  /** `rejected`: the pod was refused at admission and never ran. */
  syncTerminated(pod: Pod, deleted: boolean, stillInApi: boolean, rejected?: boolean): Promise<void>;
}

/** Options of {@link PodWorkers}. */
export interface PodWorkersOptions {
  syncer: PodWorkerSyncer;
  clock: Clock;
  logger: Logger;
  /** kubelet's `syncFrequency` (default 1 min). */
  resyncIntervalMs?: number;
  /** Retry policy after a failed turn (default 1 s doubling to 10 s, ±50 % jitter). */
  retry?: BackoffPolicy;
  random?: () => number;
  /** Called when a deleted pod's worker is forgotten. */
  onForget?(uid: string): void;
}

interface Worker {
  uid: string;
  pod: Pod;
  phase: WorkerPhase;
  /** Removed from the API. */
  deleted: boolean;
  /** Cleanup for a deleted pod has run. */
  cleanedUp: boolean;
  rejected: boolean;
  /** Effective termination grace period (seconds), 0 until termination is requested. */
  grace: number;
  pending: boolean;
  looping: boolean;
  ac?: AbortController;
  timer?: Timer;
  timerAt?: number;
  /** Runtime fingerprint at the end of the last turn. */
  fingerprint?: string;
  firstSeenAt: number;
}

/** Job-like pods whose API phase is terminal are not run again. */
function apiTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Serialized per-pod workers; see the module comment. */
export class PodWorkers {
  private readonly workers = new Map<string, Worker>();
  private readonly retry: KeyedBackoff;
  private readonly resyncMs: number;
  private readonly random: () => number;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: PodWorkersOptions) {
    this.random = o.random ?? Math.random;
    this.resyncMs = o.resyncIntervalMs ?? 60_000;
    this.retry = new KeyedBackoff(o.retry ?? { initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.5 }, o.clock, this.random);
  }

  /** Delivers the newest pod object (or its deletion from the API). */
  update(pod: Pod, opts: { deleted?: boolean } = {}): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? '';
    let w = this.workers.get(uid);
    if (!w) {
      if (opts.deleted) return; // never known: nothing to do
      w = this.create(uid, pod, apiTerminal(pod) || !!pod.metadata?.deletionTimestamp ? 'terminating' : 'syncing');
    }
    w.pod = pod;
    if (opts.deleted) w.deleted = true;
    const wantsTermination = w.deleted || !!pod.metadata?.deletionTimestamp || apiTerminal(pod);
    switch (w.phase) {
      case 'syncing':
        if (wantsTermination) {
          w.phase = 'terminating';
          w.grace = this.grace(w, pod);
          w.ac?.abort(); // the running sync is superseded
        }
        break;
      case 'terminating': {
        const g = this.grace(w, pod);
        if (g < w.grace) {
          w.grace = g;
          w.ac?.abort(); // restart termination with the shorter grace period
        }
        break;
      }
      case 'terminated':
        break;
      case 'finished':
        if ((w.deleted || pod.metadata?.deletionTimestamp) && !w.cleanedUp) w.phase = 'terminated';
        else if (w.deleted && w.cleanedUp) this.forget(w);
        else return;
        break;
    }
    if (!this.workers.has(uid)) return;
    w.pending = true;
    this.schedule(w);
  }

  /** Registers a pod refused at admission: its worker starts finished. */
  rejected(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.workers.has(uid)) return;
    const w = this.create(uid, pod, 'finished');
    w.rejected = true;
  }

  /** Asks for a sync now (a runtime change, a probe result, a backoff that ended). */
  wake(uid: string, fingerprint?: string): void {
    const w = this.workers.get(uid);
    if (!w || w.phase !== 'syncing') return;
    if (fingerprint !== undefined && fingerprint === w.fingerprint) return; // our own doing
    w.pending = true;
    this.schedule(w);
  }

  /** True when a worker exists for `uid`. */
  has(uid: string): boolean {
    return this.workers.has(uid);
  }

  /** The phase of `uid`'s worker. */
  phaseOf(uid: string): WorkerPhase | undefined {
    return this.workers.get(uid)?.phase;
  }

  /** True while a turn runs or is pending for `uid`. */
  isBusy(uid: string): boolean {
    const w = this.workers.get(uid);
    return !!w && (w.looping || w.pending);
  }

  /** When the agent first saw the pod (ms). */
  firstSeenAt(uid: string): number | undefined {
    return this.workers.get(uid)?.firstSeenAt;
  }

  /** The pod objects of workers, optionally only those in the given phases. */
  pods(phases?: readonly WorkerPhase[]): Pod[] {
    const out: Pod[] = [];
    for (const w of this.workers.values()) if (!phases || phases.includes(w.phase)) out.push(w.pod);
    return out;
  }

  /** Pods admitted and not yet terminated (kubelet's active pods). */
  activePods(): Pod[] {
    const out: Pod[] = [];
    for (const w of this.workers.values()) if (!w.rejected && (w.phase === 'syncing' || w.phase === 'terminating')) out.push(w.pod);
    return out;
  }

  /** UIDs of every worker. */
  uids(): string[] {
    return [...this.workers.keys()];
  }

  /** Resolves when no turn is running or pending (timers may still be armed). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops every worker: running turns are aborted, timers cancelled. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.workers.values()) {
      w.timer?.cancel();
      w.ac?.abort();
      w.pending = false;
    }
    await this.idle();
  }

  private isIdle(): boolean {
    for (const w of this.workers.values()) if (w.looping || w.pending) return false;
    return true;
  }

  private create(uid: string, pod: Pod, phase: WorkerPhase): Worker {
    const w: Worker = {
      uid,
      pod,
      phase,
      deleted: false,
      cleanedUp: false,
      rejected: false,
      grace: 0,
      pending: false,
      looping: false,
      firstSeenAt: this.o.clock.now(),
    };
    if (phase === 'terminating') w.grace = this.grace(w, pod);
    this.workers.set(uid, w);
    return w;
  }

  /**
   * The effective grace period (`calculateEffectiveGracePeriod`): the API's
   * deletionGracePeriodSeconds when it is shorter, else the pod's
   * terminationGracePeriodSeconds; at least 1 s; it never grows.
   */
  private grace(w: Worker, pod: Pod): number {
    let g = w.grace;
    const d = pod.metadata?.deletionGracePeriodSeconds;
    // As kubelet: an API grace of 0 (force deletion) counts as "unset" and the spec's period
    // applies; the pod is already gone from the API, only its containers are stopped.
    if (d !== undefined && d !== null && (g === 0 || d < g)) g = d;
    if (g === 0) g = pod.spec?.terminationGracePeriodSeconds ?? 30;
    return Math.max(1, g);
  }

  private schedule(w: Worker): void {
    if (w.looping || this.stopped) return;
    void this.loop(w);
  }

  private arm(w: Worker, delayMs: number): void {
    const at = this.o.clock.now() + Math.max(0, delayMs);
    if (w.timer && w.timerAt !== undefined && w.timerAt <= at) return;
    w.timer?.cancel();
    w.timerAt = at;
    w.timer = this.o.clock.setTimer(Math.max(0, delayMs), () => {
      w.timer = undefined;
      w.timerAt = undefined;
      if (!this.workers.has(w.uid)) return;
      w.pending = true;
      this.schedule(w);
    });
  }

  private forget(w: Worker): void {
    w.timer?.cancel();
    this.workers.delete(w.uid);
    this.retry.reset(w.uid);
    this.o.onForget?.(w.uid);
  }

  private async loop(w: Worker): Promise<void> {
    w.looping = true;
    try {
      while (w.pending && !this.stopped && this.workers.has(w.uid)) {
        w.pending = false;
        w.timer?.cancel();
        w.timer = undefined;
        w.timerAt = undefined;
        const ac = new AbortController();
        w.ac = ac;
        const phase = w.phase;
        try {
          if (phase === 'syncing') {
            const out = await this.o.syncer.sync(w.pod, { signal: ac.signal });
            w.fingerprint = out.fingerprint;
            if (w.phase !== 'syncing') continue;
            if (out.terminal) {
              w.phase = 'terminating';
              w.grace = this.grace(w, w.pod);
              w.pending = true;
              continue;
            }
            if (out.failed) {
              this.arm(w, this.retry.next(w.uid));
            } else {
              this.retry.reset(w.uid);
              const resync = this.resyncMs * (1 + 0.5 * this.random());
              // A wake time already past would make a hot loop: only future ones count.
              const now = this.o.clock.now();
              const untilWake = out.wakeAt !== undefined && out.wakeAt > now ? out.wakeAt - now : Infinity;
              this.arm(w, Math.min(resync, untilWake));
            }
          } else if (phase === 'terminating') {
            const out = await this.o.syncer.syncTerminating(w.pod, w.grace, { signal: ac.signal });
            w.fingerprint = out.fingerprint;
            this.retry.reset(w.uid);
            w.phase = 'terminated';
            w.pending = true;
          } else if (phase === 'terminated') {
            const deleted = w.deleted || !!w.pod.metadata?.deletionTimestamp;
            await this.o.syncer.syncTerminated(w.pod, deleted, !w.deleted, w.rejected);
            this.retry.reset(w.uid);
            w.phase = 'finished';
            if (deleted) w.cleanedUp = true;
            if (w.deleted) this.forget(w);
          }
        } catch (err) {
          if (ac.signal.aborted && (w.pending || this.stopped)) continue; // superseded by a newer turn
          const delay = this.retry.next(w.uid);
          const level = hasCode(err, 'SKIFF_UNAVAILABLE') ? 'info' : 'warn';
          this.o.logger[level]({ pod: `${w.pod.metadata?.namespace}/${w.pod.metadata?.name}`, phase, err: errorMessage(err), retryInMs: Math.round(delay) }, 'pod worker turn failed');
          this.arm(w, delay);
        } finally {
          w.ac = undefined;
        }
      }
    } finally {
      w.looping = false;
      if (this.isIdle()) for (const r of this.idleWaiters.splice(0)) r();
    }
  }
}
