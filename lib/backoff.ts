/**
 * Exponential backoff with optional jitter, keyed per item, as client-go's
 * `flowcontrol.Backoff` is used for CrashLoopBackOff and ImagePullBackOff.
 */
import type { Clock } from './clock.js';

/** Parameters of an exponential backoff. */
export interface BackoffPolicy {
  /** First delay, in ms. */
  initialMs: number;
  /** Upper bound, in ms. */
  maxMs: number;
  /** Multiplier applied after each failure (2 doubles). */
  factor?: number;
  /** Fraction of random jitter added, 0..1. */
  jitter?: number;
  /** Entries idle for longer than this (ms) are forgotten; defaults to 2×maxMs. */
  resetAfterMs?: number;
}

/** The delay for the `attempt`-th consecutive failure (0-based), without jitter. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const factor = policy.factor ?? 2;
  const d = policy.initialMs * Math.pow(factor, Math.max(0, attempt));
  return Math.min(policy.maxMs, d);
}

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

/**
 * Per-key backoff. `next(key)` records a failure and returns the new delay; `isInBackoff`
 * says whether the key's last failure is still within its delay.
 */
export class KeyedBackoff {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a failure for `key` now and returns the delay before the next attempt. */
  next(key: string): number {
    const now = this.clock.now();
    const reset = this.policy.resetAfterMs ?? this.policy.maxMs * 2;
    const e = this.entries.get(key);
    let delay: number;
    if (!e || now - e.lastUpdate > reset) delay = this.policy.initialMs;
    else delay = Math.min(this.policy.maxMs, e.delayMs * (this.policy.factor ?? 2));
    this.entries.set(key, { delayMs: delay, lastUpdate: now });
    const jitter = this.policy.jitter ?? 0;
    return jitter > 0 ? delay + delay * jitter * this.random() : delay;
  }

  /** The current delay recorded for `key`, or 0. */
  current(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** True while `now` is before the key's last failure plus its delay. */
  isInBackoff(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    return this.clock.now() < e.lastUpdate + e.delayMs;
  }

  /** Milliseconds left in the key's backoff, 0 when none. */
  remaining(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lastUpdate + e.delayMs - this.clock.now());
  }

  /** Forgets `key` (after a success). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries idle for longer than the reset window. */
  gc(): void {
    const now = this.clock.now();
    const reset = this.policy.resetAfterMs ?? this.policy.maxMs * 2;
    for (const [k, e] of this.entries) if (now - e.lastUpdate > reset) this.entries.delete(k);
  }
}
