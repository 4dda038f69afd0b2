/**
 * Kubernetes resource quantities (`100m`, `128Mi`, `1.5Gi`, `2`, `1e3`), as
 * `resource.Quantity` parses them.
 */
import { InvalidInputError } from '../errors.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

const QUANTITY_RE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** True when `s` is a syntactically valid quantity. */
export function isQuantity(s: string): boolean {
  return QUANTITY_RE.test(s.trim());
}

/** Parses a quantity into a plain number (cores for cpu, bytes for memory). */
export function parseQuantity(q: string | number, field = 'quantity'): number {
  if (typeof q === 'number') return q;
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) throw new InvalidInputError(`${field}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`, { field });
  const base = parseFloat(m[1]);
  if (m[2]) return base * Math.pow(10, parseInt(m[2].slice(1), 10));
  return base * SUFFIX[m[3] ?? ''];
}

/** CPU quantity to millicores, rounded up as kubelet does. */
export function cpuToMillis(q: string | number): number {
  return Math.ceil(parseQuantity(q, 'cpu') * 1000 - 1e-9);
}

/** Formats bytes the way the apiserver canonicalises memory (`Ki` multiples when exact). */
export function formatBytes(bytes: number): string {
  for (const [suf, mul] of [['Ei', 1024 ** 6], ['Pi', 1024 ** 5], ['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes >= mul && bytes % mul === 0) return `${bytes / mul}${suf}`;
  }
  if (bytes % 1024 === 0 && bytes > 0) return `${bytes / 1024}Ki`;
  return String(Math.round(bytes));
}

/** Formats millicores as a CPU quantity (`2`, `1500m`). */
export function formatMillis(m: number): string {
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}
