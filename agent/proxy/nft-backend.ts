/**
 * The nftables backend: desired elements → diff → one `nft -f -` transaction covering the
 * `ip` and (when the kernel has IPv6) `ip6` tables.
 *
 * A sync folds the changed Services into each family's desired elements, builds the (small)
 * structure, and diffs against what it last applied, limited to the element keys that moved.
 *
 * What it trusts and when it verifies:
 * - After its own successful transactions it trusts its in-memory copy of the tables: a
 *   one-endpoint change is a diff of a few keys, whatever the table size.
 * - When it does not know what is in the kernel (first sync after start, after any failure)
 *   it reads the tables back (`nft -j list table`) and diffs everything: an agent restart
 *   reconciles the existing tables instead of flushing them, so established connections and
 *   unchanged elements are left alone.
 * - On the periodic resync it verifies cheaply: the tables' chains and set declarations with
 *   their kernel handles (`nft -j list chains`, `nft -j -t list sets|maps`: milliseconds at
 *   any size, where a full listing took seconds at 10k Services). A missing, re-created or
 *   re-typed object (a firewall reload that flushed the ruleset, someone's `nft delete`)
 *   triggers a full read and repair. Every `fullReconcileEvery`-th periodic resync reads
 *   everything anyway, which also catches changes to single elements or rules.
 */
import type { Logger } from '../../lib/log.js';
import type { BackendSyncInput, BackendSyncResult, ProxyBackend } from './backend.js';
import { DesiredElements } from './desired.js';
import {
  AFFINITY_TIMEOUTS,
  buildStructure,
  LB_COUNTS,
  LBL_COUNTS,
  LOCAL_SLOT_OFFSET,
  SETS,
  servicePortElements,
  type ElementContext,
  type ElementRef,
  type LayoutConfig,
} from './layout.js';
import { diffTable, type Transaction } from './nft/diff.js';
import { deleteNftTable, type NftExecutor } from './nft/executor.js';
import { sameBase, sameSetState, stateOf, type ElementMaps, type Family, type Handles, type Structure, type TableState } from './nft/ruleset.js';
import { isNftError } from './errors.js';
import { cleanupIptables } from './iptables/backend.js';
import type { IptablesExecutor } from './iptables/executor.js';

/** Options of {@link NftBackend}. */
export interface NftBackendOptions {
  nft: NftExecutor;
  logger: Logger;
  /** Table families; `ip` always, `ip6` when the node has IPv6. */
  families: readonly Family[];
  /** Table name in each family (`skiff`). */
  table: string;
  nodeName: string;
  masqueradeBit: number;
  masqueradeAll: boolean;
  /** Cluster (pod) CIDRs of both families. */
  localCidrs: readonly string[];
  /** Read everything back on every n-th periodic resync (0: only on start and after errors). Default 10. */
  fullReconcileEvery?: number;
  /** Called with the number of affinity entries removed because their endpoint went away. */
  onAffinityCleanup?: (removed: number) => void;
  /** iptables runners whose `SKIFF-` chains (left by iptables mode) are removed at start. */
  iptables?: readonly IptablesExecutor[];
}

interface FamilyState {
  family: Family;
  layout: LayoutConfig;
  desired: DesiredElements;
  applied: TableState | null;
  handles: Handles | null;
}

const NO_ELEMENTS: ElementMaps = new Map();

function numberAfter(prefix: string, v: string | undefined): number {
  return v && v.startsWith(prefix) ? Number(v.slice(prefix.length)) : 0;
}

/** The nftables backend. See the module comment. */
export class NftBackend implements ProxyBackend {
  readonly mode = 'nftables' as const;
  private readonly fams: FamilyState[];
  private periodic = 0;

  constructor(private readonly opts: NftBackendOptions) {
    this.fams = opts.families.map((family) => ({
      family,
      layout: {
        nodeName: opts.nodeName,
        family,
        table: opts.table,
        masqueradeBit: opts.masqueradeBit,
        masqueradeAll: opts.masqueradeAll,
        localCidrs: [...opts.localCidrs],
      },
      desired: new DesiredElements(),
      applied: null,
      handles: null,
    }));
  }

  /** The effective desired elements of one family (tests, benchmarks). */
  elements(family: Family): ElementMaps | undefined {
    return this.fams.find((f) => f.family === family)?.desired.elements();
  }

  /** Folds changed Services into every family's desired elements; true when one has session affinity. */
  private fold(changed: BackendSyncInput['changed'], nodePortIPs: readonly string[]): boolean {
    let affinityTouched = false;
    for (const f of this.fams) {
      const ctx: ElementContext = {
        nodeName: this.opts.nodeName,
        family: f.family,
        nodePortIPs: nodePortIPs.filter((ip) => ip.includes(':') === (f.family === 'ip6')),
      };
      for (const [svc, ports] of changed) {
        const map = new Map<string, ElementRef[]>();
        for (const sp of ports) {
          map.set(sp.info.key, servicePortElements(sp, ctx));
          if (sp.info.sessionAffinity === 'ClientIP') affinityTouched = true;
        }
        f.desired.setService(svc, map);
      }
    }
    return affinityTouched;
  }

  /**
   * See {@link ProxyBackend.stage}: only while no family's tables are known (the next sync
   * reads them back and diffs everything, so no per-key history is needed).
   */
  stage(changed: BackendSyncInput['changed'], nodePortIPs: readonly string[]): boolean {
    if (this.fams.some((f) => f.applied !== null)) return false;
    for (const f of this.fams) f.desired.tracking = false;
    try {
      this.fold(changed, nodePortIPs);
    } finally {
      for (const f of this.fams) f.desired.tracking = true;
    }
    return true;
  }

  async sync(input: BackendSyncInput): Promise<BackendSyncResult> {
    const { nft } = this.opts;
    const knownFull = input.reason === 'initial' || this.fams.some((f) => f.applied === null);
    // Before a full reconcile the per-key history is not needed (and costs at scale).
    for (const f of this.fams) f.desired.tracking = !knownFull;
    let affinityTouched = this.fold(input.changed, input.nodePortIPs);
    const touchedByFamily = this.fams.map((f) => f.desired.takeTouched());
    if (touchedByFamily.some((t) => t.has(SETS.affinityServices))) affinityTouched = true;

    let full = knownFull;
    try {
      if (!full && input.reason === 'periodic') {
        this.periodic++;
        const every = this.opts.fullReconcileEvery ?? 10;
        if (every > 0 && this.periodic % every === 0) full = true;
        else if (!(await this.verifyStructure())) {
          this.opts.logger.info('service proxy tables changed behind our back; reading them back to repair');
          full = true;
        }
      }
      const structures: Structure[] = [];
      const bases: (TableState | null)[] = [];
      const txs: Transaction[] = [];
      for (let i = 0; i < this.fams.length; i++) {
        const f = this.fams[i];
        const structure = buildStructure(f.layout, {
          lb: f.desired.keys(LB_COUNTS).map(Number),
          lbl: f.desired.keys(LBL_COUNTS).map(Number),
          affinityTimeouts: f.desired.keys(AFFINITY_TIMEOUTS).map(Number),
        });
        const base = full ? await nft.listTable(f.family, f.layout.table) : f.applied;
        structures.push(structure);
        bases.push(base);
        txs.push(diffTable(structure, f.desired.elements(), base, full ? {} : { scope: touchedByFamily[i] }));
      }
      const text = txs.map((t) => t.text).join('');
      if (text) await nft.apply(text);
      let structural = false;
      for (let i = 0; i < this.fams.length; i++) {
        const f = this.fams[i];
        // The kernel now holds exactly the desired elements; only the structure is kept.
        if (full || txs[i].structural) f.applied = stateOf(structures[i], NO_ELEMENTS);
        if (txs[i].structural) structural = true;
        if (full && bases[i]?.handles && !txs[i].structural) f.handles = bases[i]!.handles!;
        else if (txs[i].structural) f.handles = null;
      }
      // Handles of objects just (re)created are read by the next periodic verification, which
      // records them without comparing (a few nft processes saved on every structural sync).
      const existed = bases.some((b) => b !== null);
      if (full && existed && text) {
        this.opts.logger.info({ bytes: text.length }, 'reconciled service proxy tables with the kernel');
      }
      // A table that did not exist has no affinity entries to clean.
      if (affinityTouched || (full && existed)) await this.cleanAffinity();
      return {
        full,
        transaction: {
          text,
          structural,
          elementAdds: txs.reduce((a, t) => a + t.elementAdds, 0),
          elementDeletes: txs.reduce((a, t) => a + t.elementDeletes, 0),
        },
      };
    } catch (err) {
      // We no longer know what the kernel holds: the next sync reads it back and diffs all.
      for (const f of this.fams) {
        f.applied = null;
        f.handles = null;
      }
      throw err;
    } finally {
      for (const f of this.fams) f.desired.tracking = true;
    }
  }

  /** Deletes Skiff's tables (every family), nothing else. Idempotent. */
  async cleanup(): Promise<void> {
    for (const f of this.fams) {
      await deleteNftTable(this.opts.nft, f.family, f.layout.table);
      f.applied = null;
      f.handles = null;
    }
  }

  /** Removes what iptables mode may have left (its `SKIFF-` chains and jumps), nothing else. */
  async cleanupOtherMode(): Promise<void> {
    await cleanupIptables(this.opts.iptables ?? [], (err, ipt, family) =>
      this.opts.logger.debug({ err, backend: ipt.kind, family }, 'removing iptables-mode leftovers failed'),
    );
  }

  /** The cheap check of the periodic resync; false when something needs repair. */
  private async verifyStructure(): Promise<boolean> {
    for (const f of this.fams) {
      const applied = f.applied;
      if (!applied) return false;
      const listing = await this.opts.nft.listStructure(f.family, f.layout.table);
      if (!listing) return false;
      if (listing.chains.size !== applied.chains.size || listing.sets.size !== applied.sets.size) return false;
      for (const [name, c] of applied.chains) {
        const got = listing.chains.get(name);
        if (!got || !sameBase(got.base, c.base)) return false;
      }
      for (const [name, s] of applied.sets) {
        const got = listing.sets.get(name);
        if (!got || !sameSetState(got, s)) return false;
      }
      // (The table's own handle is not listed cheaply; a re-created table has new chains.)
      const h = f.handles;
      if (h) {
        for (const [name, v] of h.chains) if (listing.handles.chains.get(name) !== v) return false;
        for (const [name, v] of h.sets) if (listing.handles.sets.get(name) !== v) return false;
      } else {
        f.handles = listing.handles;
      }
    }
    return true;
  }

  /**
   * Deletes session-affinity entries that no longer lead anywhere valid (the endpoint went
   * away, or the destination lost its affinity). Best effort: entries also expire by timeout.
   */
  private async cleanAffinity(): Promise<void> {
    let removed = 0;
    // Only the ip table has affinity maps (see layout.ts, "Session affinity").
    for (const f of this.fams.filter((x) => x.family === 'ip')) {
      const want = f.desired.elements();
      const lines: string[] = [];
      for (const [set, proto] of [[SETS.affinityTcp, 'tcp'], [SETS.affinityUdp, 'udp']] as const) {
        let have: Map<string, string> | null;
        try {
          have = await this.opts.nft.listSet(f.family, f.layout.table, 'map', set);
        } catch (err) {
          this.opts.logger.debug({ err }, 'listing session affinity entries failed');
          continue;
        }
        for (const [key, value] of have ?? []) {
          if (affinityEntryValid(want, key, value, proto)) continue;
          lines.push(`add element ${f.family} ${f.layout.table} ${set} { ${key} : ${value} }`);
          lines.push(`delete element ${f.family} ${f.layout.table} ${set} { ${key} }`);
          removed++;
        }
      }
      if (!lines.length) continue;
      try {
        await this.opts.nft.apply(lines.join('\n') + '\n');
      } catch (err) {
        // A client may have been re-pinned meanwhile; the next cleanup or the timeout handles it.
        if (!isNftError(err)) throw err;
        this.opts.logger.debug({ err }, 'deleting stale session affinity entries failed');
      }
    }
    if (removed) this.opts.onAffinityCleanup?.(removed);
  }
}

/** True when an affinity entry `client . addr . port : ep . epPort` still points at an endpoint of its destination. */
export function affinityEntryValid(want: ElementMaps, key: string, value: string, proto: 'tcp' | 'udp'): boolean {
  const parts = key.split(' . ');
  if (parts.length !== 3) return false;
  const [, addr, port] = parts;
  const dest = `${addr} . ${proto} . ${port}`;
  if (!want.get(SETS.affinityServices)?.has(dest)) return false;
  const eps = want.get(proto === 'tcp' ? SETS.endpointsTcp : SETS.endpointsUdp);
  if (!eps) return false;
  const n = numberAfter('goto lb-', want.get(SETS.serviceIPs)?.get(dest));
  for (let k = 0; k < n; k++) if (eps.get(`${addr} . ${port} . ${k}`) === value) return true;
  const m = numberAfter('goto lbl-', want.get(SETS.externalLocal)?.get(dest));
  for (let k = 0; k < m; k++) if (eps.get(`${addr} . ${port} . ${k + LOCAL_SLOT_OFFSET}`) === value) return true;
  return false;
}

