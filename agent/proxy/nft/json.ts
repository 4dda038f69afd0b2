/**
 * Reading tables back from nft's JSON listings (libnftables-json(5), as printed by nft
 * 1.0.6): `nft -j list table`, `nft -j list chains|tables`, `nft -j -t list sets|maps` and
 * `nft -j list set|map`.
 *
 * What is read: base-chain properties, each rule's comment (Skiff's rules carry a hash of
 * their text there), set and map key/data types and flags, kernel handles, and every element
 * in canonical text. Rule expressions are deliberately not read: the JSON of some statements
 * does not round-trip in nft 1.0.6 (`dnat ip addr . port to … map` lists without its
 * `addr . port` flag), so the hash comment is the rule's identity.
 *
 * Elements are the bulk of a listing (100k+ at 10k Services), so their values take a fast
 * path: nft already prints addresses and numbers canonically, so only protocol numbers and
 * verdicts are translated.
 */
import type { ChainState, Handles, SetState, StructureListing, TableState } from './ruleset.js';
import { hashFromComment } from './ruleset.js';
import type { BaseChainSpec } from './parse.js';
import { canonLiteral, TYPE_NAMES, type NftType } from './types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function obj(v: Json | undefined): Record<string, Json> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function typeList(v: Json | undefined): NftType[] {
  const names = Array.isArray(v) ? v : typeof v === 'string' ? v.split(' . ') : [];
  return names.map((n) => {
    const s = String(n).trim();
    return (TYPE_NAMES.has(s) ? s : 'integer') as NftType;
  });
}

function flagList(v: Json | undefined): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
  return list.sort();
}

/** Canonical text of one scalar JSON value of the given type. */
function scalar(type: NftType | undefined, v: Json): string {
  if (typeof v === 'number') return type === 'inet_proto' ? (canonLiteral('inet_proto', String(v)) ?? String(v)) : String(v);
  if (typeof v === 'string') {
    // Addresses, services and protocol names come canonical from nft.
    if (type === 'ipv4_addr' || type === 'ipv6_addr' || type === 'inet_service' || type === 'integer') return v;
    return (type && canonLiteral(type, v)) ?? v;
  }
  const o = obj(v);
  if (o) {
    const p = obj(o.prefix);
    if (p) return `${String(p.addr)}/${String(p.len)}`;
    if (Array.isArray(o.range)) return `${String(o.range[0])}-${String(o.range[1])}`;
    return verdict(v) ?? JSON.stringify(v);
  }
  return String(v);
}

function verdict(v: Json): string | undefined {
  const o = obj(v);
  if (!o) return typeof v === 'string' && ['accept', 'drop', 'return', 'continue'].includes(v) ? v : undefined;
  for (const k of ['jump', 'goto'] as const) {
    const t = obj(o[k]);
    if (t && typeof t.target === 'string') return `${k} ${t.target}`;
  }
  for (const k of ['accept', 'drop', 'return', 'continue']) if (k in o) return k;
  return undefined;
}

/** Canonical text of a (possibly concatenated) JSON value against a list of types. */
function value(types: NftType[], v: Json): string {
  const o = obj(v);
  if (o) {
    const c = o.concat;
    if (Array.isArray(c)) {
      let out = scalar(types[0], c[0]);
      for (let i = 1; i < c.length; i++) out += ' . ' + scalar(types[i], c[i]);
      return out;
    }
  }
  if (types.length === 1 && types[0] === 'verdict') return verdict(v) ?? JSON.stringify(v);
  return scalar(types[0], v);
}

/** Unwraps `{"elem": {"val": …, "timeout": …}}` element wrappers. */
function unwrap(v: Json): Json {
  const o = obj(v);
  const e = o && obj(o.elem);
  return e && 'val' in e ? e.val : v;
}

function itemsOf(input: unknown): Json[] {
  const root = obj(input as Json);
  return root && Array.isArray(root.nftables) ? root.nftables : [];
}

function baseOf(chain: Record<string, Json>): BaseChainSpec | undefined {
  if (typeof chain.hook !== 'string') return undefined;
  return {
    type: chain.type as BaseChainSpec['type'],
    hook: chain.hook as BaseChainSpec['hook'],
    priority: Number(chain.prio),
    policy: chain.policy === 'drop' ? 'drop' : 'accept',
  };
}

function setStateOfJson(kind: 'set' | 'map', set: Record<string, Json>): SetState {
  return { kind, keyTypes: typeList(set.type), dataTypes: kind === 'map' ? typeList(set.map) : null, flags: flagList(set.flags) };
}

function elementsOf(s: SetState, set: Record<string, Json>): Map<string, string> {
  const els = new Map<string, string>();
  const raw = set.elem;
  if (!Array.isArray(raw)) return els;
  const data = s.dataTypes ?? [];
  for (const e of raw) {
    if (s.kind === 'map' && Array.isArray(e)) els.set(value(s.keyTypes, unwrap(e[0])), value(data, e[1]));
    else els.set(value(s.keyTypes, unwrap(e)), '');
  }
  return els;
}

/**
 * Parses the output of `nft -j list table` into a {@link TableState}. Objects belonging to
 * other tables or families (there are none in a single-table listing) are ignored.
 */
export function tableStateFromJson(input: unknown, family: string, table: string): TableState {
  const state: TableState = { chains: new Map(), sets: new Map(), elements: new Map() };
  const handles: Handles = { table: -1, chains: new Map(), sets: new Map() };
  const mine = (o: Record<string, Json>): boolean => o.family === family && o.table === table;
  for (const item of itemsOf(input)) {
    const it = obj(item);
    if (!it) continue;
    const t = obj(it.table);
    if (t && t.family === family && t.name === table) {
      handles.table = Number(t.handle);
      continue;
    }
    const chain = obj(it.chain);
    if (chain && mine(chain)) {
      const base = baseOf(chain);
      const c: ChainState = { ...(base ? { base } : {}), ruleHashes: [] };
      state.chains.set(String(chain.name), c);
      handles.chains.set(String(chain.name), Number(chain.handle));
      continue;
    }
    const rule = obj(it.rule);
    if (rule && mine(rule)) {
      const c = state.chains.get(String(rule.chain));
      const comment = typeof rule.comment === 'string' ? rule.comment : undefined;
      c?.ruleHashes.push(hashFromComment(comment));
      continue;
    }
    const set = obj(it.set) ?? obj(it.map);
    if (set && mine(set)) {
      const s = setStateOfJson(it.map ? 'map' : 'set', set);
      state.sets.set(String(set.name), s);
      state.elements.set(String(set.name), elementsOf(s, set));
      handles.sets.set(String(set.name), Number(set.handle));
    }
  }
  state.handles = handles;
  return state;
}

/**
 * Parses `nft -j list chains <f>` and `nft -j -t list sets|maps <f>` outputs (and `list
 * tables`, when given, for the table's handle) into the {@link StructureListing} of one table;
 * null when the table is absent.
 */
export function structureFromJson(inputs: unknown[], family: string, table: string): StructureListing | null {
  const out: StructureListing = { chains: new Map(), sets: new Map(), handles: { table: -1, chains: new Map(), sets: new Map() } };
  for (const input of inputs) {
    for (const item of itemsOf(input)) {
      const it = obj(item);
      if (!it) continue;
      const t = obj(it.table);
      if (t && t.family === family && t.name === table) out.handles.table = Number(t.handle);
      const chain = obj(it.chain);
      if (chain && chain.family === family && chain.table === table) {
        const base = baseOf(chain);
        out.chains.set(String(chain.name), base ? { base } : {});
        out.handles.chains.set(String(chain.name), Number(chain.handle));
      }
      const set = obj(it.set) ?? obj(it.map);
      if (set && set.family === family && set.table === table) {
        out.sets.set(String(set.name), setStateOfJson(it.map ? 'map' : 'set', set));
        out.handles.sets.set(String(set.name), Number(set.handle));
      }
    }
  }
  // `nft list chains` does not say which tables exist: a table without chains or sets reads
  // as absent (Skiff's tables always have both).
  return out.chains.size === 0 && out.sets.size === 0 ? null : out;
}

/** Parses `nft -j list set|map <f> <table> <name>` into its elements (canonical key → value). */
export function setElementsFromJson(input: unknown, family: string, table: string, name: string): Map<string, string> | null {
  for (const item of itemsOf(input)) {
    const it = obj(item);
    const set = it && (obj(it.set) ?? obj(it.map));
    if (set && set.family === family && set.table === table && set.name === name) {
      return elementsOf(setStateOfJson(it!.map ? 'map' : 'set', set), set);
    }
  }
  return null;
}
