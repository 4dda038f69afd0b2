/**
 * The `pod-template-hash` of a Deployment's template (kube's `controller.ComputeHash`): a
 * 32-bit FNV-1a hash over the template and the collision count, printed in decimal and mapped
 * through the "safe encode" alphabet so the result never spells words or looks like a number.
 *
 * Deviation: kube hashes the template as printed by `spew`; here the template is hashed as
 * JSON with sorted keys. Names therefore differ from upstream's for the same template, but
 * they are just as stable and collision-checked the same way.
 */

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

/** 32-bit FNV-1a over `bytes`, continuing from `h`. */
export function fnv1a32(bytes: Uint8Array, h = 0x811c9dc5): number {
  let hash = h >>> 0;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** `rand.SafeEncodeString`: each character mapped through the safe alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** The pod-template-hash of `template` with `collisionCount` (when set). */
export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv1a32(new TextEncoder().encode(stableJson(template)));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a32(b, h);
  }
  return safeEncode(String(h));
}
