/**
 * nftables datatypes, as far as Skiff's ruleset uses them: parsing and canonical printing of
 * literals (set elements, match values), and the datatype of each selector expression.
 *
 * One canonical text per value is what makes the diff work: the desired ruleset, the fake's
 * state and the kernel's JSON listing all print an element as, for example,
 * `10.96.0.10 . tcp . 80`, so elements compare as plain strings.
 */

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../ip.js';

/** The nftables datatypes Skiff emits (`ipv6_addr` in the `ip6` table). */
export type NftType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'integer'
  | 'mark'
  | 'verdict'
  | 'ct_state'
  | 'ct_status';

const PROTO_BY_NAME: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, sctp: 132 };
const PROTO_BY_NUMBER = new Map<number, string>(Object.entries(PROTO_BY_NAME).map(([k, v]) => [v, k]));

const CT_STATES = new Set(['new', 'established', 'related', 'invalid', 'untracked']);
const CT_STATUS = new Set(['expected', 'seen-reply', 'assured', 'confirmed', 'snat', 'dnat', 'dying']);

/** The L4 protocol number of a name (`tcp` → 6), or undefined. */
export function protoNumber(name: string): number | undefined {
  return PROTO_BY_NAME[name];
}

export { parseIPv4, formatIPv4, isIPv4 } from '../ip.js';

/** An IPv4 prefix, `a.b.c.d/len`. */
export interface IPv4Prefix {
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  addr: number;
  /** Prefix length, 0–32. */
  len: number;
}

/** Parses `a.b.c.d/len` (host bits are cleared, as nft does), or undefined. */
export function parseIPv4Prefix(text: string): IPv4Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIPv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { addr: (addr & mask) >>> 0, len };
}

/** True when `ip` (unsigned 32-bit) lies inside `prefix`. */
export function prefixContains(prefix: IPv4Prefix, ip: number): boolean {
  const mask = prefix.len === 0 ? 0 : (0xffffffff << (32 - prefix.len)) >>> 0;
  return ((ip & mask) >>> 0) === prefix.addr;
}

function parseUnsigned(text: string, max: number): number | undefined {
  let n: number;
  if (/^0x[0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^\d+$/.test(text)) n = Number(text);
  else return undefined;
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

/**
 * Parses one literal of a datatype into its canonical text, or returns undefined when the
 * literal is not a valid value of that type (nft's "datatype mismatch"). Verdicts are
 * `accept`, `drop`, `return`, `continue`, `jump <chain>` and `goto <chain>`.
 */
export function canonLiteral(type: NftType, text: string): string | undefined {
  switch (type) {
    case 'ipv4_addr': {
      const n = parseIPv4(text);
      return n === undefined ? undefined : formatIPv4(n);
    }
    case 'ipv6_addr': {
      const g = parseIPv6(text);
      return g ? formatIPv6(g) : undefined;
    }
    case 'inet_proto': {
      if (text in PROTO_BY_NAME) return text;
      const n = parseUnsigned(text, 255);
      if (n === undefined) return undefined;
      return PROTO_BY_NUMBER.get(n) ?? String(n);
    }
    case 'inet_service': {
      const n = parseUnsigned(text, 65535);
      return n === undefined ? undefined : String(n);
    }
    case 'integer':
    case 'mark': {
      const n = parseUnsigned(text, 0xffffffff);
      return n === undefined ? undefined : String(n);
    }
    case 'ct_state':
      return CT_STATES.has(text) ? text : undefined;
    case 'ct_status':
      return CT_STATUS.has(text) ? text : undefined;
    case 'verdict': {
      if (['accept', 'drop', 'return', 'continue'].includes(text)) return text;
      const m = /^(jump|goto) ([A-Za-z0-9_.\-/:]+)$/.exec(text);
      return m ? `${m[1]} ${m[2]}` : undefined;
    }
  }
}

/** The chain a verdict text jumps or goes to, or undefined. */
export function verdictTarget(verdict: string): string | undefined {
  const m = /^(?:jump|goto) (.+)$/.exec(verdict);
  return m ? m[1] : undefined;
}

/**
 * Canonicalizes a concatenated value (`a . b . c`) against a list of types; undefined on
 * arity or datatype mismatch.
 */
export function canonConcat(types: readonly NftType[], parts: readonly string[]): string | undefined {
  if (parts.length !== types.length) return undefined;
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const c = canonLiteral(types[i], parts[i]);
    if (c === undefined) return undefined;
    out.push(c);
  }
  return out.join(' . ');
}

/** Human-readable type names, worded as nft words them in "datatype mismatch" errors. */
export function describeTypes(types: readonly NftType[]): string {
  const words: Record<NftType, string> = {
    ipv4_addr: 'IPv4 address',
    ipv6_addr: 'IPv6 address',
    inet_proto: 'Internet protocol',
    inet_service: 'internet network service',
    integer: 'integer',
    mark: 'packet mark',
    verdict: 'netfilter verdict',
    ct_state: 'conntrack state',
    ct_status: 'conntrack status',
  };
  const list = types.map((t) => words[t]);
  return list.length === 1 ? list[0] : `concatenation of (${list.join(', ')})`;
}

/** All type names nft accepts after `type` in a set declaration (the subset we use). */
export const TYPE_NAMES: ReadonlySet<string> = new Set<NftType>([
  'ipv4_addr',
  'ipv6_addr',
  'inet_proto',
  'inet_service',
  'integer',
  'mark',
  'verdict',
  'ct_state',
  'ct_status',
]);
