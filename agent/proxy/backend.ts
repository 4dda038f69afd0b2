/**
 * The seam between the backend-independent proxier (tracker, runner, health, conntrack,
 * health checks, metrics) and a packet-filter backend (nftables in `nft-backend.ts`,
 * iptables in `iptables/backend.ts`). A backend keeps its own desired state: it is handed
 * only the Services that changed, and must be able to converge from any kernel state after a
 * failed sync.
 */
import type { ServicePortState } from './model.js';
import type { SyncReason } from './runner.js';

/** What one sync asks of a backend. */
export interface BackendSyncInput {
  reason: SyncReason;
  /** Services changed since the last sync (`ns/name` → its ports now; empty: gone). */
  changed: ReadonlyMap<string, readonly ServicePortState[]>;
  /** Node addresses that accept NodePorts (both families). */
  nodePortIPs: readonly string[];
}

/** What a backend wrote in one sync. */
export interface Transaction {
  /** The script written (nft statements, or iptables-restore input); empty when nothing changed. */
  text: string;
  /** True when chains, rules or set declarations changed (not only elements). */
  structural: boolean;
  /** Elements (nftables) or rules (iptables) added, value changes included. */
  elementAdds: number;
  /** Elements (nftables) or chains flushed/deleted (iptables), value changes included. */
  elementDeletes: number;
}

/** A backend's report of one successful sync. */
export interface BackendSyncResult {
  /** True when the kernel was read back and everything compared. */
  full: boolean;
  transaction: Transaction;
}

/** A packet-filter backend. */
export interface ProxyBackend {
  readonly mode: 'nftables' | 'iptables';
  /** Applies the changes atomically; throws (leaving the previous rules whole) on failure. */
  sync(input: BackendSyncInput): Promise<BackendSyncResult>;
  /** Deletes everything this backend owns (tables, chains, jump rules); idempotent. */
  cleanup(): Promise<void>;
  /** Removes what the other mode may have left behind (best effort, once at start). */
  cleanupOtherMode?(): Promise<void>;
  /**
   * Folds changed Services into the desired state ahead of a sync, when the next sync is
   * known to compare everything (before the first one, or after a failure); the proxier
   * calls it while the sources are still listing, so the first sync is left with the diff
   * and the transaction. Returns false (and keeps nothing) when the next sync would be a
   * scoped diff: those Services must then be handed to {@link sync} as usual.
   */
  stage?(changed: ReadonlyMap<string, readonly ServicePortState[]>, nodePortIPs: readonly string[]): boolean;
}
