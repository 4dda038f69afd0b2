/**
 * Tracks the EndpointSlices this controller wrote, by resourceVersion (kube's
 * `EndpointSliceTracker`, which uses generations): until the informer has caught up with our
 * own writes, a sync would act on stale slices and, worst of all, create duplicates.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

function rvNumber(rv: string | undefined): bigint | undefined {
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/** Expected state of the slices of each Service. */
export class SliceTracker {
  /** service key → slice name → expected resourceVersion, or `deleted`. */
  private readonly expected = new Map<string, Map<string, string | 'deleted'>>();

  private forService(svc: string): Map<string, string | 'deleted'> {
    let m = this.expected.get(svc);
    if (!m) {
      m = new Map();
      this.expected.set(svc, m);
    }
    return m;
  }

  /** Records a slice we created or updated. */
  wrote(svc: string, slice: EndpointSlice): void {
    if (slice.metadata?.name) this.forService(svc).set(slice.metadata.name, slice.metadata.resourceVersion ?? '');
  }

  /** Records a slice we deleted. */
  deleted(svc: string, name: string): void {
    this.forService(svc).set(name, 'deleted');
  }

  /**
   * True when the cached `slices` of the Service do not yet reflect our writes. Entries the
   * cache has caught up with are forgotten.
   */
  stale(svc: string, slices: readonly EndpointSlice[]): boolean {
    const m = this.expected.get(svc);
    if (!m) return false;
    const byName = new Map(slices.map((s) => [s.metadata?.name ?? '', s]));
    let stale = false;
    for (const [name, want] of m) {
      const cached = byName.get(name);
      if (want === 'deleted') {
        if (cached) stale = true;
        else m.delete(name);
        continue;
      }
      if (!cached) {
        stale = true;
        continue;
      }
      const have = rvNumber(cached.metadata?.resourceVersion);
      const need = rvNumber(want);
      const caughtUp = have !== undefined && need !== undefined ? have >= need : cached.metadata?.resourceVersion === want;
      if (caughtUp) m.delete(name);
      else stale = true;
    }
    if (m.size === 0) this.expected.delete(svc);
    return stale;
  }

  /** True when `slice` is exactly a write we are still waiting to see (no need to resync). */
  isOwnWrite(svc: string, slice: EndpointSlice): boolean {
    const want = this.expected.get(svc)?.get(slice.metadata?.name ?? '');
    return want !== undefined && want !== 'deleted' && want === slice.metadata?.resourceVersion;
  }

  /** Forgets a Service. */
  forget(svc: string): void {
    this.expected.delete(svc);
  }
}
