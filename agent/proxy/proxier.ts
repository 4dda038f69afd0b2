/**
 * The nftables proxier: tracker → desired elements → diff → one `nft -f -` transaction.
 *
 * A sync folds the Services that changed into the desired elements, builds the (small)
 * structure, and diffs against what it last applied, limited to the element keys that
 * moved. When it does not know what is in the kernel (first sync after start, after a
 * failure) or on the periodic resync, it reads the table back (`nft -j list table`) and
 * diffs everything: an agent restart reconciles the existing table instead of flushing it,
 * so established connections and unchanged elements are left alone.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { isAborted } from '../../lib/errors.js';
import type { ProxyConfig } from './config.js';
import { DesiredElements } from './desired.js';
import { buildStructure, LB_COUNTS, servicePortElements, type ElementRef, type LayoutConfig } from './layout.js';
import { diffTable, type Transaction } from './nft/diff.js';
import type { NftExecutor } from './nft/executor.js';
import { stateOf, type TableState } from './nft/ruleset.js';
import { parseIPv4Prefix } from './nft/types.js';
import { BoundedFrequencyRunner, type SyncReason } from './runner.js';
import { ServiceChangeTracker } from './tracker.js';

/** The table Skiff owns (family `ip`; `ip6` is reserved for IPv6). */
export const DEFAULT_TABLE = 'skiff';

/** What one sync did. */
export interface SyncResult {
  /** Why it ran. */
  reason: SyncReason;
  /** True when the kernel table was read back and everything compared. */
  full: boolean;
  /** The transaction applied (empty text when nothing changed). */
  transaction: Transaction;
  /** Services folded into the model by this sync. */
  servicesChanged: number;
  /** Wall time of the sync, ms (from the injected clock). */
  durationMs: number;
}

/** Options of {@link NftProxier}. */
export interface NftProxierOptions {
  logger: Logger;
  clock: Clock;
  nft: NftExecutor;
  config: ProxyConfig;
  nodeName: string;
  nodeIPs: string[];
  /** The node's pod CIDR; the cluster-traffic CIDR when `clusterCIDR` is not configured. */
  podCidr?: string;
  /** Table name; defaults to `skiff`. */
  table?: string;
}

/** The proxier. See the module comment. */
export class NftProxier {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly nft: NftExecutor;
  private readonly layout: LayoutConfig;
  private readonly tracker: ServiceChangeTracker;
  private readonly desired = new DesiredElements();
  private readonly runner: BoundedFrequencyRunner;
  /** What the kernel holds as far as we know; null when unknown. */
  private applied: TableState | null = null;
  private last: SyncResult | null = null;
  /** Node facts kept for the features that need them (NodePort addresses, local endpoints). */
  readonly nodeName: string;
  readonly nodeIPs: readonly string[];

  constructor(opts: NftProxierOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    this.nft = opts.nft;
    this.nodeName = opts.nodeName;
    this.nodeIPs = [...opts.nodeIPs];
    const v4 = (cidrs: string[]): string[] => cidrs.filter((c) => parseIPv4Prefix(c) !== undefined);
    const clusterV4 = v4(opts.config.clusterCIDRs);
    this.layout = {
      nodeName: opts.nodeName,
      family: 'ip',
      table: opts.table ?? DEFAULT_TABLE,
      masqueradeBit: opts.config.masqueradeBit,
      masqueradeAll: opts.config.masqueradeAll,
      localCidrs: clusterV4.length ? clusterV4 : v4(opts.podCidr ? [opts.podCidr] : []),
    };
    if (!this.layout.localCidrs.length && !this.layout.masqueradeAll) {
      this.log.warn('no clusterCIDR or podCIDR: traffic to cluster IPs from off-cluster sources is not masqueraded');
    }
    this.tracker = new ServiceChangeTracker({ logger: this.log });
    this.runner = new BoundedFrequencyRunner({
      clock: this.clock,
      logger: this.log,
      minIntervalMs: opts.config.minSyncPeriodMs,
      maxIntervalMs: opts.config.syncPeriodMs,
      fn: async (reason) => {
        await this.sync(reason);
      },
    });
  }

  /** A Service was added or updated. */
  onServiceUpsert(svc: Service): void {
    if (this.tracker.upsertService(svc)) this.runner.run();
  }

  /** A Service was deleted. */
  onServiceDelete(svc: Service): void {
    if (this.tracker.deleteService(svc)) this.runner.run();
  }

  /** An EndpointSlice was added or updated. */
  onEndpointSliceUpsert(slice: EndpointSlice): void {
    if (this.tracker.upsertEndpointSlice(slice)) this.runner.run();
  }

  /** An EndpointSlice was deleted. */
  onEndpointSliceDelete(slice: EndpointSlice): void {
    if (this.tracker.deleteEndpointSlice(slice)) this.runner.run();
  }

  /** Starts syncing: once now (reconciling the existing table), then on changes and periodically. */
  start(signal?: AbortSignal): void {
    this.log.info(
      { table: `${this.layout.family} ${this.layout.table}`, node: this.nodeName, localCidrs: this.layout.localCidrs },
      'starting service proxy (nftables)',
    );
    this.runner.start(signal);
  }

  /** Stops syncing; waits for an in-flight sync. The table stays (a restart reconciles it). */
  async stop(): Promise<void> {
    await this.runner.stop();
  }

  /** Syncs right away (after any in-flight sync) and returns what it did. */
  async syncNow(): Promise<SyncResult> {
    await this.runner.runNow('manual');
    return this.last!;
  }

  /** The result of the last successful sync, if any. */
  lastSync(): SyncResult | null {
    return this.last;
  }

  /** Stops syncing and deletes Skiff's table (nothing else). Idempotent. */
  async cleanup(): Promise<void> {
    await this.runner.stop();
    const t = `${this.layout.family} ${this.layout.table}`;
    // `add` first makes the `delete` succeed when the table is already gone (nft 1.0.6 has no `destroy`).
    await this.nft.apply(`add table ${t}\ndelete table ${t}\n`);
    this.applied = null;
    this.log.info({ table: t }, 'deleted service proxy table');
  }

  /** One sync. Exposed for the runner; call {@link syncNow} from outside. */
  private async sync(reason: SyncReason): Promise<SyncResult> {
    const started = this.clock.now();
    const dirty = this.tracker.takeDirty();
    for (const svc of dirty) {
      const ports = new Map<string, ElementRef[]>();
      for (const sp of this.tracker.servicePorts(svc)) ports.set(sp.info.key, servicePortElements(sp, this.nodeName));
      this.desired.setService(svc, ports);
    }
    const touched = this.desired.takeTouched();
    const structure = buildStructure(this.layout, this.desired.keys(LB_COUNTS).map(Number));
    const full = this.applied === null || reason === 'periodic' || reason === 'initial';
    let base = this.applied;
    try {
      if (full) base = await this.nft.listTable(this.layout.family, this.layout.table);
      const tx = diffTable(structure, this.desired.elements(), base, full ? {} : { scope: touched });
      if (tx.text) await this.nft.apply(tx.text);
      if (full || tx.structural) {
        this.applied = stateOf(structure, this.desired.elements());
      } else {
        patchElements(this.applied!, this.desired.elements(), touched);
      }
      const result: SyncResult = {
        reason,
        full,
        transaction: tx,
        servicesChanged: dirty.length,
        durationMs: this.clock.now() - started,
      };
      this.last = result;
      if (full && base !== null && tx.text) {
        this.log.info({ adds: tx.elementAdds, deletes: tx.elementDeletes, structural: tx.structural }, 'reconciled drift in service proxy table');
      }
      this.log.debug(
        { reason, full, services: dirty.length, adds: tx.elementAdds, deletes: tx.elementDeletes, ms: result.durationMs },
        'service proxy sync',
      );
      return result;
    } catch (err) {
      // We no longer know what the kernel holds: the next sync reads it back and diffs all.
      this.applied = null;
      if (!isAborted(err)) this.log.debug({ err }, 'service proxy sync failed');
      throw err;
    }
  }
}

function patchElements(state: TableState, want: ReturnType<DesiredElements['elements']>, touched: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [set, keys] of touched) {
    const have = state.elements.get(set);
    if (!have) continue; // pseudo-sets (the lb counts) are not in the table
    const w = want.get(set);
    for (const k of keys) {
      const v = w?.get(k);
      if (v === undefined) have.delete(k);
      else have.set(k, v);
    }
  }
}
