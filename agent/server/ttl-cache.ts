/**
 * A small size-bounded cache whose entries expire after a per-entry TTL, on an injected clock
 * (the token and authorization caches of the kubelet server).
 */
import type { Clock } from '../../lib/clock.js';

/** Maps keys to values for a limited time. Oldest entries are dropped past `maxEntries`. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 4096,
  ) {}

  /** The value stored under `key`, if it has not expired. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.now() >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value` for `ttlMs` (nothing when ttlMs ≤ 0). */
  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.clock.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Number of entries held (expired ones included until touched). */
  size(): number {
    return this.entries.size;
  }
}
