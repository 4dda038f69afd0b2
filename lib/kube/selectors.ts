/**
 * Label and field selectors, in apimachinery's string syntax and `LabelSelector` form.
 * STUB: replaced by the API-semantics work. Supports only `k=v` terms for now.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

/** A compiled selector. */
export interface Selector {
  /** True when `labels` (or field attributes) satisfy every requirement. */
  matches(labels: Record<string, string> | undefined): boolean;
  /** True for the empty selector (matches everything). */
  readonly empty: boolean;
  /** Canonical string form. */
  toString(): string;
}

/** Parses a label selector string (`a=b,c!=d,e in (f,g),!h`). Throws `InvalidInputError` on bad syntax. */
export function parseLabelSelector(s: string | undefined): Selector {
  return equalitySelector(s);
}

/** Parses a field selector string (`spec.nodeName=n1,status.phase!=Failed`). */
export function parseFieldSelector(s: string | undefined): Selector {
  return equalitySelector(s);
}

/** Compiles a `metav1.LabelSelector` (matchLabels + matchExpressions). */
export function labelSelectorFromObject(sel: LabelSelector | undefined): Selector {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  return equalitySelector(parts.join(','));
}

function equalitySelector(s: string | undefined): Selector {
  const terms = (s ?? '').split(',').map((t) => t.trim()).filter(Boolean).map((t) => t.split('='));
  return {
    empty: terms.length === 0,
    matches: (labels) => terms.every(([k, v]) => (labels ?? {})[k] === v),
    toString: () => (s ?? ''),
  };
}
