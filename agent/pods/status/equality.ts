/**
 * Comparing pod statuses the way the API stores them: `null`, `undefined`, empty objects and
 * empty lists are absent; conditions are a set keyed by type.
 */
import type { PodStatus } from 'kubernetes-types/core/v1.js';

/** A canonical copy: absent-like values dropped, object keys sorted. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(canonical).filter((x) => x !== undefined);
    return out.length ? out : undefined;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c !== undefined) out[k] = c;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (v === null || v === undefined) return undefined;
  return v;
}

/** Deep equality of canonical forms. */
export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Equality of two pod statuses, conditions compared as a set keyed by type. */
export function podStatusEqual(a: PodStatus | undefined, b: PodStatus | undefined): boolean {
  const norm = (s: PodStatus | undefined): unknown => {
    if (!s) return undefined;
    const conditions = [...(s.conditions ?? [])].sort((x, y) => (x.type < y.type ? -1 : x.type > y.type ? 1 : 0));
    return canonical({ ...s, conditions });
  };
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
