/**
 * The desired elements, maintained incrementally.
 *
 * Every service port owns a list of elements (its "contribution", from `layout.ts`).
 * Elements can be shared (two ports of one Service share their cluster IP in `cluster-ips`;
 * an endpoint in two Services shares its `hairpin` pair), so each element keeps the owners
 * that want it and exists while one does. When owners disagree on a map value (two Services
 * briefly claiming one VIP:port during an update), the lexically smallest owner wins,
 * deterministically.
 *
 * Changing one Service recomputes only that Service's contributions and records which keys
 * moved ("touched"), with the value each had before; the next sync diffs just those keys.
 * That is what keeps a one-endpoint change at 10k Services a few-element transaction.
 *
 * Layout, for speed at 100k+ elements: one map per set from key to an entry holding the
 * effective value and its owner; only keys with several owners carry a map of all owners.
 */
import type { ElementRef } from './layout.js';
import type { ElementMaps } from './nft/ruleset.js';
import type { ElementScope } from './nft/diff.js';

/** One element: the effective value, its owner, and every owner when there are several. */
interface Entry {
  v: string;
  /** The winning owner (lexically smallest). */
  o: string;
  /** All owners → their values, when more than one. */
  all?: Map<string, string>;
}

/** A read-only `Map<key, value>` view over a set's entries, as diffs and backends read it. */
class ValueView implements ReadonlyMap<string, string> {
  constructor(private readonly m: Map<string, Entry>) {}
  get size(): number {
    return this.m.size;
  }
  get(key: string): string | undefined {
    return this.m.get(key)?.v;
  }
  has(key: string): boolean {
    return this.m.has(key);
  }
  *entries(): MapIterator<[string, string]> {
    for (const [k, e] of this.m) yield [k, e.v];
  }
  keys(): MapIterator<string> {
    return this.m.keys();
  }
  *values(): MapIterator<string> {
    for (const e of this.m.values()) yield e.v;
  }
  forEach(cb: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const [k, e] of this.m) cb(e.v, k, this);
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}

function refId(r: ElementRef): string {
  return `${r.set}\u0000${r.key}\u0000${r.value}`;
}

/** Refcounted desired elements with change tracking. */
export class DesiredElements {
  private readonly sets = new Map<string, Map<string, Entry>>();
  private readonly views = new Map<string, ValueView>();
  /** owner → its elements */
  private readonly contributions = new Map<string, ElementRef[]>();
  /** service → its owners (service port keys) */
  private readonly byService = new Map<string, Set<string>>();
  /** set → key → effective value before its first change since the last take. */
  private touched = new Map<string, Map<string, string | undefined>>();
  /** Whether changes are recorded for {@link takeTouched} (not needed before a full reconcile). */
  tracking = true;

  /** The effective elements (live view; do not modify). */
  elements(): ElementMaps {
    return this.views;
  }

  /** The effective value of one element, or undefined. */
  get(set: string, key: string): string | undefined {
    return this.sets.get(set)?.get(key)?.v;
  }

  /** Number of elements of `set` currently desired. */
  size(set: string): number {
    return this.sets.get(set)?.size ?? 0;
  }

  /** Keys of `set` currently desired. */
  keys(set: string): string[] {
    return [...(this.sets.get(set)?.keys() ?? [])];
  }

  /**
   * Replaces everything `service` contributes with the given per-port contributions
   * (owner key → elements). Owners of the service not listed lose their elements.
   */
  setService(service: string, ports: ReadonlyMap<string, ElementRef[]>): void {
    const before = this.byService.get(service);
    if (before) for (const owner of before) if (!ports.has(owner)) this.setContribution(owner, []);
    for (const [owner, refs] of ports) this.setContribution(owner, refs);
    if (ports.size) this.byService.set(service, new Set(ports.keys()));
    else this.byService.delete(service);
  }

  /** Replaces the elements one owner contributes. */
  setContribution(owner: string, refs: ElementRef[]): void {
    const old = this.contributions.get(owner);
    if (!old) {
      for (const r of refs) this.add(owner, r);
    } else {
      const oldIds = new Set(old.map(refId));
      const newIds = new Set(refs.map(refId));
      for (const r of old) if (!newIds.has(refId(r))) this.remove(owner, r);
      for (const r of refs) if (!oldIds.has(refId(r))) this.add(owner, r);
    }
    if (refs.length) this.contributions.set(owner, refs);
    else this.contributions.delete(owner);
  }

  /**
   * Returns and clears the keys whose effective value may have changed, each with its value
   * before the first change (what the kernel holds, if the last sync applied everything).
   */
  takeTouched(): ElementScope {
    const t = this.touched;
    this.touched = new Map();
    return t;
  }

  /** Number of distinct owners (service ports) contributing. */
  ownerCount(): number {
    return this.contributions.size;
  }

  private setMap(set: string): Map<string, Entry> {
    let m = this.sets.get(set);
    if (!m) {
      this.sets.set(set, (m = new Map()));
      this.views.set(set, new ValueView(m));
    }
    return m;
  }

  private touch(set: string, key: string, prev: string | undefined): void {
    if (!this.tracking) return;
    let t = this.touched.get(set);
    if (!t) this.touched.set(set, (t = new Map()));
    if (!t.has(key)) t.set(key, prev);
  }

  private add(owner: string, r: ElementRef): void {
    const m = this.setMap(r.set);
    const e = m.get(r.key);
    if (!e) {
      m.set(r.key, { v: r.value, o: owner });
      this.touch(r.set, r.key, undefined);
      return;
    }
    if (!e.all) {
      if (e.o === owner) {
        if (e.v !== r.value) {
          this.touch(r.set, r.key, e.v);
          e.v = r.value;
        }
        return;
      }
      e.all = new Map([[e.o, e.v]]);
    }
    e.all.set(owner, r.value);
    if (owner <= e.o) {
      if (e.v !== r.value) this.touch(r.set, r.key, e.v);
      e.o = owner;
      e.v = r.value;
    }
  }

  private remove(owner: string, r: ElementRef): void {
    const m = this.sets.get(r.set);
    const e = m?.get(r.key);
    if (!m || !e) return;
    if (!e.all) {
      if (e.o === owner && e.v === r.value) {
        m.delete(r.key);
        this.touch(r.set, r.key, e.v);
      }
      return;
    }
    // A duplicate ref (same element listed twice by one owner) is removed once.
    if (e.all.get(owner) !== r.value) return;
    e.all.delete(owner);
    if (owner === e.o) {
      let best: string | undefined;
      for (const o of e.all.keys()) if (best === undefined || o < best) best = o;
      const v = e.all.get(best!)!;
      if (v !== e.v) this.touch(r.set, r.key, e.v);
      e.o = best!;
      e.v = v;
    }
    if (e.all.size === 1) delete e.all;
  }
}
