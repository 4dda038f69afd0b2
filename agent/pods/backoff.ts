/**
 * client-go's `flowcontrol.Backoff`, the per-key exponential backoff kubelet uses for
 * CrashLoopBackOff (keyed per container) and ImagePullBackOff (keyed per pod and image).
 * Unlike `lib/backoff.ts` it can measure the window from an event time (the container's
 * `finishedAt`) rather than from the moment of the failure, and an entry expires when it
 * was last updated more than twice the maximum ago: a container that ran for 10 minutes
 * starts again at the initial delay.
 */
import type { Clock } from '../../lib/clock.js';

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

/** Per-key exponential backoff with client-go's semantics. */
export class FlowBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    /** First delay (kubelet: 10 s). */
    readonly initialMs: number,
    /** Upper bound (kubelet: 300 s). */
    readonly maxMs: number,
  ) {}

  /** The current delay of `key`, 0 when it has none. */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Records a failure at `eventTime` (ms): doubles the delay, or starts over when expired. */
  next(key: string, eventTime: number = this.clock.now()): number {
    const e = this.entries.get(key);
    let backoffMs: number;
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) backoffMs = this.initialMs;
    else backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    this.entries.set(key, { backoffMs, lastUpdate: this.clock.now() });
    return backoffMs;
  }

  /** True while less than the current delay has passed since `eventTime` (`IsInBackOffSince`). */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return this.clock.now() - eventTime < e.backoffMs;
  }

  /** True while less than the current delay has passed since the last failure (`IsInBackOffSinceUpdate`). */
  isInBackOffSinceUpdate(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(this.clock.now(), e.lastUpdate)) return false;
    return this.clock.now() - e.lastUpdate < e.backoffMs;
  }

  /** When the window measured from `eventTime` ends (ms since the epoch), or undefined. */
  expiresAt(key: string, eventTime: number): number | undefined {
    const e = this.entries.get(key);
    if (!e || this.hasExpired(eventTime, e.lastUpdate)) return undefined;
    return eventTime + e.backoffMs;
  }

  /** When the window measured from the last failure ends, or undefined. */
  updateExpiresAt(key: string): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    return e.lastUpdate + e.backoffMs;
  }

  /** Forgets `key`. */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a pod's entries). */
  resetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Drops entries that have expired (`GC`). */
  gc(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (this.hasExpired(now, e.lastUpdate)) this.entries.delete(k);
  }

  private hasExpired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > this.maxMs * 2;
  }
}
