/**
 * The desired elements, maintained incrementally.
 *
 * Every service port owns a list of elements (its "contribution", from `layout.ts`).
 * Elements can be shared (two ports of one Service share their cluster IP in `cluster-ips`;
 * an endpoint in two Services shares its `hairpin` pair), so each element keeps the set of
 * owners that want it and exists while one does. When owners disagree on a map value (two
 * Services briefly claiming one VIP:port during an update), the lexically smallest owner
 * wins, deterministically.
 *
 * Changing one Service recomputes only that Service's contributions and records which keys
 * moved ("touched"); the next sync diffs just those keys against what was applied. That is
 * what keeps a one-endpoint change at 10k Services a few-element transaction.
 */
import type { ElementRef } from './layout.js';
import type { ElementMaps } from './nft/ruleset.js';
import type { ElementScope } from './nft/diff.js';

function refId(r: ElementRef): string {
  return `${r.set}\u0000${r.key}\u0000${r.value}`;
}

/** The owners of one element: one (the common case, kept allocation-light) or several. */
type Owners = { owner: string; value: string } | Map<string, string>;

/** Refcounted desired elements with change tracking. */
export class DesiredElements {
  /** set → key → owners */
  private readonly owners = new Map<string, Map<string, Owners>>();
  /** set → key → effective value */
  private readonly effective = new Map<string, Map<string, string>>();
  /** owner → its elements */
  private readonly contributions = new Map<string, ElementRef[]>();
  /** service → its owners (service port keys) */
  private readonly byService = new Map<string, Set<string>>();
  private touched = new Map<string, Set<string>>();

  /** The effective elements (live view; do not modify). */
  elements(): ElementMaps {
    return this.effective;
  }

  /** Keys of `set` currently desired. */
  keys(set: string): string[] {
    return [...(this.effective.get(set)?.keys() ?? [])];
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

  /** Returns and clears the keys whose effective value may have changed. */
  takeTouched(): ElementScope {
    const t = this.touched;
    this.touched = new Map();
    return t;
  }

  /** Number of distinct owners (service ports) contributing. */
  ownerCount(): number {
    return this.contributions.size;
  }

  private add(owner: string, r: ElementRef): void {
    let byKey = this.owners.get(r.set);
    if (!byKey) this.owners.set(r.set, (byKey = new Map()));
    const cur = byKey.get(r.key);
    if (!cur) {
      byKey.set(r.key, { owner, value: r.value });
      this.setEffective(r.set, r.key, r.value);
      return;
    }
    if (cur instanceof Map) cur.set(owner, r.value);
    else if (cur.owner === owner) cur.value = r.value;
    else byKey.set(r.key, new Map([[cur.owner, cur.value], [owner, r.value]]));
    this.recompute(r.set, r.key);
  }

  private remove(owner: string, r: ElementRef): void {
    const byKey = this.owners.get(r.set);
    const cur = byKey?.get(r.key);
    if (!byKey || !cur) return;
    if (cur instanceof Map) {
      // A duplicate ref (same element listed twice by one owner) is removed once.
      if (cur.get(owner) === r.value) cur.delete(owner);
      if (cur.size === 1) {
        const [[o, v]] = cur;
        byKey.set(r.key, { owner: o, value: v });
      }
    } else if (cur.owner === owner && cur.value === r.value) {
      byKey.delete(r.key);
    }
    this.recompute(r.set, r.key);
  }

  private recompute(set: string, key: string): void {
    const cur = this.owners.get(set)?.get(key);
    let value: string | undefined;
    if (cur instanceof Map) {
      let best: string | undefined;
      for (const [o, v] of cur) {
        if (best === undefined || o < best) {
          best = o;
          value = v;
        }
      }
    } else if (cur) value = cur.value;
    this.setEffective(set, key, value);
  }

  private setEffective(set: string, key: string, value: string | undefined): void {
    let eff = this.effective.get(set);
    const prev = eff?.get(key);
    if (prev === value) return;
    if (value === undefined) eff!.delete(key);
    else {
      if (!eff) this.effective.set(set, (eff = new Map()));
      eff.set(key, value);
    }
    let t = this.touched.get(set);
    if (!t) this.touched.set(set, (t = new Set()));
    t.add(key);
  }
}
