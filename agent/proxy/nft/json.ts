/**
 * Reading a table back from `nft -j list table <family> <name>` (libnftables-json(5), as
 * printed by nft 1.0.6) into a {@link TableState}.
 *
 * What is read: base-chain properties, each rule's comment (Skiff's rules carry a hash of
 * their text there), set and map key/data types and flags, and every element in canonical
 * text. Rule expressions are deliberately not read: the JSON of some statements does not
 * round-trip in nft 1.0.6 (`dnat ip addr . port to … map` lists without its `addr . port`
 * flag), so the hash comment is the rule's identity.
 */
import type { ChainState, SetState, TableState } from './ruleset.js';
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
  const o = obj(v);
  if (o) {
    const p = obj(o.prefix);
    if (p) return `${String(p.addr)}/${String(p.len)}`;
    if (Array.isArray(o.range)) return `${String(o.range[0])}-${String(o.range[1])}`;
    return verdict(v) ?? JSON.stringify(v);
  }
  const s = String(v);
  return (type && canonLiteral(type, s)) ?? s;
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
  if (o && Array.isArray(o.concat)) return o.concat.map((p, i) => scalar(types[i], p)).join(' . ');
  if (types.length === 1 && types[0] === 'verdict') return verdict(v) ?? JSON.stringify(v);
  return scalar(types[0], v);
}

/** Unwraps `{"elem": {"val": …, "timeout": …}}` element wrappers. */
function unwrap(v: Json): Json {
  const o = obj(v);
  const e = o && obj(o.elem);
  return e && 'val' in e ? e.val : v;
}

/**
 * Parses the output of `nft -j list table` into a {@link TableState}. Objects belonging to
 * other tables or families (there are none in a single-table listing) are ignored.
 */
export function tableStateFromJson(input: unknown, family: string, table: string): TableState {
  const root = obj(input as Json);
  const items = root && Array.isArray(root.nftables) ? root.nftables : [];
  const state: TableState = { chains: new Map(), sets: new Map(), elements: new Map() };
  const mine = (o: Record<string, Json>): boolean => o.family === family && o.table === table;
  for (const item of items) {
    const it = obj(item);
    if (!it) continue;
    const chain = obj(it.chain);
    if (chain && mine(chain)) {
      const c: ChainState = { ruleHashes: [] };
      if (typeof chain.hook === 'string') {
        c.base = {
          type: chain.type as BaseChainSpec['type'],
          hook: chain.hook as BaseChainSpec['hook'],
          priority: Number(chain.prio),
          policy: chain.policy === 'drop' ? 'drop' : 'accept',
        };
      }
      state.chains.set(String(chain.name), c);
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
      const kind = it.map ? 'map' : 'set';
      const keyTypes = typeList(set.type);
      const dataTypes = kind === 'map' ? typeList(set.map) : null;
      const s: SetState = { kind, keyTypes, dataTypes, flags: flagList(set.flags) };
      const els = new Map<string, string>();
      for (const raw of Array.isArray(set.elem) ? set.elem : []) {
        if (kind === 'map' && Array.isArray(raw)) {
          els.set(value(keyTypes, unwrap(raw[0])), value(dataTypes ?? [], raw[1]));
        } else {
          els.set(value(keyTypes, unwrap(raw)), '');
        }
      }
      state.sets.set(String(set.name), s);
      state.elements.set(String(set.name), els);
    }
  }
  return state;
}
