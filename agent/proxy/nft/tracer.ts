/**
 * A packet tracer over a {@link FakeNft}'s state: "where does 10.96.0.10:53/udp from pod X
 * land?". It walks the base chains of every table on the hooks a packet crosses, in
 * priority order, and evaluates the parsed rules the way the kernel does for the first
 * packet of a connection (conntrack state `new`):
 *
 *   from a pod or an outside client:
 *                 prerouting → (routing) → forward → postrouting
 *                                       ↘ input (when the destination is a local address)
 *   from the host: output → postrouting
 *
 * IPv4 packets see `ip` (and `inet`) tables, IPv6 packets `ip6` (and `inet`) tables. A
 * packet-path `update @set { … }` writes into the FakeNft, so a second trace from the same
 * client sees what the first one recorded (session affinity).
 * `numgen random mod N` draws from an injectable source, so tests can check the spread;
 * {@link PacketTracer.distribution} enumerates every draw and returns exact probabilities.
 */
import type { FakeChain, FakeNft, FakeRule, FakeTable } from './fake.js';
import type { Expr, Rhs, Selector, Stmt, BaseChainSpec } from './parse.js';
import { canonLiteral, protoNumber, verdictTarget } from './types.js';
import { exprTypes } from './parse.js';
import { canonicalIP, cidrContains, ipFamilyOf, parseCidr } from '../ip.js';

/** A packet to trace: the first packet of a new connection. */
export interface TracePacket {
  /** Source address (IPv4 or IPv6; both addresses of one family). */
  src: string;
  /** Destination address. */
  dst: string;
  protocol: 'tcp' | 'udp';
  /** Destination port. */
  dport: number;
  /** Source port; defaults to 40000. */
  sport?: number;
  /**
   * Where the packet comes from: a pod or an outside client (both arrive on an interface)
   * or the host itself.
   */
  from: 'pod' | 'external' | 'host';
}

/** Where a traced packet ends up. */
export interface TraceResult {
  /** `accept`: it leaves the ruleset (possibly NATed); `drop`/`reject`: it is stopped. */
  verdict: 'accept' | 'drop' | 'reject';
  /** The DNAT translation applied, if any. */
  dnat?: { ip: string; port: number };
  /** True when the source was masqueraded on the way out. */
  masquerade: boolean;
  /** How it was rejected (`tcp reset`, `icmp port-unreachable`). */
  reject?: string;
  /** Final destination address and port. */
  dst: string;
  dport: number;
  /** Chains entered, in order, as `hook:chain`. */
  path: string[];
}

/** Options of {@link PacketTracer.trace}. */
export interface TraceOptions {
  /** Uniform random source in [0, 1) for `numgen random` (the kernel scales a u32 the same way). */
  random?: () => number;
  /** Alternatively, pick the outcome of each `numgen random mod N` directly. */
  choose?: (mod: number) => number;
  /** Addresses owned by the node: packets DNATed to them go to `input`, not `forward`. */
  localAddresses?: string[];
}

type Outcome = { kind: 'continue' } | { kind: 'return' } | { kind: 'accept' } | { kind: 'drop' } | { kind: 'reject'; how: string };

interface Ctx {
  family: 'ip' | 'ip6';
  saddr: string;
  daddr: string;
  /** The original destination (conntrack's `ct original`). */
  origDaddr: string;
  origDport: number;
  proto: 'tcp' | 'udp';
  sport: number;
  dport: number;
  mark: number;
  ctStatus: Set<string>;
  dnat?: { ip: string; port: number };
  masquerade: boolean;
  path: string[];
  hook: string;
  draw: (mod: number) => number;
}

/** Thrown (as one shared instance, no stack) when a rule stops matching. */
const RULE_BREAK = { ruleBreak: true } as const;

/** Evaluates packets against the state of a {@link FakeNft}. */
export class PacketTracer {
  constructor(private readonly nft: FakeNft) {}

  /** Traces one packet. */
  trace(pkt: TracePacket, opts: TraceOptions = {}): TraceResult {
    const saddr = canonicalIP(pkt.src);
    const daddr = canonicalIP(pkt.dst);
    const fam = ipFamilyOf(pkt.src);
    if (saddr === undefined || daddr === undefined || fam !== ipFamilyOf(pkt.dst)) {
      throw new Error('tracer: src and dst must be addresses of one family');
    }
    const random = opts.random ?? Math.random;
    const draw = opts.choose ?? ((mod: number) => Math.min(mod - 1, Math.floor(random() * mod)));
    const ctx: Ctx = {
      family: fam === 'IPv6' ? 'ip6' : 'ip',
      saddr,
      daddr,
      origDaddr: daddr,
      origDport: pkt.dport,
      proto: pkt.protocol,
      sport: pkt.sport ?? 40000,
      dport: pkt.dport,
      mark: 0,
      ctStatus: new Set(),
      masquerade: false,
      path: [],
      hook: '',
      draw,
    };
    const local = new Set((opts.localAddresses ?? []).map((a) => canonicalIP(a)));
    const hooks: BaseChainSpec['hook'][] = [];
    if (pkt.from === 'host') hooks.push('output');
    else hooks.push('prerouting');
    for (let i = 0; i < hooks.length; i++) {
      const out = this.runHook(hooks[i], ctx);
      if (out) return this.result(ctx, out.kind === 'drop' ? 'drop' : 'reject', out.kind === 'reject' ? out.how : undefined);
      if (hooks[i] === 'prerouting') hooks.push(local.has(ctx.daddr) ? 'input' : 'forward');
      if (hooks[i] === 'forward' || (hooks[i] === 'output' && !local.has(ctx.daddr))) hooks.push('postrouting');
    }
    return this.result(ctx, 'accept');
  }

  /**
   * The exact distribution of outcomes, enumerating every `numgen` draw: outcome text
   * (see {@link describeOutcome}) → probability.
   */
  distribution(pkt: TracePacket, opts: Omit<TraceOptions, 'random' | 'choose'> = {}): Map<string, number> {
    const out = new Map<string, number>();
    const explore = (prefix: number[]): void => {
      const mods: number[] = [];
      const res = this.trace(pkt, {
        ...opts,
        choose: (mod) => {
          const k = mods.length;
          mods.push(mod);
          return k < prefix.length ? prefix[k] : 0;
        },
      });
      if (mods.length > prefix.length) {
        for (let v = 0; v < mods[prefix.length]; v++) explore([...prefix, v]);
        return;
      }
      const p = mods.reduce((acc, m) => acc / m, 1);
      const key = describeOutcome(res);
      out.set(key, (out.get(key) ?? 0) + p);
    };
    explore([]);
    return out;
  }

  private result(ctx: Ctx, verdict: TraceResult['verdict'], how?: string): TraceResult {
    return {
      verdict,
      ...(ctx.dnat ? { dnat: ctx.dnat } : {}),
      masquerade: ctx.masquerade,
      ...(how ? { reject: how } : {}),
      dst: ctx.daddr,
      dport: ctx.dport,
      path: ctx.path,
    };
  }

  /** Runs every base chain on `hook`; returns a stopping outcome (drop/reject) or undefined. */
  private runHook(hook: BaseChainSpec['hook'], ctx: Ctx): Outcome | undefined {
    const chains: Array<{ t: FakeTable; c: FakeChain }> = [];
    for (const name of this.nft.tableNames()) {
      const [family, tname] = name.split(' ');
      if (family !== ctx.family && family !== 'inet') continue;
      const t = this.nft.table(family, tname)!;
      for (const c of t.chains.values()) if (c.base?.hook === hook) chains.push({ t, c });
    }
    chains.sort((a, b) => a.c.base!.priority - b.c.base!.priority);
    for (const { t, c } of chains) {
      ctx.hook = hook;
      const before = ctx.dnat;
      const out = this.runChain(t, c, ctx, 0);
      const policyDrop = (out.kind === 'continue' || out.kind === 'return') && c.base!.policy === 'drop';
      if (out.kind === 'drop' || policyDrop) return { kind: 'drop' };
      if (out.kind === 'reject') return out;
      if (ctx.dnat && ctx.dnat !== before) {
        // NAT is applied when the chain returns: the destination changes for later hooks.
        ctx.daddr = ctx.dnat.ip;
        ctx.dport = ctx.dnat.port;
        ctx.ctStatus.add('dnat');
      }
    }
    return undefined;
  }

  private runChain(t: FakeTable, c: FakeChain, ctx: Ctx, depth: number): Outcome {
    if (depth > 64) throw new Error('tracer: jump depth exceeded');
    ctx.path.push(`${ctx.hook}:${c.name}`);
    for (const r of c.rules) {
      const out = this.runRule(t, r, ctx, depth);
      if (out.kind !== 'continue') return out;
    }
    return { kind: 'continue' };
  }

  private enter(t: FakeTable, verdict: string, ctx: Ctx, depth: number): Outcome {
    const target = verdictTarget(verdict);
    if (!target) {
      if (verdict === 'accept') return { kind: 'accept' };
      if (verdict === 'drop') return { kind: 'drop' };
      if (verdict === 'return') return { kind: 'return' };
      return { kind: 'continue' };
    }
    const chain = t.chains.get(target);
    if (!chain) throw new Error(`tracer: missing chain ${target}`);
    const out = this.runChain(t, chain, ctx, depth + 1);
    if (verdict.startsWith('jump')) {
      // Back from a jump: a `return` or running off the end continues after the jump.
      return out.kind === 'return' ? { kind: 'continue' } : out;
    }
    // A goto does not come back here: the caller continues, as after this chain's end.
    return out.kind === 'continue' ? { kind: 'return' } : out;
  }

  /** Evaluates one rule; `continue` means "go on with the next rule". */
  private runRule(t: FakeTable, r: FakeRule, ctx: Ctx, depth: number): Outcome {
    try {
      for (const s of r.stmts) {
        const out = this.runStmt(t, s, ctx, depth);
        if (out) return out;
      }
      return { kind: 'continue' };
    } catch (e) {
      if (e === RULE_BREAK) return { kind: 'continue' };
      throw e;
    }
  }

  private runStmt(t: FakeTable, s: Stmt, ctx: Ctx, depth: number): Outcome | undefined {
    switch (s.kind) {
      case 'match': {
        const ok = this.matches(t, s.left, s.right, ctx);
        if (ok !== (s.op === 'eq')) throw RULE_BREAK;
        return undefined;
      }
      case 'verdict':
        return this.enter(t, s.target ? `${s.verdict} ${s.target}` : s.verdict, ctx, depth);
      case 'vmap': {
        const v = t.sets.get(s.map)?.elements.get(this.evalExpr(s.key, ctx));
        if (v === undefined) throw RULE_BREAK;
        return this.enter(t, v, ctx, depth);
      }
      case 'dnat-map': {
        const v = t.sets.get(s.map)?.elements.get(this.evalExpr(s.key, ctx));
        if (v === undefined) throw RULE_BREAK;
        const [ip, port] = v.split(' . ');
        ctx.dnat = { ip, port: Number(port) };
        return { kind: 'accept' };
      }
      case 'set-update': {
        const key = this.evalExpr(s.key, ctx);
        const value = s.value ? this.evalExpr(s.value, ctx) : '';
        this.nft.packetPathUpdate(t.family, t.name, s.set, key, value, s.timeoutSec);
        return undefined;
      }
      case 'dnat-to':
        ctx.dnat = { ip: s.addr, port: s.port ?? ctx.dport };
        return { kind: 'accept' };
      case 'masquerade':
        ctx.masquerade = true;
        return { kind: 'accept' };
      case 'reject':
        return { kind: 'reject', how: s.type === 'tcp reset' ? 'tcp reset' : `icmp ${s.code ?? 'port-unreachable'}` };
      case 'mark-set':
        ctx.mark = Number(this.evalExpr(s.value, ctx));
        return undefined;
      case 'counter':
      case 'comment':
        return undefined;
    }
  }

  private matches(t: FakeTable, left: Expr, right: Rhs, ctx: Ctx): boolean {
    if (left.kind === 'ct' && left.key === 'status') {
      const want = right.kind === 'literal' ? [right.text] : right.kind === 'anon-set' ? right.items : [];
      return want.some((w) => ctx.ctStatus.has(w));
    }
    const value = this.evalExpr(left, ctx);
    if (right.kind === 'set-ref') return t.sets.get(right.name)?.elements.has(value) ?? false;
    const type = exprTypes(left)[0];
    const items = right.kind === 'literal' ? [right.text] : right.items;
    return items.some((item) => {
      if ((type === 'ipv4_addr' || type === 'ipv6_addr') && item.includes('/')) {
        const p = parseCidr(item);
        return p !== undefined && cidrContains(p, value);
      }
      return canonLiteral(type, item) === value;
    });
  }

  private evalSelector(s: Selector, ctx: Ctx): string {
    switch (s.kind) {
      case 'payload':
        if (s.proto === 'ip' || s.proto === 'ip6') return s.field === 'saddr' ? ctx.saddr : ctx.daddr;
        if (s.proto !== 'th' && s.proto !== ctx.proto) throw RULE_BREAK;
        return String(s.field === 'sport' ? ctx.sport : ctx.dport);
      case 'ct-original':
        if (s.field === 'proto-dst') return String(ctx.origDport);
        return s.field.endsWith('saddr') ? ctx.saddr : ctx.origDaddr;
      case 'meta':
        return s.key === 'l4proto' ? canonLiteral('inet_proto', String(protoNumber(ctx.proto)))! : String(ctx.mark);
      case 'ct':
        return s.key === 'state' ? 'new' : [...ctx.ctStatus].join(',');
      case 'numgen':
        return String(ctx.draw(s.mod) + s.offset);
    }
  }

  private evalExpr(e: Expr, ctx: Ctx): string {
    if (e.kind === 'concat') return e.parts.map((p) => this.evalSelector(p, ctx)).join(' . ');
    if (e.kind === 'binop') {
      const l = Number(this.evalSelector(e.left, ctx)) >>> 0;
      const r = Number(canonLiteral('mark', e.right)) >>> 0;
      const v = e.op === '&' ? l & r : e.op === '|' ? l | r : l ^ r;
      return String(v >>> 0);
    }
    return this.evalSelector(e, ctx);
  }
}

/** A one-line description of a trace outcome, e.g. `dnat 10.244.0.2:8080 masquerade`. */
export function describeOutcome(r: TraceResult): string {
  if (r.verdict === 'reject') return `reject ${r.reject}`;
  if (r.verdict === 'drop') return 'drop';
  const parts: string[] = [];
  parts.push(r.dnat ? `dnat ${r.dnat.ip}:${r.dnat.port}` : 'accept');
  if (r.masquerade) parts.push('masquerade');
  return parts.join(' ');
}
