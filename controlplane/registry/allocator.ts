/**
 * Allocators for Service ClusterIPs and NodePorts, after kube-apiserver's
 * `pkg/registry/core/service/ipallocator` and `portallocator`: a bitmap over the range; the
 * range is split into a lower static band and an upper dynamic band, and dynamic allocation
 * prefers the upper band (KEP-3070 / KEP-3668), falling back to the lower one.
 */
import { InvalidInputError } from '../../lib/errors.js';
import { formatIPv4, parseIPv4 } from '../../lib/net/ip.js';

export { formatIPv4, parseIPv4 };

/** Result of allocating a specific value. */
export type AllocateResult = 'ok' | 'taken' | 'out-of-range';

/** An allocator over the integer offsets `[first, last]`. */
class OffsetAllocator {
  private used = new Set<number>();
  private readonly staticBand: number;

  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly random: () => number,
    staticBandMin: number,
    staticBandMax: number,
  ) {
    const size = last - first + 1;
    this.staticBand = Math.min(Math.max(staticBandMin, Math.floor(size / 16)), staticBandMax, size);
  }

  allocate(n: number): AllocateResult {
    if (n < this.first || n > this.last) return 'out-of-range';
    if (this.used.has(n)) return 'taken';
    this.used.add(n);
    return 'ok';
  }

  next(): number | undefined {
    const dynFirst = this.first + this.staticBand;
    return this.scan(dynFirst, this.last) ?? this.scan(this.first, dynFirst - 1);
  }

  private scan(lo: number, hi: number): number | undefined {
    const size = hi - lo + 1;
    if (size <= 0) return undefined;
    const start = Math.floor(this.random() * size) % size;
    for (let i = 0; i < size; i++) {
      const n = lo + ((start + i) % size);
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
    return undefined;
  }

  release(n: number): void {
    this.used.delete(n);
  }

  has(n: number): boolean {
    return this.used.has(n);
  }

  get count(): number {
    return this.used.size;
  }
}

/** Parses `a.b.c.d/len` into its network address and prefix length. */
export function parseCidr(cidr: string): { base: number; prefix: number; size: number } {
  const [ip, len] = cidr.split('/');
  const base = parseIPv4(ip ?? '');
  const prefix = Number(len);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32 || len === undefined) {
    throw new InvalidInputError(`invalid CIDR ${JSON.stringify(cidr)}`, { field: 'cidr' });
  }
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(base / size) * size, prefix, size };
}

/** ClusterIP allocator over an IPv4 CIDR (network and broadcast addresses excluded). */
export class IPAllocator {
  readonly cidr: string;
  private readonly base: number;
  private readonly size: number;
  private readonly offsets: OffsetAllocator;

  constructor(cidr: string, random: () => number = Math.random) {
    const c = parseCidr(cidr);
    if (c.size < 4) throw new InvalidInputError(`service CIDR ${cidr} is too small`, { field: 'service-cluster-ip-range' });
    this.cidr = `${formatIPv4(c.base)}/${c.prefix}`;
    this.base = c.base;
    this.size = c.size;
    this.offsets = new OffsetAllocator(1, c.size - 2, random, 16, 256);
  }

  /** The n-th address of the range (1 → the `kubernetes` Service's address). */
  nth(n: number): string {
    return formatIPv4(this.base + n);
  }

  /** True when `ip` is a usable address of the range. */
  contains(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && n > this.base && n < this.base + this.size - 1;
  }

  /** Reserves a specific address. */
  allocate(ip: string): AllocateResult {
    const n = parseIPv4(ip);
    if (n === undefined) return 'out-of-range';
    return this.offsets.allocate(n - this.base);
  }

  /** Reserves any free address, or undefined when the range is full. */
  allocateNext(): string | undefined {
    const off = this.offsets.next();
    return off === undefined ? undefined : formatIPv4(this.base + off);
  }

  release(ip: string): void {
    const n = parseIPv4(ip);
    if (n !== undefined) this.offsets.release(n - this.base);
  }

  has(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && this.offsets.has(n - this.base);
  }

  /** Addresses in use. */
  get used(): number {
    return this.offsets.count;
  }
}

/** NodePort allocator over a port range (default 30000-32767). */
export class PortAllocator {
  readonly first: number;
  readonly last: number;
  private readonly offsets: OffsetAllocator;

  constructor(range = '30000-32767', random: () => number = Math.random) {
    const m = /^(\d+)-(\d+)$/.exec(range);
    if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535) {
      throw new InvalidInputError(`invalid port range ${JSON.stringify(range)}`, { field: 'service-node-port-range' });
    }
    this.first = Number(m[1]);
    this.last = Number(m[2]);
    this.offsets = new OffsetAllocator(this.first, this.last, random, 16, 128);
  }

  /** `30000-32767`, as kube prints it. */
  get range(): string {
    return `${this.first}-${this.last}`;
  }

  allocate(port: number): AllocateResult {
    return this.offsets.allocate(port);
  }

  allocateNext(): number | undefined {
    return this.offsets.next();
  }

  release(port: number): void {
    this.offsets.release(port);
  }

  has(port: number): boolean {
    return this.offsets.has(port);
  }
}
