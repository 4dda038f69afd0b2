/**
 * A parser for the subset of nft's text syntax that Skiff emits: one command per line
 * (`add table|chain|set|map|rule|element`, `flush …`, `delete …`), and inside rules the
 * selectors, matches and statements listed in {@link Stmt}. The {@link FakeNft} applies the
 * parsed commands and the packet tracer evaluates the parsed rules, so anything the proxier
 * writes that this parser does not understand fails a unit test instead of reaching a kernel.
 */
import { canonLiteral, TYPE_NAMES, type NftType } from './types.js';
import { parseCidr } from '../ip.js';

/** A syntax error, with the column (0-based token index) when known. */
export class NftSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NftSyntaxError';
  }
}

/** Splits one line into tokens: words, quoted strings, and the punctuation `{ } , ;`. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  let cur = '';
  const push = (): void => {
    if (cur) out.push(cur);
    cur = '';
  };
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      push();
      i++;
    } else if (c === '"') {
      push();
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new NftSyntaxError('unterminated string');
      out.push(line.slice(i, end + 1));
      i = end + 1;
    } else if (c === '{' || c === '}' || c === ',' || c === ';') {
      push();
      out.push(c);
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  push();
  return out;
}

/** A header field, meta key, conntrack key or number generator: something that yields a value. */
export type Selector =
  | { kind: 'payload'; proto: 'ip' | 'ip6' | 'th' | 'tcp' | 'udp'; field: 'saddr' | 'daddr' | 'sport' | 'dport' }
  | { kind: 'meta'; key: 'l4proto' | 'mark' }
  | { kind: 'ct'; key: 'state' | 'status' }
  | { kind: 'ct-original'; field: 'ip saddr' | 'ip daddr' | 'ip6 saddr' | 'ip6 daddr' | 'proto-dst' }
  | { kind: 'numgen'; mod: number; offset: number };

/** An expression: a selector, a concatenation of selectors, or a bitwise op with a constant. */
export type Expr =
  | Selector
  | { kind: 'concat'; parts: Selector[] }
  | { kind: 'binop'; op: '&' | '|' | '^'; left: Selector; right: string };

/** The right-hand side of a match. */
export type Rhs =
  | { kind: 'literal'; text: string }
  | { kind: 'set-ref'; name: string }
  | { kind: 'anon-set'; items: string[] };

/** One statement of a rule. A rule is a list of these, evaluated left to right. */
export type Stmt =
  | { kind: 'match'; left: Expr; op: 'eq' | 'ne'; right: Rhs }
  | { kind: 'verdict'; verdict: 'accept' | 'drop' | 'return' | 'continue' | 'jump' | 'goto'; target?: string }
  | { kind: 'vmap'; key: Expr; map: string }
  | { kind: 'dnat-map'; family: 'ip' | 'ip6'; key: Expr; map: string }
  | { kind: 'dnat-to'; addr: string; port?: number }
  | { kind: 'masquerade'; flags: string[] }
  | { kind: 'reject'; type: 'icmp' | 'tcp reset'; code?: string }
  | { kind: 'mark-set'; value: Expr }
  | { kind: 'set-update'; set: string; key: Expr; timeoutSec?: number; value?: Expr }
  | { kind: 'counter' }
  | { kind: 'comment'; text: string };

/** The datatype(s) an expression yields; a concatenation yields one per part. */
export function exprTypes(e: Expr): NftType[] {
  switch (e.kind) {
    case 'concat':
      return e.parts.flatMap((p) => exprTypes(p));
    case 'binop':
      return exprTypes(e.left);
    case 'payload':
      if (e.field === 'saddr' || e.field === 'daddr') return [e.proto === 'ip6' ? 'ipv6_addr' : 'ipv4_addr'];
      return ['inet_service'];
    case 'meta':
      return [e.key === 'l4proto' ? 'inet_proto' : 'mark'];
    case 'ct':
      return [e.key === 'state' ? 'ct_state' : 'ct_status'];
    case 'ct-original':
      return [e.field === 'proto-dst' ? 'inet_service' : e.field.startsWith('ip6') ? 'ipv6_addr' : 'ipv4_addr'];
    case 'numgen':
      return ['integer'];
  }
}

/** Prints an expression back in nft syntax. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'concat':
      return e.parts.map(formatExpr).join(' . ');
    case 'binop':
      return `${formatExpr(e.left)} ${e.op} ${e.right}`;
    case 'payload':
      return `${e.proto} ${e.field}`;
    case 'meta':
      return `meta ${e.key}`;
    case 'ct':
      return `ct ${e.key}`;
    case 'ct-original':
      return `ct original ${e.field}`;
    case 'numgen':
      return `numgen random mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ''}`;
  }
}

/** A cursor over tokens. */
class Cursor {
  pos = 0;
  constructor(readonly toks: string[]) {}
  peek(k = 0): string | undefined {
    return this.toks[this.pos + k];
  }
  next(what = 'token'): string {
    const t = this.toks[this.pos++];
    if (t === undefined) throw new NftSyntaxError(`syntax error, unexpected end of line, expecting ${what}`);
    return t;
  }
  expect(tok: string): void {
    const t = this.next(`'${tok}'`);
    if (t !== tok) throw new NftSyntaxError(`syntax error, unexpected ${t}, expecting '${tok}'`);
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
}

function parseSelector(c: Cursor): Selector {
  const t = c.next('expression');
  switch (t) {
    case 'ip':
    case 'ip6': {
      const f = c.next(`${t} field`);
      if (f !== 'saddr' && f !== 'daddr') throw new NftSyntaxError(`unsupported ${t} field ${f}`);
      return { kind: 'payload', proto: t, field: f };
    }
    case 'th':
    case 'tcp':
    case 'udp': {
      const f = c.next(`${t} field`);
      if (f !== 'sport' && f !== 'dport') throw new NftSyntaxError(`unsupported ${t} field ${f}`);
      return { kind: 'payload', proto: t, field: f };
    }
    case 'meta': {
      const k = c.next('meta key');
      if (k !== 'l4proto' && k !== 'mark') throw new NftSyntaxError(`unsupported meta key ${k}`);
      return { kind: 'meta', key: k };
    }
    case 'ct': {
      if (c.peek() === 'original') {
        c.next();
        const a = c.next('ct original key');
        if (a === 'proto-dst') return { kind: 'ct-original', field: 'proto-dst' };
        if (a !== 'ip' && a !== 'ip6') throw new NftSyntaxError(`unsupported ct original key ${a}`);
        const f = c.next(`${a} field`);
        if (f !== 'saddr' && f !== 'daddr') throw new NftSyntaxError(`unsupported ct original ${a} field ${f}`);
        return { kind: 'ct-original', field: `${a} ${f}` };
      }
      const k = c.next('ct key');
      if (k !== 'state' && k !== 'status') throw new NftSyntaxError(`unsupported ct key ${k}`);
      return { kind: 'ct', key: k };
    }
    case 'numgen': {
      c.expect('random');
      c.expect('mod');
      const mod = Number(c.next('modulus'));
      if (!Number.isInteger(mod) || mod < 1) throw new NftSyntaxError('numgen modulus must be a positive integer');
      let offset = 0;
      if (c.peek() === 'offset') {
        c.next();
        offset = Number(c.next('offset'));
      }
      return { kind: 'numgen', mod, offset };
    }
    default:
      throw new NftSyntaxError(`syntax error, unexpected ${t}`);
  }
}

const SELECTOR_START = new Set(['ip', 'ip6', 'th', 'tcp', 'udp', 'meta', 'ct', 'numgen']);

/** Parses an nft time value (`10800s`, `3h`, `1h30m`, `500ms`) into whole seconds (rounded down). */
export function parseNftDuration(text: string): number {
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'd' ? n * 86400 : m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) {
    if (/^\d+$/.test(text)) return Number(text);
    throw new NftSyntaxError(`invalid time ${text}`);
  }
  return Math.floor(total);
}

/** Parses an expression: selector (`.` selector)*, or selector (`&`|`|`|`^`) constant. */
function parseExpr(c: Cursor): Expr {
  const first = parseSelector(c);
  const op = c.peek();
  if (op === '&' || op === '|' || op === '^') {
    c.next();
    return { kind: 'binop', op, left: first, right: c.next('constant') };
  }
  if (op !== '.') return first;
  const parts: Selector[] = [first];
  while (c.peek() === '.') {
    c.next();
    parts.push(parseSelector(c));
  }
  return { kind: 'concat', parts };
}

function parseRhs(c: Cursor): Rhs {
  const t = c.next('value');
  if (t.startsWith('@')) return { kind: 'set-ref', name: t.slice(1) };
  if (t === '{') {
    const items: string[] = [];
    for (;;) {
      const v = c.next('set element');
      if (v === '}') break;
      if (v === ',') continue;
      items.push(v);
    }
    return { kind: 'anon-set', items };
  }
  return { kind: 'literal', text: t };
}

function parseString(tok: string): string {
  if (!tok.startsWith('"') || !tok.endsWith('"')) throw new NftSyntaxError(`expected a quoted string, got ${tok}`);
  return tok.slice(1, -1);
}

/** Parses the text of a rule (what follows `add rule <family> <table> <chain>`). */
export function parseRule(text: string): Stmt[] {
  return parseRuleTokens(tokenize(text));
}

/** Parses the tokens of a rule. */
export function parseRuleTokens(toks: string[]): Stmt[] {
  const c = new Cursor(toks);
  const out: Stmt[] = [];
  while (!c.done()) {
    const t = c.peek()!;
    if (t === 'accept' || t === 'drop' || t === 'return' || t === 'continue') {
      c.next();
      out.push({ kind: 'verdict', verdict: t });
    } else if (t === 'jump' || t === 'goto') {
      c.next();
      out.push({ kind: 'verdict', verdict: t, target: c.next('chain name') });
    } else if (t === 'counter') {
      c.next();
      out.push({ kind: 'counter' });
    } else if (t === 'comment') {
      c.next();
      out.push({ kind: 'comment', text: parseString(c.next('comment')) });
    } else if (t === 'masquerade') {
      c.next();
      const flags: string[] = [];
      while (c.peek() === 'fully-random' || c.peek() === 'random' || c.peek() === 'persistent') flags.push(c.next());
      out.push({ kind: 'masquerade', flags });
    } else if (t === 'reject') {
      c.next();
      if (c.peek() === 'with') {
        c.next();
        const w = c.next('reject type');
        if (w === 'tcp') {
          c.expect('reset');
          out.push({ kind: 'reject', type: 'tcp reset' });
        } else if (w === 'icmp') {
          if (c.peek() === 'type') c.next();
          out.push({ kind: 'reject', type: 'icmp', code: c.next('icmp code') });
        } else throw new NftSyntaxError(`unsupported reject type ${w}`);
      } else out.push({ kind: 'reject', type: 'icmp', code: 'port-unreachable' });
    } else if (t === 'dnat') {
      c.next();
      out.push(parseDnat(c));
    } else if (t === 'update' || t === 'add') {
      c.next();
      const m = c.next('set');
      if (!m.startsWith('@')) throw new NftSyntaxError('only named sets can be updated from the packet path');
      c.expect('{');
      const key = parseExpr(c);
      let timeoutSec: number | undefined;
      if (c.peek() === 'timeout') {
        c.next();
        timeoutSec = parseNftDuration(c.next('timeout'));
      }
      let value: Expr | undefined;
      if (c.peek() === ':') {
        c.next();
        value = parseExpr(c);
      }
      c.expect('}');
      out.push({ kind: 'set-update', set: m.slice(1), key, ...(timeoutSec !== undefined ? { timeoutSec } : {}), ...(value ? { value } : {}) });
    } else if (t === 'meta' && c.peek(1) === 'mark' && c.peek(2) === 'set') {
      c.next();
      c.next();
      c.next();
      out.push({ kind: 'mark-set', value: parseExpr(c) });
    } else if (SELECTOR_START.has(t)) {
      const left = parseExpr(c);
      if (c.peek() === 'vmap') {
        c.next();
        const m = c.next('map');
        if (!m.startsWith('@')) throw new NftSyntaxError('only named verdict maps are supported');
        out.push({ kind: 'vmap', key: left, map: m.slice(1) });
        continue;
      }
      let op: 'eq' | 'ne' = 'eq';
      if (c.peek() === '!=') {
        c.next();
        op = 'ne';
      } else if (c.peek() === '==') c.next();
      out.push({ kind: 'match', left, op, right: parseRhs(c) });
    } else {
      throw new NftSyntaxError(`syntax error, unexpected ${t}`);
    }
  }
  return out;
}

function parseDnat(c: Cursor): Stmt {
  // `dnat ip|ip6 addr . port to <expr> map @name`  |  `dnat to a.b.c.d[:port]`
  if (c.peek() === 'ip' || c.peek() === 'ip6') {
    const family = c.next() as 'ip' | 'ip6';
    c.expect('addr');
    c.expect('.');
    c.expect('port');
    c.expect('to');
    const key = parseExpr(c);
    c.expect('map');
    const m = c.next('map');
    if (!m.startsWith('@')) throw new NftSyntaxError('only named maps are supported in dnat');
    return { kind: 'dnat-map', family, key, map: m.slice(1) };
  }
  c.expect('to');
  const target = c.next('address');
  const colon = target.lastIndexOf(':');
  if (colon > 0) {
    const port = Number(target.slice(colon + 1));
    return { kind: 'dnat-to', addr: target.slice(0, colon), port };
  }
  return { kind: 'dnat-to', addr: target };
}

/** Hook properties of a base chain. */
export interface BaseChainSpec {
  /** Chain type. */
  type: 'filter' | 'nat';
  /** Netfilter hook. */
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Numeric priority (`dstnat` is -100, `srcnat` 100, `filter` 0). */
  priority: number;
  /** Default policy; `accept` when omitted. */
  policy: 'accept' | 'drop';
}

/** A parsed set or map declaration. */
export interface SetDecl {
  /** The declaration as written, normalized: `type a . b : verdict` or `typeof … : …`. */
  decl: string;
  /** Datatype of each part of the key. */
  keyTypes: NftType[];
  /** Datatype of each part of the value (maps only); `['verdict']` for verdict maps. */
  dataTypes: NftType[] | null;
  /** Set flags, sorted (e.g. `dynamic`, `timeout`). */
  flags: string[];
  /** `size`, when declared. */
  size?: number;
  /** Default element `timeout` in seconds, when declared. */
  timeoutSec?: number;
  /** The comment, if any. */
  comment?: string;
}

/** One element of an `add element`/`delete element` statement: key parts and value parts. */
export interface ElementText {
  key: string[];
  value?: string[];
}

/** A parsed command line. */
export type Command =
  | { op: 'add' | 'delete'; obj: 'table'; family: string; table: string }
  | { op: 'add'; obj: 'chain'; family: string; table: string; name: string; base?: BaseChainSpec }
  | { op: 'flush' | 'delete'; obj: 'chain'; family: string; table: string; name: string }
  | { op: 'add'; obj: 'set' | 'map'; family: string; table: string; name: string; decl: SetDecl }
  | { op: 'flush' | 'delete'; obj: 'set' | 'map'; family: string; table: string; name: string }
  | { op: 'add'; obj: 'rule'; family: string; table: string; chain: string; text: string; stmts: Stmt[] }
  | { op: 'add' | 'delete'; obj: 'element'; family: string; table: string; name: string; elements: ElementText[] };

const PRIORITY_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

function parsePriority(c: Cursor): number {
  const t = c.next('priority');
  let base: number;
  if (t in PRIORITY_NAMES) base = PRIORITY_NAMES[t];
  else if (/^-?\d+$/.test(t)) return Number(t);
  else throw new NftSyntaxError(`invalid priority ${t}`);
  if (c.peek() === '+' || c.peek() === '-') {
    const sign = c.next() === '+' ? 1 : -1;
    base += sign * Number(c.next('number'));
  }
  return base;
}

function parseChainBody(c: Cursor): BaseChainSpec | undefined {
  c.expect('{');
  let base: Partial<BaseChainSpec> | undefined;
  for (;;) {
    const t = c.next("'}'");
    if (t === '}') break;
    if (t === ';') continue;
    if (t === 'type') {
      const type = c.next('chain type');
      if (type !== 'filter' && type !== 'nat') throw new NftSyntaxError(`unsupported chain type ${type}`);
      c.expect('hook');
      const hook = c.next('hook');
      if (!['prerouting', 'input', 'forward', 'output', 'postrouting'].includes(hook)) {
        throw new NftSyntaxError(`unknown hook ${hook}`);
      }
      c.expect('priority');
      base = { ...base, type, hook: hook as BaseChainSpec['hook'], priority: parsePriority(c) };
    } else if (t === 'policy') {
      const p = c.next('policy');
      if (p !== 'accept' && p !== 'drop') throw new NftSyntaxError(`unknown policy ${p}`);
      base = { ...base, policy: p };
    } else if (t === 'comment') {
      parseString(c.next('comment'));
    } else throw new NftSyntaxError(`syntax error, unexpected ${t}`);
  }
  if (!base) return undefined;
  if (!base.type) throw new NftSyntaxError('policy given without a hook');
  return { type: base.type, hook: base.hook!, priority: base.priority!, policy: base.policy ?? 'accept' };
}

function parseTypeList(c: Cursor): NftType[] {
  const out: NftType[] = [];
  for (;;) {
    const t = c.next('type');
    if (!TYPE_NAMES.has(t)) throw new NftSyntaxError(`unknown datatype ${t}`);
    out.push(t as NftType);
    if (c.peek() !== '.') return out;
    c.next();
  }
}

function parseSetBody(c: Cursor, obj: 'set' | 'map'): SetDecl {
  c.expect('{');
  let keyTypes: NftType[] | undefined;
  let dataTypes: NftType[] | null = null;
  let decl = '';
  const flags: string[] = [];
  let comment: string | undefined;
  let size: number | undefined;
  let timeoutSec: number | undefined;
  for (;;) {
    const t = c.next("'}'");
    if (t === '}') break;
    if (t === ';') continue;
    if (t === 'type') {
      keyTypes = parseTypeList(c);
      decl = `type ${keyTypes.join(' . ')}`;
      if (c.peek() === ':') {
        c.next();
        dataTypes = parseTypeList(c);
        decl += ` : ${dataTypes.join(' . ')}`;
      }
    } else if (t === 'typeof') {
      const key = parseExpr(c);
      keyTypes = exprTypes(key);
      decl = `typeof ${formatExpr(key)}`;
      if (c.peek() === ':') {
        c.next();
        const data = parseExpr(c);
        dataTypes = exprTypes(data);
        decl += ` : ${formatExpr(data)}`;
      }
    } else if (t === 'flags') {
      for (;;) {
        flags.push(c.next('flag'));
        if (c.peek() !== ',') break;
        c.next();
      }
    } else if (t === 'comment') {
      comment = parseString(c.next('comment'));
    } else if (t === 'size') {
      size = Number(c.next('size'));
      if (!Number.isInteger(size) || size < 1) throw new NftSyntaxError('set size must be a positive integer');
    } else if (t === 'timeout') {
      timeoutSec = parseNftDuration(c.next('timeout'));
    } else throw new NftSyntaxError(`syntax error, unexpected ${t}`);
  }
  if (!keyTypes) throw new NftSyntaxError(`${obj} definition does not specify key`);
  if (obj === 'map' && !dataTypes) throw new NftSyntaxError('map definition does not specify mapping data type');
  if (obj === 'set' && dataTypes) throw new NftSyntaxError('set definition must not specify a data type');
  flags.sort();
  return {
    decl,
    keyTypes,
    dataTypes,
    flags,
    ...(comment !== undefined ? { comment } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
  };
}

function parseElements(c: Cursor): ElementText[] {
  c.expect('{');
  const out: ElementText[] = [];
  let cur: string[] = [];
  const flush = (): void => {
    if (cur.length === 0) return;
    const colon = cur.indexOf(':');
    const keyToks = colon >= 0 ? cur.slice(0, colon) : cur;
    const valToks = colon >= 0 ? cur.slice(colon + 1) : undefined;
    out.push({ key: splitConcat(keyToks), ...(valToks ? { value: splitConcat(valToks) } : {}) });
    cur = [];
  };
  for (;;) {
    const t = c.next("'}'");
    if (t === '}') break;
    if (t === ',') flush();
    else cur.push(t);
  }
  flush();
  return out;
}

/** Splits tokens on standalone `.` into parts; a part of several tokens (`goto x`) is joined. */
function splitConcat(toks: string[]): string[] {
  const parts: string[] = [];
  let cur: string[] = [];
  for (const t of toks) {
    if (t === '.') {
      parts.push(cur.join(' '));
      cur = [];
    } else cur.push(t);
  }
  parts.push(cur.join(' '));
  return parts;
}

/**
 * Parses a set or map declaration body such as `{ type ipv4_addr . inet_service; }` or
 * `{ typeof ip daddr . tcp dport : ip daddr . tcp dport; comment "x"; }`.
 */
export function parseSetDecl(obj: 'set' | 'map', body: string): SetDecl {
  const c = new Cursor(tokenize(body));
  const d = parseSetBody(c, obj);
  if (!c.done()) throw new NftSyntaxError(`syntax error, unexpected ${c.peek()}`);
  return d;
}

/** Parses one command line. Throws {@link NftSyntaxError}. */
export function parseCommand(line: string): Command {
  const toks = tokenize(line);
  const c = new Cursor(toks);
  const op = c.next('command');
  if (op !== 'add' && op !== 'delete' && op !== 'flush') throw new NftSyntaxError(`syntax error, unexpected ${op}`);
  const obj = c.next('object');
  const family = c.next('family');
  if (family !== 'ip' && family !== 'ip6' && family !== 'inet') throw new NftSyntaxError(`unknown family ${family}`);
  const table = c.next('table name');
  let cmd: Command;
  switch (obj) {
    case 'table':
      if (op === 'flush') throw new NftSyntaxError('flush table is not supported by this parser');
      if (op === 'add' && c.peek() === '{') {
        c.next();
        while (c.peek() !== '}') c.next("'}'");
        c.next();
      }
      cmd = { op, obj, family, table };
      break;
    case 'chain': {
      const name = c.next('chain name');
      if (op === 'add') {
        const base = c.peek() === '{' ? parseChainBody(c) : undefined;
        cmd = { op, obj, family, table, name, ...(base ? { base } : {}) };
      } else cmd = { op, obj, family, table, name };
      break;
    }
    case 'set':
    case 'map': {
      const name = c.next(`${obj} name`);
      if (op === 'add') cmd = { op, obj, family, table, name, decl: parseSetBody(c, obj) };
      else cmd = { op, obj, family, table, name };
      break;
    }
    case 'rule': {
      if (op !== 'add') throw new NftSyntaxError(`${op} rule is not supported by this parser`);
      const chain = c.next('chain name');
      const ruleToks = toks.slice(c.pos);
      c.pos = toks.length;
      cmd = { op, obj, family, table, chain, text: joinTokens(ruleToks), stmts: parseRuleTokens(ruleToks) };
      break;
    }
    case 'element': {
      if (op === 'flush') throw new NftSyntaxError('flush element is not a command');
      const name = c.next('set name');
      cmd = { op, obj, family, table, name, elements: parseElements(c) };
      break;
    }
    default:
      throw new NftSyntaxError(`syntax error, unexpected ${obj}`);
  }
  if (!c.done()) throw new NftSyntaxError(`syntax error, unexpected ${c.peek()}`);
  return cmd;
}

/** Joins tokens back into text with single spaces (`{ a, b }` style), as `dump()` prints rules. */
export function joinTokens(toks: string[]): string {
  return toks.join(' ').replace(/ ,/g, ',').replace(/ ;/g, ';');
}

/** Canonical text of a rule: its tokens joined by single spaces. */
export function normalizeRuleText(text: string): string {
  return joinTokens(tokenize(text));
}

/** Checks a literal against a type; prefixes are accepted for addresses. */
export function literalMatchesType(type: NftType, text: string): boolean {
  if ((type === 'ipv4_addr' || type === 'ipv6_addr') && text.includes('/')) {
    const c = parseCidr(text);
    return c !== undefined && c.family === (type === 'ipv4_addr' ? 'IPv4' : 'IPv6');
  }
  return canonLiteral(type, text) !== undefined;
}
