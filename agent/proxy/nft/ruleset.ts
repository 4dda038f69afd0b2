/**
 * The ruleset as data. A {@link Structure} lists the chains (with their rules as text) and
 * the sets/maps (with their declarations) of one table; elements travel separately as
 * {@link ElementMaps}, because they are where the scale is. A {@link TableState} is what is,
 * or is believed to be, in the kernel: the same shape, but rules are known only by the hash
 * carried in their comment (that is all a JSON listing can be trusted to round-trip).
 */
import { createHash } from 'node:crypto';
import { parseSetDecl, type BaseChainSpec, type SetDecl } from './parse.js';
import type { NftType } from './types.js';

export type { BaseChainSpec, SetDecl } from './parse.js';

/** Address family of a table: `ip` for IPv4, `ip6` for IPv6. */
export type Family = 'ip' | 'ip6';

/** A chain: base-chain hook properties (for base chains) and its rules, in order. */
export interface ChainSpec {
  name: string;
  base?: BaseChainSpec;
  /** Rule texts without comments; the renderer appends the identifying hash comment. */
  rules: string[];
}

/** A named set or map and its declaration. */
export interface SetSpec {
  name: string;
  kind: 'set' | 'map';
  decl: SetDecl;
}

/** The non-element part of a table: chains, rules and set declarations. */
export interface Structure {
  family: Family;
  table: string;
  chains: ChainSpec[];
  sets: SetSpec[];
}

/**
 * Elements per set: set name → canonical key text → canonical value text (`''` for the
 * elements of a plain set).
 */
export type ElementMaps = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** A chain as known in a {@link TableState}. */
export interface ChainState {
  base?: BaseChainSpec;
  /** The hash of each rule, from its comment; null for a rule without one (not ours). */
  ruleHashes: (string | null)[];
}

/** A set as known in a {@link TableState}. */
export interface SetState {
  kind: 'set' | 'map';
  keyTypes: NftType[];
  dataTypes: NftType[] | null;
  flags: string[];
}

/** Kernel handles of a table's objects: they change when an object is deleted and re-created. */
export interface Handles {
  table: number;
  chains: Map<string, number>;
  sets: Map<string, number>;
}

/** The state of one table, as listed from the kernel or as last applied. */
export interface TableState {
  chains: Map<string, ChainState>;
  sets: Map<string, SetState>;
  elements: Map<string, Map<string, string>>;
  /** Handles, when known from a listing. */
  handles?: Handles;
}

/**
 * A table's structure without rules or elements (`nft -j list chains`, `nft -j -t list
 * sets|maps`): cheap to read at any size, used to verify that nobody deleted or re-created the
 * table, a chain or a set (their handles change). Changes to rules or single elements are
 * caught by the periodic full reconcile. `handles.table` is -1 (listing tables is not cheap).
 */
export interface StructureListing {
  chains: Map<string, { base?: BaseChainSpec }>;
  sets: Map<string, SetState>;
  handles: Handles;
}

/** Declares a set or map from its body text, e.g. `defineSet('map', 'm', '{ type … : verdict; }')`. */
export function defineSet(kind: 'set' | 'map', name: string, body: string): SetSpec {
  return { name, kind, decl: parseSetDecl(kind, body) };
}

const COMMENT_PREFIX = 'r:';

/** The short hash that identifies a rule's text. */
export function ruleHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** The comment Skiff puts on a rule, carrying the rule's hash. */
export function ruleComment(text: string): string {
  return `${COMMENT_PREFIX}${ruleHash(text)}`;
}

/** The rule hash carried by a comment, or null when the comment is not one of ours. */
export function hashFromComment(comment: string | undefined): string | null {
  return comment && comment.startsWith(COMMENT_PREFIX) ? comment.slice(COMMENT_PREFIX.length) : null;
}

/** Flags as compared: nft 1.0.6's JSON leaves out `dynamic`, so it is not compared. */
function comparableFlags(flags: readonly string[]): string {
  return flags.filter((f) => f !== 'dynamic').join(',');
}

/** True when two set declarations are the same as far as the kernel can tell. */
export function sameSetState(a: SetState, b: SetState): boolean {
  return (
    a.kind === b.kind &&
    a.keyTypes.join('.') === b.keyTypes.join('.') &&
    (a.dataTypes ?? []).join('.') === (b.dataTypes ?? []).join('.') &&
    comparableFlags(a.flags) === comparableFlags(b.flags)
  );
}

/**
 * True for sets whose elements the packet path writes (`flags dynamic`, e.g. the
 * session-affinity maps): they are declared by the ruleset but their elements are not desired
 * state, so diffs never touch them.
 */
export function isDynamicSet(s: SetSpec | SetState): boolean {
  return ('decl' in s ? s.decl.flags : s.flags).includes('dynamic');
}

/** The {@link SetState} of a declared set. */
export function setStateOf(s: SetSpec): SetState {
  return { kind: s.kind, keyTypes: s.decl.keyTypes, dataTypes: s.decl.dataTypes, flags: s.decl.flags };
}

/** True when two base-chain specs are equal (both absent counts as equal). */
export function sameBase(a: BaseChainSpec | undefined, b: BaseChainSpec | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.type === b.type && a.hook === b.hook && a.priority === b.priority && a.policy === b.policy;
}

/**
 * The {@link TableState} that results from applying `structure` and `elements` exactly.
 * Element maps are copied, so later changes to `elements` do not leak into the state.
 */
export function stateOf(structure: Structure, elements: ElementMaps): TableState {
  const chains = new Map<string, ChainState>();
  for (const c of structure.chains) {
    chains.set(c.name, { ...(c.base ? { base: c.base } : {}), ruleHashes: c.rules.map(ruleHash) });
  }
  const sets = new Map<string, SetState>();
  const els = new Map<string, Map<string, string>>();
  for (const s of structure.sets) {
    sets.set(s.name, setStateOf(s));
    els.set(s.name, new Map(elements.get(s.name) ?? []));
  }
  return { chains, sets, elements: els };
}
