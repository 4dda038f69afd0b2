/**
 * Diffing a desired table against a known state, and rendering the difference as one nft
 * text transaction (applied atomically by one `nft -f -`).
 *
 * Statement order inside the transaction, chosen so every reference exists when nft
 * evaluates it and nothing referenced is deleted while still in use:
 *
 *   1. `add table` (only when the table is not known to exist; it is idempotent)
 *   2. `flush chain` for chains whose rules change and chains that go away
 *      (this drops their jumps and set references), `delete chain` for base chains whose
 *      hook properties changed (base chains cannot be jump targets)
 *   3. `delete set|map` for sets that go away or whose type changed
 *   4. `add set|map` for new (or re-typed) sets
 *   5. `add chain` for new chains
 *   6. `add rule` for new and rewritten chains, each with its hash comment
 *   7. `delete element` for elements that go away or change value
 *   8. `add element` for elements that appear or change value
 *   9. `delete chain` for chains that go away (their vmap elements went in step 7)
 *
 * In steady state only steps 7 and 8 produce text: an endpoint change is element churn.
 */
import type { ElementMaps, Structure, TableState, SetSpec, ChainSpec } from './ruleset.js';
import { isDynamicSet, ruleComment, ruleHash, sameBase, sameSetState, setStateOf } from './ruleset.js';

/**
 * Which element keys (per set) may have changed since the kernel last matched the desired
 * elements, each with its value then (undefined: absent). A scoped diff trusts these values
 * instead of a copy of the applied elements.
 */
export type ElementScope = ReadonlyMap<string, ReadonlyMap<string, string | undefined>>;

/** A rendered transaction and what it contains. */
export interface Transaction {
  /** The nft script, one statement per line; empty when nothing changed. */
  text: string;
  /** True when the transaction touches chains, rules or set declarations. */
  structural: boolean;
  /** Number of elements added (including value changes). */
  elementAdds: number;
  /** Number of elements deleted (including value changes). */
  elementDeletes: number;
}

/** Options of {@link diffTable}. */
export interface DiffOptions {
  /**
   * Compare only these element keys, against their recorded previous values. When omitted,
   * every element of every set is compared against `applied` (a full reconcile).
   */
  scope?: ElementScope;
  /** Elements per `add/delete element` statement; defaults to 1000. */
  batchSize?: number;
}

const SORT_LIMIT = 5000;

function renderChain(prefix: string, c: ChainSpec): string {
  if (!c.base) return `add chain ${prefix} ${c.name}`;
  const b = c.base;
  return `add chain ${prefix} ${c.name} { type ${b.type} hook ${b.hook} priority ${b.priority}; policy ${b.policy}; }`;
}

function renderSet(prefix: string, s: SetSpec): string {
  const parts = [`${s.decl.decl};`];
  if (s.decl.size !== undefined) parts.push(`size ${s.decl.size};`);
  if (s.decl.flags.length) parts.push(`flags ${s.decl.flags.join(', ')};`);
  if (s.decl.timeoutSec !== undefined) parts.push(`timeout ${s.decl.timeoutSec}s;`);
  if (s.decl.comment !== undefined) parts.push(`comment ${JSON.stringify(s.decl.comment)};`);
  return `add ${s.kind} ${prefix} ${s.name} { ${parts.join(' ')} }`;
}

/** Renders the rule line Skiff writes for `text` in `chain`. */
export function renderRule(prefix: string, chain: string, text: string): string {
  return `add rule ${prefix} ${chain} ${text} comment "${ruleComment(text)}"`;
}

function pushElements(
  out: string[],
  verb: 'add' | 'delete',
  prefix: string,
  set: string,
  items: string[],
  batch: number,
): void {
  for (let i = 0; i < items.length; i += batch) {
    out.push(`${verb} element ${prefix} ${set} { ${items.slice(i, i + batch).join(', ')} }`);
  }
}

/**
 * Computes the transaction that takes the table from `applied` (null: unknown to exist) to
 * `desired` + `elements`.
 */
export function diffTable(
  desired: Structure,
  elements: ElementMaps,
  applied: TableState | null,
  opts: DiffOptions = {},
): Transaction {
  const prefix = `${desired.family} ${desired.table}`;
  const batch = opts.batchSize ?? 1000;
  const head: string[] = [];
  const from: TableState = applied ?? { chains: new Map(), sets: new Map(), elements: new Map() };
  if (!applied) head.push(`add table ${prefix}`);

  // Sets.
  const desiredSets = new Map(desired.sets.map((s) => [s.name, s]));
  const newSets = new Set<string>();
  const dropSets: string[] = [];
  for (const s of desired.sets) {
    const a = from.sets.get(s.name);
    if (!a) newSets.add(s.name);
    else if (!sameSetState(a, setStateOf(s))) {
      newSets.add(s.name);
      dropSets.push(s.name);
    }
  }
  for (const name of from.sets.keys()) if (!desiredSets.has(name)) dropSets.push(name);

  // Chains.
  const desiredChains = new Map(desired.chains.map((c) => [c.name, c]));
  const newChains: ChainSpec[] = [];
  const recreated: ChainSpec[] = [];
  const rewritten: ChainSpec[] = [];
  for (const c of desired.chains) {
    const a = from.chains.get(c.name);
    if (!a) newChains.push(c);
    else if (!sameBase(a.base, c.base)) recreated.push(c);
    else if (
      dropSets.length > 0 ||
      a.ruleHashes.length !== c.rules.length ||
      c.rules.some((r, i) => ruleHash(r) !== a.ruleHashes[i])
    ) {
      rewritten.push(c);
    }
  }
  const goneChains = [...from.chains.keys()].filter((n) => !desiredChains.has(n));

  const structural: string[] = [];
  for (const c of rewritten) structural.push(`flush chain ${prefix} ${c.name}`);
  for (const n of goneChains) structural.push(`flush chain ${prefix} ${n}`);
  for (const c of recreated) structural.push(`delete chain ${prefix} ${c.name}`);
  for (const n of dropSets) structural.push(`delete ${from.sets.get(n)!.kind} ${prefix} ${n}`);
  for (const s of desired.sets) if (newSets.has(s.name)) structural.push(renderSet(prefix, s));
  for (const c of [...newChains, ...recreated]) structural.push(renderChain(prefix, c));
  for (const c of [...newChains, ...recreated, ...rewritten]) {
    for (const r of c.rules) structural.push(renderRule(prefix, c.name, r));
  }

  // Elements.
  const dels: string[] = [];
  const adds: string[] = [];
  let elementAdds = 0;
  let elementDeletes = 0;
  for (const s of desired.sets) {
    if (isDynamicSet(s)) continue; // the packet path owns these elements
    const want = elements.get(s.name) ?? new Map<string, string>();
    const fmt = (k: string, v: string): string => (s.kind === 'map' ? `${k} : ${v}` : k);
    const toAdd: string[] = [];
    const toDel: string[] = [];
    if (newSets.has(s.name)) {
      for (const [k, v] of want) toAdd.push(fmt(k, v));
    } else if (opts.scope) {
      for (const [k, hv] of opts.scope.get(s.name) ?? []) {
        const wv = want.get(k);
        if (hv === wv) continue;
        if (hv !== undefined) toDel.push(k);
        if (wv !== undefined) toAdd.push(fmt(k, wv));
      }
    } else {
      const have = from.elements.get(s.name) ?? new Map<string, string>();
      for (const [k, hv] of have) {
        const wv = want.get(k);
        if (hv === wv) continue;
        toDel.push(k);
        if (wv !== undefined) toAdd.push(fmt(k, wv));
      }
      for (const [k, wv] of want) if (!have.has(k)) toAdd.push(fmt(k, wv));
    }
    // Sorted for readable, stable transactions; large batches (full reconciles at scale) keep
    // map order, which is deterministic anyway, to keep the sort off the hot path.
    if (toAdd.length <= SORT_LIMIT) toAdd.sort(naturalCompare);
    if (toDel.length <= SORT_LIMIT) toDel.sort(naturalCompare);
    elementAdds += toAdd.length;
    elementDeletes += toDel.length;
    pushElements(adds, 'add', prefix, s.name, toAdd, batch);
    pushElements(dels, 'delete', prefix, s.name, toDel, batch);
  }

  const tail = goneChains.map((n) => `delete chain ${prefix} ${n}`);
  const lines = [...head, ...structural, ...dels, ...adds, ...tail];
  return {
    text: lines.length ? lines.join('\n') + '\n' : '',
    structural: head.length + structural.length + tail.length > 0,
    elementAdds,
    elementDeletes,
  };
}

/**
 * Compares strings so that runs of digits compare as numbers (`10.96.0.9` before
 * `10.96.0.10`): stable, human-friendly order for transactions and dumps.
 */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const ta = a.match(re) ?? [];
  const tb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    }
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}
