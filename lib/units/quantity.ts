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

/** The regular expression kube-apiserver quotes when a quantity does not parse. */
export const QUANTITY_REGEX = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

const NUMBER_RE = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/;

/**
 * The numeric value of a quantity (`100m` → 0.1, `1Gi` → 1073741824), or `undefined` when
 * kube-apiserver would not parse it (surrounding whitespace included). Numbers pass through.
 */
export function tryParseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string' || q.trim() !== q) return undefined;
  const m = NUMBER_RE.exec(q);
  if (!m) return undefined;
  const num = Number(m[1]);
  const suffix = m[2];
  if (suffix in SUFFIX) return num * SUFFIX[suffix];
  const e = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (e) return num * 10 ** Number(e[1]);
  return undefined;
}

/** True when `q` is a valid quantity. */
export function isQuantity(q: unknown): boolean {
  return tryParseQuantity(q) !== undefined;
}

/** Parses a quantity into a plain number (cores for cpu, bytes for memory); throws `InvalidInputError` naming `field`. */
export function parseQuantity(q: string | number, field = 'quantity'): number {
  const v = tryParseQuantity(typeof q === 'string' ? q.trim() : q);
  if (v === undefined) throw new InvalidInputError(`${field}: quantities must match the regular expression '${QUANTITY_REGEX}'`, { field });
  return v;
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
