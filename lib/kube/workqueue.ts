/**
 * A work queue with client-go's guarantees: a key is queued at most once, never processed by
 * two workers at the same time, and a key added while it is being processed is queued again
 * when the worker calls `done`. Delayed and rate-limited adds use the injected clock.
 */
import type { Clock, Timer } from '../clock.js';
import { KeyedBackoff, type BackoffPolicy } from '../backoff.js';

/** Default per-key retry policy: 5 ms doubling to 5 min (client-go's controller default is 1000 s). */
export const DEFAULT_RETRY_POLICY: BackoffPolicy = { initialMs: 5, maxMs: 300_000, factor: 2 };

/** A deduplicating, per-key serialized queue of string keys. */
export class WorkQueue {
  private queue: string[] = [];
  private dirty = new Set<string>();
  private processing = new Set<string>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private delayed = new Map<string, { timer: Timer; at: number }>();
  private shuttingDown = false;
  private readonly retries: KeyedBackoff;

  constructor(
    private readonly clock: Clock,
    retryPolicy: BackoffPolicy = DEFAULT_RETRY_POLICY,
  ) {
    this.retries = new KeyedBackoff({ ...retryPolicy, resetAfterMs: Number.MAX_SAFE_INTEGER }, clock);
  }

  /** Queues `key` unless it is already queued. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(key);
      this.processing.add(key);
      w(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Queues `key` after `ms`; an earlier pending delayed add wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { timer, at });
  }

  /** Queues `key` after its next per-key backoff delay. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.retries.next(key));
  }

  /** Forgets `key`'s failure history (call after a successful sync). */
  forget(key: string): void {
    this.retries.reset(key);
  }

  /** Consecutive failures recorded for `key` (0 after `forget`). */
  retryDelay(key: string): number {
    return this.retries.current(key);
  }

  /** Waits for the next key; resolves `undefined` once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` finished; re-queues it if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Number of keys waiting. */
  len(): number {
    return this.queue.length;
  }

  /** Stops the queue: pending `get`s resolve `undefined`, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}

/**
 * Runs `workers` loops taking keys from `queue` and calling `handle`. A handler that throws
 * re-queues its key with backoff; one that resolves forgets the key's failures.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  handle: (key: string) => Promise<void>,
  onError: (key: string, err: unknown) => void,
): Promise<void> {
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await handle(key);
        queue.forget(key);
      } catch (err) {
        onError(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
}
