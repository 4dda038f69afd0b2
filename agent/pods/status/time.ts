/** Timestamps as the API carries them: RFC 3339, whole seconds (metav1.Time). */

/** `2026-01-01T00:00:05Z` from milliseconds since the epoch. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The same from CRI nanoseconds; undefined for 0 (a zero time is `null` in the API). */
export function isoFromNs(ns: number): string | undefined {
  if (!ns) return undefined;
  return isoSeconds(Math.floor(ns / 1e6));
}
