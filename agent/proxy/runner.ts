/**
 * A bounded-frequency runner, after kube-proxy's `async.BoundedFrequencyRunner`: it calls
 * one async function (the proxier's sync) no more often than `minInterval`, at least every
 * `maxInterval`, and again after a failure with exponential backoff.
 *
 * ```
 *  idle ──run()──► sync now ──► (changes during the sync or within minInterval of its
 *                                start are coalesced into one sync at start+minInterval)
 *        ◄──────── maxInterval without a sync: periodic sync ('periodic')
 *  sync fails ──► retry after backoff (initial … maxInterval), unless a change or the
 *                 periodic sync comes first
 * ```
 * The first change after an idle period runs at once, so a change reaches the kernel well
 * within a second even though `minInterval` defaults to 1 s. Time comes from the injected
 * clock, so FakeClock drives every path in tests.
 */
import type { Clock, Timer } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { backoffDelay, type BackoffPolicy } from '../../lib/backoff.js';

/** Why a sync runs. */
export type SyncReason = 'initial' | 'change' | 'periodic' | 'retry' | 'manual';

/** Options of {@link BoundedFrequencyRunner}. */
export interface RunnerOptions {
  clock: Clock;
  logger: Logger;
  /** Minimum time between the starts of two syncs (kube-proxy's minSyncPeriod). */
  minIntervalMs: number;
  /** Maximum time between syncs (kube-proxy's syncPeriod). */
  maxIntervalMs: number;
  /** Retry backoff after a failure; defaults to 1 s doubling up to `maxIntervalMs`. */
  backoff?: BackoffPolicy;
  /** The work. A rejection schedules a retry. */
  fn: (reason: SyncReason) => Promise<void>;
}

/** Runs a sync function with a minimum and a maximum interval, and retries on failure. */
export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly fn: (reason: SyncReason) => Promise<void>;

  private started = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  private pending: SyncReason | null = null;
  private lastStart = Number.NEGATIVE_INFINITY;
  private retryAt: number | null = null;
  private failures = 0;
  private timer: Timer | null = null;
  private onAbort: (() => void) | null = null;
  private signal: AbortSignal | undefined;

  /** Number of syncs started, for tests and metrics. */
  runs = 0;

  constructor(opts: RunnerOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
    this.minMs = opts.minIntervalMs;
    this.maxMs = opts.maxIntervalMs;
    this.backoff = opts.backoff ?? { initialMs: 1000, maxMs: Math.max(1000, opts.maxIntervalMs), factor: 2 };
    this.fn = opts.fn;
  }

  /** Starts the loop: an initial sync now, then as requested and periodically. */
  start(signal?: AbortSignal): void {
    if (this.started) return;
    this.started = true;
    if (signal) {
      if (signal.aborted) {
        this.stopped = true;
        return;
      }
      this.signal = signal;
      this.onAbort = () => void this.stop();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.pending = 'initial';
    this.reschedule();
  }

  /** Asks for a sync: now if the last one started at least `minInterval` ago, else then. */
  run(): void {
    if (!this.pending || this.pending === 'periodic' || this.pending === 'retry') this.pending = 'change';
    this.reschedule();
  }

  /**
   * Runs a sync right away (after any in-flight one), regardless of `minInterval`, and
   * resolves or rejects with its outcome. Works whether or not the loop is started.
   */
  async runNow(reason: SyncReason = 'manual'): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    this.pending = null;
    await this.execute(reason);
  }

  /** Stops the loop and waits for an in-flight sync to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    if (this.signal && this.onAbort) this.signal.removeEventListener('abort', this.onAbort);
    this.onAbort = null;
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Consecutive failures so far (0 after a success). */
  consecutiveFailures(): number {
    return this.failures;
  }

  private reschedule(): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.started || this.stopped || this.running) return;
    const now = this.clock.now();
    // No periodic sync before the first one has run.
    let at = Number.isFinite(this.lastStart) ? this.lastStart + this.maxMs : Number.POSITIVE_INFINITY;
    let reason: SyncReason = 'periodic';
    if (this.retryAt !== null && this.retryAt < at) {
      at = this.retryAt;
      reason = 'retry';
    }
    if (this.pending) {
      const due = this.pending === 'initial' ? now : Math.max(now, this.lastStart + this.minMs);
      if (due <= at) {
        at = due;
        reason = this.pending;
      }
    }
    if (at === Number.POSITIVE_INFINITY) return;
    this.timer = this.clock.setTimer(Math.max(0, at - now), () => {
      this.timer = null;
      if (this.stopped || this.running) return;
      this.pending = null;
      void this.execute(reason).catch(() => undefined);
    });
  }

  private execute(reason: SyncReason): Promise<void> {
    this.lastStart = this.clock.now();
    this.runs++;
    const p = (async () => {
      try {
        await this.fn(reason);
        this.failures = 0;
        this.retryAt = null;
      } catch (err) {
        this.failures++;
        const delay = backoffDelay(this.backoff, this.failures - 1);
        this.retryAt = this.clock.now() + delay;
        this.log.warn({ err, reason, failures: this.failures, retryInMs: delay }, 'proxy sync failed');
        throw err;
      }
    })();
    this.running = p;
    const done = (): void => {
      if (this.running === p) this.running = null;
      this.reschedule();
    };
    p.then(done, done);
    return p;
  }
}
