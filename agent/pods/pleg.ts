/**
 * A PLEG-like relister (kubelet's generic PLEG): every second it lists the sandboxes and
 * containers this agent manages, and reports the pods whose runtime objects changed (a
 * container started, exited or vanished) so their workers sync at once. This is how a
 * container exit is noticed. The latest relist also serves housekeeping (orphans, GC).
 *
 * A failed relist (runtime unavailable) reports nothing: an empty answer is never mistaken
 * for "every container is gone".
 */
import type { Clock, Timer } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { LABELS, type Container, type PodSandbox, type Runtime } from '../runtime/index.js';
import { MANAGED_SELECTOR } from './labels.js';
import { fingerprintOf } from './runtime-state.js';

/** The runtime objects of one pod in a relist. */
export interface RelistPod {
  sandboxes: PodSandbox[];
  containers: Container[];
  fingerprint: string;
}

/** One relist. */
export interface RelistSnapshot {
  /** When it was taken (ms). */
  at: number;
  sandboxes: PodSandbox[];
  containers: Container[];
  byUid: Map<string, RelistPod>;
}

/** Options of {@link Pleg}. */
export interface PlegOptions {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  /** Relist period (default 1 s). */
  intervalMs?: number;
  /** Called for each pod whose runtime objects changed since the previous relist. */
  onPodChange(uid: string, fingerprint: string): void;
}

/** The relister. */
export class Pleg {
  private last?: RelistSnapshot;
  private lastSuccessAt = 0;
  private timer?: Timer;
  private running = false;
  private stopped = true;
  private inflight?: Promise<RelistSnapshot | undefined>;

  constructor(private readonly o: PlegOptions) {}

  /** Starts relisting every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(0);
  }

  /** Stops relisting. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** The latest successful relist. */
  latest(): RelistSnapshot | undefined {
    return this.last;
  }

  /** Healthy while the last successful relist is recent (kubelet: 3 minutes). */
  healthy(thresholdMs = 3 * 60_000): boolean {
    return this.lastSuccessAt > 0 && this.o.clock.now() - this.lastSuccessAt < thresholdMs;
  }

  /** Relists now (joins a relist in flight); resolves undefined when the runtime failed. */
  relist(): Promise<RelistSnapshot | undefined> {
    if (this.inflight) return this.inflight;
    this.inflight = this.doRelist().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(ms, () => {
      if (this.running) return;
      this.running = true;
      void this.relist().finally(() => {
        this.running = false;
        this.arm(this.o.intervalMs ?? 1000);
      });
    });
  }

  private async doRelist(): Promise<RelistSnapshot | undefined> {
    let sandboxes: PodSandbox[];
    let containers: Container[];
    try {
      [sandboxes, containers] = await Promise.all([
        this.o.runtime.listPodSandbox({ labelSelector: { ...MANAGED_SELECTOR } }),
        this.o.runtime.listContainers({ labelSelector: { ...MANAGED_SELECTOR } }),
      ]);
    } catch (err) {
      this.o.logger.debug({ err: errorMessage(err) }, 'relist failed');
      return undefined;
    }
    const byUid = new Map<string, RelistPod>();
    const entry = (uid: string): RelistPod => {
      let e = byUid.get(uid);
      if (!e) byUid.set(uid, (e = { sandboxes: [], containers: [], fingerprint: '' }));
      return e;
    };
    for (const s of sandboxes) entry(s.labels?.[LABELS.podUid] ?? s.metadata?.uid ?? '').sandboxes.push(s);
    for (const c of containers) entry(c.labels?.[LABELS.podUid] ?? '').containers.push(c);
    for (const e of byUid.values()) e.fingerprint = fingerprintOf(e.sandboxes, e.containers);
    const snap: RelistSnapshot = { at: this.o.clock.now(), sandboxes, containers, byUid };
    const prev = this.last;
    this.last = snap;
    this.lastSuccessAt = snap.at;
    if (prev) {
      for (const [uid, e] of byUid) if (prev.byUid.get(uid)?.fingerprint !== e.fingerprint) this.emit(uid, e.fingerprint);
      for (const uid of prev.byUid.keys()) if (!byUid.has(uid)) this.emit(uid, '');
    }
    return snap;
  }

  private emit(uid: string, fingerprint: string): void {
    try {
      this.o.onPodChange(uid, fingerprint);
    } catch (err) {
      this.o.logger.error({ err: errorMessage(err), uid }, 'PLEG handler failed');
    }
  }
}
