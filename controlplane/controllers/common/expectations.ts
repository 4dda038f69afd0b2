/**
 * Controller expectations (kube's `ControllerExpectations` and
 * `UIDTrackingControllerExpectations`, `pkg/controller/controller_utils.go`).
 *
 * A controller that creates or deletes N pods records that it expects to observe N
 * creations/deletions through its informer. Until they are observed (or the expectation
 * expires after five minutes), the controller does not act on its possibly stale cache again,
 * which is what keeps a slow informer from causing double creation.
 */
import type { Clock } from '../../../lib/clock.js';

/** kube's `ExpectationsTimeout`. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  at: number;
}

/** Pending creations/deletions per controller key, with tracked deletion keys. */
export class Expectations {
  private readonly byKey = new Map<string, Expectation>();
  private readonly deleting = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock) {}

  /** True when the controller may sync `key`: no expectation, fulfilled, or expired. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.at > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Expects `n` creations (replacing any previous expectation). */
  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { add: n, del: 0, at: this.clock.now() });
  }

  /** Expects the deletion of the pods whose keys are `podKeys`. */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.deleting.set(key, new Set(podKeys));
    this.byKey.set(key, { add: 0, del: podKeys.length, at: this.clock.now() });
  }

  /** One expected creation was observed (or will never happen). */
  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  /** The deletion of `podKey` was observed (or will never happen); counted once per pod. */
  deletionObserved(key: string, podKey: string): void {
    const set = this.deleting.get(key);
    if (!set?.has(podKey)) return;
    set.delete(podKey);
    const e = this.byKey.get(key);
    if (e) e.del--;
  }

  /** Forgets everything about `key` (its controller is gone). */
  delete(key: string): void {
    this.byKey.delete(key);
    this.deleting.delete(key);
  }

  /** Pending counts, for logs and tests. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.byKey.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}
