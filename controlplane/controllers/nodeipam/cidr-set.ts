/**
 * A pool of equally sized subnets carved from a cluster CIDR (kube's
 * `pkg/controller/nodeipam/ipam/cidrset`): allocation round-robins from the last one handed
 * out; `occupy` marks subnets already in use (rebuilding the pool after a restart).
 */
import { formatIPv4, formatIPv6 } from '../../../lib/net/ip.js';
import { ControllerError } from '../common/errors.js';

/** Error code when every subnet is taken. */
export const CIDR_EXHAUSTED = 'SKIFF_CIDR_EXHAUSTED';

interface Parsed {
  v6: boolean;
  addr: bigint;
  prefix: number;
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR. */
export function parseCidr(cidr: string): Parsed | undefined {
  const [ip, len] = cidr.trim().split('/');
  if (len === undefined || !/^\d+$/.test(len)) return undefined;
  const prefix = Number(len);
  const v6 = ip.includes(':');
  const addr = v6 ? parseIPv6(ip) : parseIPv4(ip);
  if (addr === undefined || prefix > (v6 ? 128 : 32)) return undefined;
  return { v6, addr, prefix };
}

function formatIp(v: bigint, v6: boolean): string {
  if (!v6) return formatIPv4(Number(v & 0xffffffffn));
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  return formatIPv6(groups);
}

/** Subnets of one size inside one cluster CIDR. */
export class CidrSet {
  private readonly v6: boolean;
  private readonly base: bigint;
  private readonly clusterPrefix: number;
  private readonly bits: number;
  private readonly max: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(
    readonly clusterCidr: string,
    readonly nodeMaskSize: number,
  ) {
    const p = parseCidr(clusterCidr);
    if (!p) throw new ControllerError('SKIFF_BAD_CIDR', `invalid cluster CIDR ${JSON.stringify(clusterCidr)}`);
    this.v6 = p.v6;
    this.bits = p.v6 ? 128 : 32;
    this.clusterPrefix = p.prefix;
    if (nodeMaskSize < p.prefix || nodeMaskSize > this.bits) {
      throw new ControllerError('SKIFF_BAD_CIDR', `node mask size ${nodeMaskSize} does not fit cluster CIDR ${clusterCidr}`);
    }
    // kube refuses more than 2^16 subnets per cluster CIDR.
    if (nodeMaskSize - p.prefix > 16) {
      throw new ControllerError('SKIFF_BAD_CIDR', 'CIDRSet: subnet mask size is too large: node mask and cluster mask differ by more than 16 bits');
    }
    const hostBits = BigInt(this.bits - p.prefix);
    this.base = (p.addr >> hostBits) << hostBits;
    this.max = 2 ** (nodeMaskSize - p.prefix);
  }

  /** Number of subnets in the pool. */
  get size(): number {
    return this.max;
  }

  /** Number of subnets in use. */
  get usedCount(): number {
    return this.used.size;
  }

  private cidrAt(i: number): string {
    const addr = this.base + (BigInt(i) << BigInt(this.bits - this.nodeMaskSize));
    return `${formatIp(addr, this.v6)}/${this.nodeMaskSize}`;
  }

  /** Hands out the next free subnet. Throws {@link CIDR_EXHAUSTED} when none is left. */
  allocateNext(): string {
    for (let k = 0; k < this.max; k++) {
      const i = (this.next + k) % this.max;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.next = (i + 1) % this.max;
      return this.cidrAt(i);
    }
    throw new ControllerError(CIDR_EXHAUSTED, 'CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range');
  }

  /** The subnet indexes `cidr` covers, or undefined when it is not inside the cluster CIDR. */
  private indexes(cidr: string): [number, number] | undefined {
    const p = parseCidr(cidr);
    if (!p || p.v6 !== this.v6 || p.prefix < this.clusterPrefix) return undefined;
    const clusterHost = BigInt(this.bits - this.clusterPrefix);
    if (p.addr >> clusterHost !== this.base >> clusterHost) return undefined;
    const shift = BigInt(this.bits - this.nodeMaskSize);
    const offset = p.addr - this.base;
    if (p.prefix >= this.nodeMaskSize) {
      const i = Number(offset >> shift);
      return [i, i];
    }
    const first = Number(offset >> shift);
    const count = 2 ** (this.nodeMaskSize - p.prefix);
    return [first, first + count - 1];
  }

  /** Marks `cidr` as in use; false when it is outside this pool. */
  occupy(cidr: string): boolean {
    const r = this.indexes(cidr);
    if (!r) return false;
    for (let i = r[0]; i <= r[1]; i++) this.used.add(i);
    return true;
  }

  /** Returns `cidr` to the pool. */
  release(cidr: string): void {
    const r = this.indexes(cidr);
    if (!r) return;
    for (let i = r[0]; i <= r[1]; i++) this.used.delete(i);
  }

  /** True when `cidr` is inside this pool's family. */
  sameFamily(cidr: string): boolean {
    return parseCidr(cidr)?.v6 === this.v6;
  }
}
