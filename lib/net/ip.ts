/**
 * IP address helpers for both families: parsing, canonical printing (the text nft prints,
 * RFC 5952 for IPv6), CIDR containment. Canonical text is what makes desired elements,
 * FakeNft state and the kernel's listing compare as plain strings.
 *
 * Shared by the agent (the Service proxy) and the control plane (node IPAM, the ClusterIP
 * allocator).
 */

/** An address family as Kubernetes names it. */
export type IPFamily = 'IPv4' | 'IPv6';

/** Parses a dotted-quad IPv4 address into an unsigned 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return n * 256 + part;
}

/** Prints an unsigned 32-bit number as a dotted quad. */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Parses an IPv6 address (with `::`, optional embedded IPv4) into 8 16-bit groups, or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  if (!text.includes(':') || text.length > 45) return undefined;
  let head = text;
  let v4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > 0) {
    v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    // `::1.2.3.4` keeps its `::`; `a:b:…:1.2.3.4` drops the separating colon.
    head = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const want = v4 === undefined ? 8 : 6;
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > want - 1) return undefined;
    groups = [...left, ...new Array<number>(want - left.length - right.length).fill(0), ...right];
  } else {
    const g = parseGroups(head);
    if (!g || g.length !== want) return undefined;
    groups = g;
  }
  if (v4 !== undefined) groups.push(v4 >>> 16, v4 & 0xffff);
  return groups;
}

/** Prints 8 16-bit groups in RFC 5952 form (lower case, longest zero run of 2+ as `::`). */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number, b: number): string => groups.slice(a, b).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The family of an address, or undefined when it is not an address. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  if (parseIPv4(text) !== undefined) return 'IPv4';
  if (parseIPv6(text) !== undefined) return 'IPv6';
  return undefined;
}

/** True when `text` is an IPv4 address. */
export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== undefined;
}

/** True when `text` is an IPv6 address. */
export function isIPv6(text: string): boolean {
  return parseIPv6(text) !== undefined;
}

/** The canonical text of an address (`fd00:0::1` → `fd00::1`), or undefined. */
export function canonicalIP(text: string): string | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return formatIPv4(v4);
  const v6 = parseIPv6(text);
  return v6 ? formatIPv6(v6) : undefined;
}

/** A parsed CIDR: family, network bytes (host bits cleared) and prefix length. */
export interface Cidr {
  family: IPFamily;
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  len: number;
}

function bytesOf(text: string): { family: IPFamily; bytes: Uint8Array } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 'IPv4', bytes: Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255) };
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const b = new Uint8Array(16);
  v6.forEach((g, i) => {
    b[2 * i] = g >>> 8;
    b[2 * i + 1] = g & 255;
  });
  return { family: 'IPv6', bytes: b };
}

/** Parses `addr/len` of either family (host bits are cleared), or undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const a = bytesOf(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!a || !/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > a.bytes.length * 8) return undefined;
  const bytes = Uint8Array.from(a.bytes);
  for (let bit = len; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: a.family, bytes, len };
}

/** True when `ip` lies inside `cidr` (false for an address of the other family). */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const a = bytesOf(ip);
  if (!a || a.family !== cidr.family) return false;
  for (let bit = 0; bit < cidr.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3] & m) !== (cidr.bytes[bit >> 3] & m)) return false;
  }
  return true;
}

/** Prints a CIDR canonically (`10.244.0.0/16`, `fd00::/64`). */
export function formatCidr(c: Cidr): string {
  if (c.family === 'IPv4') return `${c.bytes.join('.')}/${c.len}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((c.bytes[i] << 8) | c.bytes[i + 1]);
  return `${formatIPv6(groups)}/${c.len}`;
}

/** True for loopback addresses (127.0.0.0/8, ::1). */
export function isLoopback(ip: string): boolean {
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  const v6 = parseIPv6(ip);
  return !!v6 && v6.every((g, i) => (i === 7 ? g === 1 : g === 0));
}
