/**
 * Time helpers for API timestamps: `metav1.Time` (RFC 3339, second precision) and
 * `metav1.MicroTime` (microseconds), always from the injected clock.
 */
import type { Clock } from '../../../lib/clock.js';

/** RFC 3339 with second precision, as `metav1.Time` serializes (`2026-01-01T00:00:00Z`). */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as `metav1.MicroTime` serializes. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** `metav1.Time` of the clock's current time. */
export function nowTime(clock: Clock): string {
  return formatTime(clock.now());
}

/** Milliseconds since the epoch of an API timestamp, or undefined when absent or unparsable. */
export function parseTime(t: string | undefined | null): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
