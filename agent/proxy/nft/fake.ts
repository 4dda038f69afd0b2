/**
 * FakeNft: an honest, in-memory nftables, in the manner of knftables' fake.
 *
 * It parses the subset of nft syntax Skiff emits (see `parse.ts`), applies a transaction
 * to a copy of its state and keeps the copy only if every statement succeeded: a failing
 * statement leaves the previous state whole, exactly as one `nft -f -` does. It checks what
 * nft and the kernel check:
 *
 * - the table, chain or set a statement names exists (ENOENT), and `delete element` of a
 *   missing element fails (ENOENT);
 * - `jump`/`goto` targets and verdict-map element targets exist and are not base chains;
 *   `@set` references exist; lookup keys, vmap keys and dnat map keys have the arity and
 *   datatypes of the set's declared key (`typeof` or `type`); literals match their datatype;
 * - deleting a chain or set that is still referenced fails (EBUSY); re-adding a map element
 *   with a different value fails (EEXIST);
 * - a `dnat … addr . port` needs an L4 protocol match in the same rule (nft: "conflicting
 *   protocols"), and its port selector must be that protocol's;
 * - at commit, per base chain and everything reachable from it: `dnat` only in nat chains on
 *   prerouting/output, `masquerade` only in nat postrouting, `reject` only on
 *   prerouting/input/forward/output, and no jump loops (ELOOP).
 *
 * `dump()` prints the state sorted and stable for golden tests; `listTableJson()` prints it
 * in the shape of `nft -j list table` (nft 1.0.6), which `listTable()` parses back through
 * the same code the real executor uses.
 */
import { NftError, type NftErrno } from '../errors.js';
import type { ApplyOptions, NftExecutor } from './executor.js';
import { setElementsFromJson, structureFromJson, tableStateFromJson } from './json.js';
import {
  exprTypes,
  literalMatchesType,
  NftSyntaxError,
  parseCommand,
  type BaseChainSpec,
  type Command,
  type Expr,
  type Selector,
  type SetDecl,
  type Stmt,
} from './parse.js';
import { naturalCompare } from './diff.js';
import { sameBase, sameSetState, type Family, type StructureListing, type TableState } from './ruleset.js';
import { canonConcat, describeTypes, verdictTarget, type NftType } from './types.js';

/** A rule as stored by the fake. */
export interface FakeRule {
  /** The rule text as written (tokens joined by single spaces), including its comment. */
  text: string;
  stmts: Stmt[];
  /** The rule's comment, if any. */
  comment?: string;
}

/** A chain as stored by the fake. */
export interface FakeChain {
  name: string;
  /** Kernel-like handle, assigned at creation. */
  handle: number;
  base?: BaseChainSpec;
  rules: FakeRule[];
}

/** A set or map as stored by the fake. */
export interface FakeSet {
  name: string;
  /** Kernel-like handle, assigned at creation. */
  handle: number;
  kind: 'set' | 'map';
  decl: SetDecl;
  /** Canonical key → canonical value (`''` for plain sets). */
  elements: Map<string, string>;
}

/** A table as stored by the fake (read it, don't change it). */
export interface FakeTable {
  family: string;
  name: string;
  /** Kernel-like handle, assigned at creation. */
  handle: number;
  chains: Map<string, FakeChain>;
  sets: Map<string, FakeSet>;
}

class FakeError extends Error {
  constructor(
    readonly errno: NftErrno,
    message: string,
  ) {
    super(message);
  }
}

const ERRNO_TEXT: Record<NftErrno, string> = {
  ENOENT: 'Could not process rule: No such file or directory',
  EEXIST: 'Could not process rule: File exists',
  EBUSY: 'Could not process rule: Device or resource busy',
  ELOOP: 'Could not process rule: Too many levels of symbolic links',
  EOPNOTSUPP: 'Could not process rule: Operation not supported',
  EINVAL: 'Could not process rule: Invalid argument',
  SYNTAX: 'syntax error',
};

function fail(errno: NftErrno, detail?: string): never {
  throw new FakeError(errno, detail ?? ERRNO_TEXT[errno]);
}

interface WorkSet extends FakeSet {
  /** Copy-on-write: the element map is shared with the committed state until written. */
  shared: boolean;
}

/** Options of {@link FakeNft.dump}. */
export interface DumpOptions {
  /** Print rule comments (Skiff's rule hashes); defaults to true. */
  ruleComments?: boolean;
}

/** The in-memory nftables. Implements {@link NftExecutor}. */
export class FakeNft implements NftExecutor {
  private tables = new Map<string, FakeTable>();
  private failures: NftError[] = [];
  private readonly timeouts = new Map<string, number>();
  /** Every script applied successfully (not check-only), oldest first. */
  readonly applied: string[] = [];
  /** Number of `apply` calls, successful or not. */
  applyCalls = 0;
  /** Number of `listTable` calls (full reads). */
  listCalls = 0;
  /** Number of `listStructure` calls (cheap reads). */
  structureListCalls = 0;
  /** Number of `listSet` calls. */
  setListCalls = 0;

  /** Makes the next `apply` fail with `err` (default: a generic NftError) before doing anything. */
  failNextApply(err?: NftError): void {
    this.failures.push(err ?? new NftError('injected failure', { errno: 'EINVAL' }));
  }

  async apply(script: string, opts: ApplyOptions = {}): Promise<void> {
    this.applyCalls++;
    const injected = this.failures.shift();
    if (injected) throw injected;
    const work = this.cloneTables();
    const lines = script.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line || line.startsWith('#')) continue;
      try {
        this.exec(work, parseCommand(line));
      } catch (err) {
        const errno = err instanceof FakeError ? err.errno : err instanceof NftSyntaxError ? 'SYNTAX' : 'EINVAL';
        const msg = err instanceof Error ? err.message : String(err);
        const stderr = `/dev/stdin:${i + 1}:1-${line.length}: Error: ${msg}\n${line}\n`;
        throw new NftError(`nft rejected the transaction at line ${i + 1}: ${msg}`, {
          cause: err,
          stderr,
          exitCode: 1,
          line: i + 1,
          statement: lines[i],
          errno,
        });
      }
    }
    try {
      for (const t of work.values()) validateTable(t);
    } catch (err) {
      const errno = err instanceof FakeError ? err.errno : 'EINVAL';
      const msg = err instanceof Error ? err.message : String(err);
      throw new NftError(`nft rejected the transaction: ${msg}`, { cause: err, stderr: `Error: ${msg}\n`, exitCode: 1, errno });
    }
    if (opts.check) return;
    for (const t of work.values()) for (const s of t.sets.values()) delete (s as Partial<WorkSet>).shared;
    this.tables = work;
    this.applied.push(script);
  }

  async listTable(family: Family, table: string): Promise<TableState | null> {
    this.listCalls++;
    const json = this.listTableJson(family, table);
    return json ? tableStateFromJson(json, family, table) : null;
  }

  async listStructure(family: Family, table: string): Promise<StructureListing | null> {
    this.structureListCalls++;
    const json = this.listTableJson(family, table, { terse: true });
    return json ? structureFromJson([json], family, table) : null;
  }

  async listSet(family: Family, table: string, kind: 'set' | 'map', name: string): Promise<Map<string, string> | null> {
    this.setListCalls++;
    const json = this.listTableJson(family, table);
    const s = this.table(family, table)?.sets.get(name);
    if (!json || !s || s.kind !== kind) return null;
    return setElementsFromJson(json, family, table, name);
  }

  /** A read-only view of a table, or undefined. */
  table(family: string, name: string): FakeTable | undefined {
    return this.tables.get(`${family} ${name}`);
  }

  /** Names of all tables, as `family name`. */
  tableNames(): string[] {
    return [...this.tables.keys()].sort();
  }

  /**
   * What a packet-path `update @set { key : value }` does: adds (or refreshes) an element of
   * a dynamic set, outside any transaction. Used by the packet tracer.
   */
  packetPathUpdate(family: string, table: string, set: string, key: string, value: string, timeoutSec?: number): void {
    const s = this.tables.get(`${family} ${table}`)?.sets.get(set);
    if (!s) throw new Error(`packet-path update of missing set ${family} ${table} ${set}`);
    s.elements = new Map(s.elements);
    s.elements.set(key, value);
    if (timeoutSec !== undefined) this.timeouts.set(`${family} ${table} ${set} ${key}`, timeoutSec);
  }

  /** Drops every element a packet-path update added with a timeout, as if they all expired. */
  expireDynamicElements(): void {
    for (const k of this.timeouts.keys()) {
      const [family, table, set, ...rest] = k.split(' ');
      const s = this.tables.get(`${family} ${table}`)?.sets.get(set);
      if (s) {
        s.elements = new Map(s.elements);
        s.elements.delete(rest.join(' '));
      }
    }
    this.timeouts.clear();
  }

  // ---- statement execution -------------------------------------------------------------

  private cloneTables(): Map<string, FakeTable> {
    const out = new Map<string, FakeTable>();
    for (const [k, t] of this.tables) {
      const chains = new Map<string, FakeChain>();
      for (const [n, c] of t.chains) chains.set(n, { ...c, rules: [...c.rules] });
      const sets = new Map<string, FakeSet>();
      for (const [n, s] of t.sets) sets.set(n, { ...s, shared: true } as WorkSet);
      out.set(k, { ...t, chains, sets });
    }
    return out;
  }

  private exec(tables: Map<string, FakeTable>, cmd: Command): void {
    const key = `${cmd.family} ${cmd.table}`;
    if (cmd.obj === 'table') {
      if (cmd.op === 'add') {
        if (!tables.has(key)) tables.set(key, { family: cmd.family, name: cmd.table, handle: nextHandle(), chains: new Map(), sets: new Map() });
      } else {
        if (!tables.has(key)) fail('ENOENT');
        tables.delete(key);
      }
      return;
    }
    const t = tables.get(key) ?? fail('ENOENT');
    switch (cmd.obj) {
      case 'chain':
        return execChain(t, cmd);
      case 'set':
      case 'map':
        return execSet(t, cmd);
      case 'rule':
        return execRule(t, cmd);
      case 'element':
        return execElement(t, cmd);
    }
  }

  // ---- output --------------------------------------------------------------------------

  /** The whole state, sorted and stable: sets and maps by name, then chains by name. */
  dump(opts: DumpOptions = {}): string {
    const showComments = opts.ruleComments ?? true;
    const out: string[] = [];
    for (const key of this.tableNames()) {
      const t = this.tables.get(key)!;
      out.push(`table ${t.family} ${t.name} {`);
      const sets = [...t.sets.values()].sort((a, b) => naturalCompare(a.name, b.name));
      for (const s of sets) {
        out.push(`\t${s.kind} ${s.name} {`);
        out.push(`\t\t${s.decl.decl}`);
        if (s.decl.size !== undefined) out.push(`\t\tsize ${s.decl.size}`);
        if (s.decl.flags.length) out.push(`\t\tflags ${s.decl.flags.join(',')}`);
        if (s.decl.timeoutSec !== undefined) out.push(`\t\ttimeout ${s.decl.timeoutSec}s`);
        if (s.decl.comment !== undefined) out.push(`\t\tcomment ${JSON.stringify(s.decl.comment)}`);
        const els = [...s.elements].map(([k, v]) => (s.kind === 'map' ? `${k} : ${v}` : k)).sort(naturalCompare);
        if (els.length) {
          out.push('\t\telements = {');
          for (const e of els) out.push(`\t\t\t${e},`);
          out.push('\t\t}');
        }
        out.push('\t}');
      }
      const chains = [...t.chains.values()].sort((a, b) => naturalCompare(a.name, b.name));
      for (const c of chains) {
        out.push(`\tchain ${c.name} {`);
        if (c.base) {
          const b = c.base;
          out.push(`\t\ttype ${b.type} hook ${b.hook} priority ${b.priority}; policy ${b.policy};`);
        }
        for (const r of c.rules) out.push(`\t\t${showComments ? r.text : stripComment(r)}`);
        out.push('\t}');
      }
      out.push('}');
    }
    return out.join('\n') + (out.length ? '\n' : '');
  }

  /**
   * The table in the shape of `nft -j list table <family> <name>` (nft 1.0.6), or null when
   * it does not exist. Rule expressions are left empty (Skiff reads only rule comments).
   */
  listTableJson(family: string, name: string, opts: { terse?: boolean } = {}): unknown {
    const t = this.tables.get(`${family} ${name}`);
    if (!t) return null;
    const items: unknown[] = [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family, name, handle: t.handle } },
    ];
    let handle = 1_000_000;
    for (const s of t.sets.values()) {
      const o: Record<string, unknown> = {
        family,
        name: s.name,
        table: name,
        type: s.decl.keyTypes.length === 1 ? s.decl.keyTypes[0] : s.decl.keyTypes,
        handle: s.handle,
      };
      if (s.kind === 'map') o.map = s.decl.dataTypes!.join(' . ');
      // nft 1.0.6 prints `dynamic` in text but leaves it out of JSON; dynamic sets get a default size.
      const flags = s.decl.flags.filter((f) => f !== 'dynamic');
      if (s.decl.size !== undefined || s.decl.flags.includes('dynamic')) o.size = s.decl.size ?? 65535;
      if (flags.length) o.flags = flags;
      if (s.decl.timeoutSec !== undefined) o.timeout = s.decl.timeoutSec;
      if (s.decl.comment !== undefined) o.comment = s.decl.comment;
      if (s.elements.size && !opts.terse) {
        o.elem = [...s.elements].map(([k, v]) => {
          const key = jsonValue(s.decl.keyTypes, k);
          return s.kind === 'map' ? [key, jsonValue(s.decl.dataTypes!, v)] : key;
        });
      }
      items.push({ [s.kind]: o });
    }
    for (const c of t.chains.values()) {
      const o: Record<string, unknown> = { family, table: name, name: c.name, handle: c.handle };
      if (c.base) Object.assign(o, { type: c.base.type, hook: c.base.hook, prio: c.base.priority, policy: c.base.policy });
      items.push({ chain: o });
    }
    for (const c of opts.terse ? [] : t.chains.values()) {
      for (const r of c.rules) {
        const o: Record<string, unknown> = { family, table: name, chain: c.name, handle: handle++ };
        if (r.comment !== undefined) o.comment = r.comment;
        o.expr = [];
        items.push({ rule: o });
      }
    }
    return { nftables: items };
  }
}

function stripComment(r: FakeRule): string {
  const i = r.text.lastIndexOf(' comment "');
  return i >= 0 ? r.text.slice(0, i) : r.text;
}

function jsonValue(types: NftType[], text: string): unknown {
  if (types.length === 1 && types[0] === 'verdict') {
    const target = verdictTarget(text);
    if (target) return { [text.split(' ')[0]]: { target } };
    return { [text]: null };
  }
  const parts = text.split(' . ').map((p, i) => {
    const ty = types[i];
    return ty === 'inet_service' || ty === 'integer' || ty === 'mark' ? Number(p) : p;
  });
  return parts.length === 1 ? parts[0] : { concat: parts };
}

// ---- per-object statement semantics ---------------------------------------------------

let handleCounter = 0;
/** Handles grow monotonically, as the kernel's do, so a re-created object gets a new one. */
function nextHandle(): number {
  return ++handleCounter;
}

function execChain(t: FakeTable, cmd: Extract<Command, { obj: 'chain' }>): void {
  const existing = t.chains.get(cmd.name);
  if (cmd.op === 'add') {
    if (existing) {
      if (!sameBase(existing.base, cmd.base)) fail('EOPNOTSUPP', `chain ${cmd.name} exists with different hook properties`);
      return;
    }
    t.chains.set(cmd.name, { name: cmd.name, handle: nextHandle(), ...(cmd.base ? { base: cmd.base } : {}), rules: [] });
    return;
  }
  if (!existing) fail('ENOENT');
  if (cmd.op === 'flush') {
    existing.rules = [];
    return;
  }
  // delete: the kernel drops the chain's own rules, but refuses while anything refers to it.
  for (const c of t.chains.values()) {
    if (c === existing) continue;
    for (const r of c.rules) {
      if (r.stmts.some((s) => s.kind === 'verdict' && s.target === cmd.name)) fail('EBUSY');
    }
  }
  for (const s of t.sets.values()) {
    if (s.decl.dataTypes?.[0] !== 'verdict') continue;
    for (const v of s.elements.values()) if (verdictTarget(v) === cmd.name) fail('EBUSY');
  }
  t.chains.delete(cmd.name);
}

function setsReferencedBy(stmts: Stmt[]): string[] {
  const out: string[] = [];
  for (const s of stmts) {
    if (s.kind === 'match' && s.right.kind === 'set-ref') out.push(s.right.name);
    if (s.kind === 'vmap' || s.kind === 'dnat-map') out.push(s.map);
    if (s.kind === 'set-update') out.push(s.set);
  }
  return out;
}

function selectorsOf(e: Expr): Selector[] {
  if (e.kind === 'concat') return e.parts;
  if (e.kind === 'binop') return [e.left];
  return [e];
}

/** Address selectors must belong to the table's family (nft: "conflicting protocols"). */
function checkFamily(t: FakeTable, e: Expr): void {
  if (t.family !== 'ip' && t.family !== 'ip6') return;
  for (const p of selectorsOf(e)) {
    const fam = p.kind === 'payload' && (p.proto === 'ip' || p.proto === 'ip6') ? p.proto : p.kind === 'ct-original' && p.field !== 'proto-dst' ? p.field.split(' ')[0] : undefined;
    if (fam && fam !== t.family) fail('EINVAL', `conflicting protocols specified: ${t.family} vs. ${fam}`);
  }
}

/** `ct original proto-dst` has no size without an L4 protocol match before it (nft: "variable sized data types"). */
function checkL4Needs(e: Expr, l4: string | undefined): void {
  if (!l4 && selectorsOf(e).some((p) => p.kind === 'ct-original' && p.field === 'proto-dst')) {
    fail('EINVAL', 'can not use variable sized data types (invalid) in concat expressions');
  }
}

function execSet(t: FakeTable, cmd: Extract<Command, { obj: 'set' | 'map' }>): void {
  const existing = t.sets.get(cmd.name);
  if (cmd.op === 'add') {
    if (existing) {
      const same =
        existing.kind === cmd.obj &&
        sameSetState(
          { kind: existing.kind, keyTypes: existing.decl.keyTypes, dataTypes: existing.decl.dataTypes, flags: existing.decl.flags },
          { kind: cmd.obj, keyTypes: cmd.decl.keyTypes, dataTypes: cmd.decl.dataTypes, flags: cmd.decl.flags },
        );
      if (!same) fail('EEXIST');
      return;
    }
    t.sets.set(cmd.name, { name: cmd.name, handle: nextHandle(), kind: cmd.obj, decl: cmd.decl, elements: new Map() });
    return;
  }
  if (!existing || existing.kind !== cmd.obj) fail('ENOENT');
  if (cmd.op === 'flush') {
    existing.elements = new Map();
    (existing as Partial<WorkSet>).shared = false;
    return;
  }
  for (const c of t.chains.values()) {
    for (const r of c.rules) if (setsReferencedBy(r.stmts).includes(cmd.name)) fail('EBUSY');
  }
  t.sets.delete(cmd.name);
}

function checkKey(set: FakeSet, key: Expr): void {
  const want = set.decl.keyTypes;
  const got = exprTypes(key);
  if (want.join('.') !== got.join('.')) {
    fail('EINVAL', `datatype mismatch, expected ${describeTypes(want)}, expression has type ${describeTypes(got)}`);
  }
}

function checkStmt(t: FakeTable, stmts: Stmt[], i: number): void {
  const s = stmts[i];
  const needSet = (name: string): FakeSet => t.sets.get(name) ?? fail('ENOENT', `No such file or directory: set @${name}`);
  switch (s.kind) {
    case 'verdict':
      if (s.target !== undefined) {
        const c = t.chains.get(s.target) ?? fail('ENOENT', `No such file or directory: chain ${s.target}`);
        if (c.base) fail('EOPNOTSUPP', `cannot ${s.verdict} to base chain ${s.target}`);
      }
      return;
    case 'match': {
      checkFamily(t, s.left);
      checkL4Needs(s.left, l4Context(stmts.slice(0, i)));
      const types = exprTypes(s.left);
      if (s.right.kind === 'set-ref') {
        checkKey(needSet(s.right.name), s.left);
      } else {
        if (types.length !== 1) fail('EINVAL', 'concatenations can only be matched against sets');
        const items = s.right.kind === 'literal' ? [s.right.text] : s.right.items;
        for (const v of items) {
          if (!literalMatchesType(types[0], v)) fail('EINVAL', `datatype mismatch: ${v} is not a ${describeTypes(types)}`);
        }
      }
      return;
    }
    case 'vmap': {
      checkFamily(t, s.key);
      checkL4Needs(s.key, l4Context(stmts.slice(0, i)));
      const m = needSet(s.map);
      if (m.kind !== 'map' || m.decl.dataTypes?.[0] !== 'verdict') fail('EINVAL', `@${s.map} is not a verdict map`);
      checkKey(m, s.key);
      return;
    }
    case 'dnat-map': {
      if ((t.family === 'ip' || t.family === 'ip6') && s.family !== t.family) {
        fail('EINVAL', `conflicting protocols specified: ${t.family} vs. ${s.family}`);
      }
      checkFamily(t, s.key);
      const m = needSet(s.map);
      const addrType = s.family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
      if (m.kind !== 'map' || m.decl.dataTypes?.join('.') !== `${addrType}.inet_service`) {
        fail('EINVAL', `@${s.map} does not map to ${addrType} . inet_service`);
      }
      checkKey(m, s.key);
      const proto = l4Context(stmts.slice(0, i));
      if (!proto) fail('EINVAL', `conflicting protocols specified: ${s.family} vs. th`);
      for (const p of selectorsOf(s.key)) {
        if (p.kind === 'payload' && p.proto !== 'ip' && p.proto !== 'ip6' && p.proto !== proto) {
          fail('EINVAL', `conflicting protocols specified: ${proto} vs. ${p.proto}`);
        }
      }
      return;
    }
    case 'set-update': {
      checkFamily(t, s.key);
      const l4 = l4Context(stmts.slice(0, i));
      checkL4Needs(s.key, l4);
      const m = needSet(s.set);
      if (!m.decl.flags.includes('dynamic')) fail('EOPNOTSUPP', `@${s.set} is not dynamic; it cannot be updated from the packet path`);
      if (s.timeoutSec !== undefined && !m.decl.flags.includes('timeout')) fail('EINVAL', `@${s.set} has no timeout flag`);
      checkKey(m, s.key);
      if ((m.kind === 'map') !== (s.value !== undefined)) fail('EINVAL', `update of @${s.set} needs ${m.kind === 'map' ? 'a' : 'no'} value`);
      if (t.family === 'ip6' && s.value && s.key.kind === 'concat') {
        // nft 1.0.6 aborts on this (netlink_linearize.c: Assertion `dreg < ctx->reg_low' failed).
        fail('EOPNOTSUPP', "nft 1.0.6 cannot update a map with a concatenated key in an ip6 table (netlink_gen_expr: Assertion `dreg < ctx->reg_low' failed)");
      }
      if (s.value) {
        checkFamily(t, s.value);
        checkL4Needs(s.value, l4);
        const got = exprTypes(s.value);
        if (got.join('.') !== m.decl.dataTypes!.join('.')) {
          fail('EINVAL', `datatype mismatch, expected ${describeTypes(m.decl.dataTypes!)}, expression has type ${describeTypes(got)}`);
        }
        for (const p of selectorsOf(s.value)) {
          if (p.kind === 'payload' && (p.proto === 'tcp' || p.proto === 'udp') && p.proto !== l4) {
            fail('EINVAL', `conflicting protocols specified: ${l4 ?? 'none'} vs. ${p.proto}`);
          }
        }
      }
      return;
    }
    case 'dnat-to':
      if (!literalMatchesType('ipv4_addr', s.addr)) fail('EINVAL', `invalid address ${s.addr}`);
      if (s.port !== undefined && !l4Context(stmts.slice(0, i))) fail('EINVAL', 'transport protocol mapping is only valid after transport protocol match');
      return;
    case 'mark-set': {
      const ty = exprTypes(s.value);
      if (ty.length !== 1 || ty[0] !== 'mark') fail('EINVAL', 'datatype mismatch, expected packet mark');
      return;
    }
    default:
      return;
  }
}

/** The L4 protocol a rule has matched on before statement i (`meta l4proto tcp`), if any. */
function l4Context(stmts: Stmt[]): string | undefined {
  for (const s of stmts) {
    if (s.kind === 'match' && s.op === 'eq' && s.left.kind === 'meta' && s.left.key === 'l4proto' && s.right.kind === 'literal') {
      return s.right.text;
    }
  }
  return undefined;
}

function execRule(t: FakeTable, cmd: Extract<Command, { obj: 'rule' }>): void {
  const chain = t.chains.get(cmd.chain) ?? fail('ENOENT');
  for (let i = 0; i < cmd.stmts.length; i++) checkStmt(t, cmd.stmts, i);
  const comment = cmd.stmts.find((s): s is Extract<Stmt, { kind: 'comment' }> => s.kind === 'comment')?.text;
  chain.rules.push({ text: cmd.text, stmts: cmd.stmts, ...(comment !== undefined ? { comment } : {}) });
}

function execElement(t: FakeTable, cmd: Extract<Command, { obj: 'element' }>): void {
  const set = (t.sets.get(cmd.name) ?? fail('ENOENT')) as WorkSet;
  if (set.shared) {
    set.elements = new Map(set.elements);
    set.shared = false;
  }
  for (const e of cmd.elements) {
    const key = canonConcat(set.decl.keyTypes, e.key);
    if (key === undefined) {
      fail('EINVAL', `datatype mismatch, expected ${describeTypes(set.decl.keyTypes)}, element ${e.key.join(' . ')}`);
    }
    if (cmd.op === 'delete') {
      if (!set.elements.has(key)) fail('ENOENT');
      set.elements.delete(key);
      continue;
    }
    let value = '';
    if (set.kind === 'map') {
      if (!e.value) fail('EINVAL', 'map element needs a value');
      value = canonConcat(set.decl.dataTypes!, e.value) ?? fail('EINVAL', `datatype mismatch, expected ${describeTypes(set.decl.dataTypes!)}, value ${e.value.join(' . ')}`);
      const target = verdictTarget(value);
      if (target !== undefined) {
        const c = t.chains.get(target) ?? fail('ENOENT', `No such file or directory: chain ${target}`);
        if (c.base) fail('EOPNOTSUPP', `cannot jump to base chain ${target}`);
      }
    } else if (e.value) fail('EINVAL', 'set elements do not take a value');
    const old = set.elements.get(key);
    if (old !== undefined && old !== value) fail('EEXIST');
    set.elements.set(key, value);
  }
}

// ---- commit-time validation -------------------------------------------------------------

const REJECT_HOOKS = new Set(['prerouting', 'input', 'forward', 'output']);

function validateTable(t: FakeTable): void {
  for (const c of t.chains.values()) {
    if (c.base) walk(t, c, c.base, []);
  }
}

function walk(t: FakeTable, c: FakeChain, base: BaseChainSpec, path: string[]): void {
  if (path.includes(c.name)) fail('ELOOP');
  const here = [...path, c.name];
  for (const r of c.rules) {
    for (const s of r.stmts) {
      if (s.kind === 'dnat-map' || s.kind === 'dnat-to') {
        if (base.type !== 'nat' || (base.hook !== 'prerouting' && base.hook !== 'output')) {
          fail('EOPNOTSUPP', `dnat in chain ${c.name} reached from ${base.type} ${base.hook}`);
        }
      } else if (s.kind === 'masquerade') {
        if (base.type !== 'nat' || base.hook !== 'postrouting') {
          fail('EOPNOTSUPP', `masquerade in chain ${c.name} reached from ${base.type} ${base.hook}`);
        }
      } else if (s.kind === 'reject') {
        if (!REJECT_HOOKS.has(base.hook)) fail('EOPNOTSUPP', `reject in chain ${c.name} reached from ${base.hook}`);
      } else if (s.kind === 'verdict' && s.target) {
        walk(t, t.chains.get(s.target)!, base, here);
      } else if (s.kind === 'vmap') {
        const targets = new Set<string>();
        for (const v of t.sets.get(s.map)?.elements.values() ?? []) {
          const target = verdictTarget(v);
          if (target) targets.add(target);
        }
        for (const target of targets) {
          const next = t.chains.get(target);
          if (next) walk(t, next, base, here);
        }
      }
    }
  }
}
