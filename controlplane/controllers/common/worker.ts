/**
 * The loop every controller runs: keys from a {@link WorkQueue}, a sync function per key, and
 * rate-limited retries when the sync throws (client-go's `processNextWorkItem`).
 */
import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import { errorMessage, hasCode } from '../../../lib/errors.js';
import { isConflict } from '../../../lib/kube/errors.js';
import { WorkQueue, runWorkers } from '../../../lib/kube/workqueue.js';
import type { BackoffPolicy } from '../../../lib/backoff.js';

/** Error code of a sync that found the informer cache behind its own writes. */
export const STALE_CACHE = 'SKIFF_STALE_CACHE';

/** Options of {@link QueueWorker}. */
export interface QueueWorkerOptions {
  clock: Clock;
  logger: Logger;
  /** Concurrent workers; one key is never synced by two at once. */
  workers: number;
  sync: (key: string) => Promise<void>;
  /** Per-key retry backoff; default 5 ms doubling to 5 min. */
  retry?: BackoffPolicy;
}

/** A work queue with its workers. */
export class QueueWorker {
  readonly queue: WorkQueue;
  private running?: Promise<void>;

  constructor(private readonly opts: QueueWorkerOptions) {
    this.queue = new WorkQueue(opts.clock, opts.retry);
  }

  /** Starts the workers. */
  start(): void {
    if (this.running) return;
    this.running = runWorkers(this.queue, this.opts.workers, this.opts.sync, (key, err) => {
      // A conflict or a stale cache only means our cache was behind: the retry reads newer objects.
      const level = isConflict(err) || hasCode(err, STALE_CACHE) ? 'debug' : 'warn';
      this.opts.logger[level]({ key, err: errorMessage(err) }, 'sync failed, requeuing');
    });
  }

  /** Shuts the queue down and waits for the workers to finish their current key. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }
}
