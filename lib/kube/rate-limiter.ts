/**
 * A token bucket, as client-go's `flowcontrol.NewTokenBucketRateLimiter(qps, burst)` limits
 * a client's request rate (kubelet defaults: kubeAPIQPS 50, kubeAPIBurst 100).
 */
import type { Clock } from '../clock.js';

/** Waits for permission to send one request. */
export interface RateLimiter {
  acquire(signal?: AbortSignal): Promise<void>;
}

/** Token bucket with `qps` refill per second and `burst` capacity. `qps <= 0` disables limiting. */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.qps <= 0) return Promise.resolve();
    // Serialize waiters so tokens are handed out in arrival order.
    const next = this.chain.then(() => this.take(signal));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return;
    }
    const waitMs = ((1 - this.tokens) / this.qps) * 1000;
    await this.clock.sleep(waitMs, signal);
    this.tokens = 0;
    this.last = this.clock.now();
  }
}
