/**
 * Serialises image pulls (kubelet's `serialImagePuller`) or bounds their parallelism
 * (`parallelImagePuller` with `maxParallelImagePulls`). A waiting pull can be abandoned
 * through its signal; one that started runs to the end in the runtime.
 */
import { AbortedError } from '../../../lib/errors.js';

/** A bounded-concurrency FIFO of async jobs. */
export class PullQueue {
  private running = 0;
  private readonly waiting: { start: () => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  /** `limit` 1 serialises; `Infinity` runs everything at once. */
  constructor(private readonly limit: number) {}

  /** Runs `job` when a slot is free. */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new AbortedError('image pull abandoned');
    if (this.running < this.limit) this.running++;
    else {
      // Wait for a slot; the finishing job hands its slot over without releasing it.
      await new Promise<void>((resolve, reject) => {
        const entry: { start: () => void; signal?: AbortSignal; onAbort?: () => void } = { start: resolve, signal };
        entry.onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new AbortedError('image pull abandoned'));
        };
        signal?.addEventListener('abort', entry.onAbort, { once: true });
        this.waiting.push(entry);
      });
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
        next.start();
      } else {
        this.running--;
      }
    }
  }

  /** Jobs running or waiting. */
  size(): number {
    return this.running + this.waiting.length;
  }
}
