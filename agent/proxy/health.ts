/**
 * The proxy's own health, as kube-proxy's `proxierHealthServer` defines it: healthy while
 * starting, and afterwards as long as no queued change has waited longer than the health
 * timeout (kube-proxy uses 2 × syncPeriod) without a successful sync. `/healthz` also fails
 * when the node is being deleted (or tainted `ToBeDeletedByClusterAutoscaler`); `/livez`
 * ignores the node.
 */
import type { Clock } from '../../lib/clock.js';

/** The taint the Cluster Autoscaler puts on a node it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** Tracks queued and applied updates and answers "is the proxy healthy?". */
export class ProxierHealth {
  private lastUpdated: number | undefined;
  private oldestPendingQueued: number | undefined;
  private nodeEligible = true;

  constructor(
    private readonly clock: Clock,
    /** How long a queued change may wait for a sync before the proxy is unhealthy (ms). */
    readonly healthTimeoutMs: number,
  ) {}

  /** A change arrived that needs a sync. */
  queuedUpdate(): void {
    this.oldestPendingQueued ??= this.clock.now();
  }

  /** A sync succeeded: everything queued before it is applied. */
  updated(): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = this.clock.now();
  }

  /** Records whether the node may receive traffic (not deleted, not tainted for deletion). */
  setNodeEligible(eligible: boolean): void {
    this.nodeEligible = eligible;
  }

  /** The proxier's health (ignoring the node). */
  isHealthy(): boolean {
    return this.state().healthy;
  }

  /** Everything the HTTP handlers print. */
  state(): { healthy: boolean; nodeEligible: boolean; lastUpdated: number | undefined; now: number } {
    const now = this.clock.now();
    const healthy = this.oldestPendingQueued === undefined || now - this.oldestPendingQueued < this.healthTimeoutMs;
    return { healthy, nodeEligible: this.nodeEligible, lastUpdated: this.lastUpdated, now };
  }
}

/**
 * Prints a time the way Go's `time.Time.String()` does (`2006-01-02 15:04:05.123 +0000 UTC`),
 * which is what kube-proxy's healthz JSON carries; the zero time when undefined.
 */
export function goTimeString(ms: number | undefined): string {
  if (ms === undefined) return '0001-01-01 00:00:00 +0000 UTC';
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const frac = d.getUTCMilliseconds() ? `.${p(d.getUTCMilliseconds(), 3).replace(/0+$/, '')}` : '';
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}
