/**
 * A small single-consumer async queue: producers `push`, the consumer iterates with
 * `for await`. Used for watch streams (store watchers and registry watchers).
 */

/** Options of an {@link AsyncQueue}. */
export interface AsyncQueueOptions {
  /** Items buffered before the queue gives up on a slow consumer (ends with `overflowError`). */
  maxBuffered?: number;
  /** Called once when the queue ends, for whatever reason. */
  onClose?: () => void;
  /** The error the iteration throws on overflow; when absent the iteration just ends. */
  overflowError?: () => unknown;
}

/** An async iterable fed by `push`, ended by `end` or `close`. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private done = false;
  private error: unknown = undefined;
  private readonly max: number;

  constructor(private readonly opts: AsyncQueueOptions = {}) {
    this.max = opts.maxBuffered ?? 100_000;
  }

  /** True once ended or closed. */
  get closed(): boolean {
    return this.done;
  }

  /** Number of items waiting for the consumer. */
  get size(): number {
    return this.items.length;
  }

  /** Adds an item; ignored after the end. Returns false when the queue is (now) closed. */
  push(item: T): boolean {
    if (this.done) return false;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.max) {
      this.end(this.opts.overflowError?.());
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** Ends the queue; buffered items are still delivered, then the iteration ends (or throws `err`). */
  end(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.opts.onClose?.();
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (err !== undefined) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  /** Ends the queue and drops what is buffered. */
  close(): void {
    this.items = [];
    this.end();
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.done) {
      if (this.error !== undefined) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
