/**
 * The node heartbeat Lease (`coordination.k8s.io/v1`, `kube-node-lease/<node>`), renewed like
 * `k8s.io/component-helpers/apimachinery/lease` as kubelet configures it:
 *
 * ```
 *   every renewInterval (leaseDuration × 0.25 = 10 s, +0–4 % jitter, measured after each round)
 *     latest lease known? ── UPDATE it (CAS on its resourceVersion), up to 5 tries ── ok → done
 *        │ no / failed                         └─ 409 Conflict → re-GET (ensure) and retry
 *        ▼
 *     ensure: GET ── 404 → build (owner = the Node; no Node yet → skip creating this round) → CREATE
 *        │ error → sleep 200 ms, 400 ms, … 7 s and retry ensure (until it works or we stop)
 *        └─ found → UPDATE it
 * ```
 *
 * `renewTime` is a MicroTime (`2026-11-22T04:00:00.123456Z`). The owner reference
 * (`v1`/`Node`/name/uid) is added whenever it is missing, so a Lease created before the Node
 * existed gets it later. Deviation (deliberate): when the Node was deleted and recreated (a new
 * uid), kubelet keeps the stale owner reference until the garbage collector deletes the Lease;
 * Skiff repoints it at the live Node on the next renewal.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, isAborted } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { Leases, Nodes, isApiNotFound, isConflict, type KubeClient } from '../../lib/kube/index.js';

/** Namespace of node leases. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** kubelet's renew interval as a fraction of the lease duration. */
export const RENEW_INTERVAL_FRACTION = 0.25;
const MAX_UPDATE_RETRIES = 5;
const MAX_BACKOFF_MS = 7_000;
const JITTER_FACTOR = 0.04;

/** A metav1.MicroTime string: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-22T04:00:00.123Z
  return `${iso.slice(0, 23)}000Z`;
}

/** Options of {@link NodeLeaseController}. */
export interface NodeLeaseOptions {
  client: KubeClient;
  nodeName: string;
  leaseDurationSeconds: number;
  clock: Clock;
  logger: Logger;
  /** Default leaseDuration × 0.25. */
  renewIntervalMs?: number;
  /** Fetches the Node for the owner reference; default a GET through `client`. */
  getNode?: (signal?: AbortSignal) => Promise<Node>;
  /** The uid of the Node as last seen (e.g. from an informer), to repoint a stale owner reference. */
  currentNodeUid?: () => string | undefined;
  /** Called when an update failed more than once in a row (kubelet closes idle connections here). */
  onRepeatedHeartbeatFailure?: () => void;
  /** Random source for the jitter; default Math.random. */
  random?: () => number;
}

/** Creates and renews the node's Lease. */
export class NodeLeaseController {
  private latestLease?: Lease;
  private ac?: AbortController;
  private loop?: Promise<void>;
  private readonly renewIntervalMs: number;
  private readonly log: Logger;

  constructor(private readonly opts: NodeLeaseOptions) {
    this.renewIntervalMs = opts.renewIntervalMs ?? opts.leaseDurationSeconds * 1000 * RENEW_INTERVAL_FRACTION;
    this.log = opts.logger.child({ component: 'node-lease' });
  }

  /** The Lease as last written or read. */
  latest(): Lease | undefined {
    return this.latestLease;
  }

  /** Starts the renew loop: a first round at once, then every renew interval. */
  start(signal?: AbortSignal): void {
    if (this.loop) return;
    const ac = (this.ac = new AbortController());
    if (signal?.aborted) ac.abort();
    else signal?.addEventListener('abort', () => ac.abort(), { once: true });
    this.loop = (async () => {
      while (!ac.signal.aborted) {
        try {
          await this.sync(ac.signal);
        } catch (err) {
          if (ac.signal.aborted || isAborted(err)) return;
          this.log.error({ err: errorMessage(err) }, 'lease sync failed');
        }
        const jitter = this.renewIntervalMs * JITTER_FACTOR * (this.opts.random ?? Math.random)();
        try {
          await this.opts.clock.sleep(this.renewIntervalMs + jitter, ac.signal);
        } catch {
          return;
        }
      }
    })();
  }

  /** Stops the loop. */
  async stop(): Promise<void> {
    this.ac?.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** One round: renew the known lease, or ensure it exists and renew it. */
  async sync(signal?: AbortSignal): Promise<void> {
    if (this.latestLease) {
      try {
        await this.retryUpdateLease(this.latestLease, signal);
        return;
      } catch (err) {
        if (isAborted(err)) throw err;
        this.log.info({ err: errorMessage(err) }, 'failed to update lease using latest lease, fallback to ensure lease');
      }
    }
    const { lease, created } = await this.backoffEnsureLease(signal);
    this.latestLease = lease;
    if (!created && lease) {
      try {
        await this.retryUpdateLease(lease, signal);
      } catch (err) {
        if (isAborted(err)) throw err;
        this.log.error({ err: errorMessage(err), retryInMs: this.renewIntervalMs }, 'lease update failed, will retry');
      }
    }
  }

  private async backoffEnsureLease(signal?: AbortSignal): Promise<{ lease?: Lease; created: boolean }> {
    let sleep = 100;
    for (;;) {
      try {
        return await this.ensureLease(signal);
      } catch (err) {
        if (isAborted(err) || signal?.aborted) throw err;
        sleep = Math.min(2 * sleep, MAX_BACKOFF_MS);
        this.log.error({ err: errorMessage(err), retryInMs: sleep }, 'failed to ensure lease exists, will retry');
        await this.opts.clock.sleep(sleep, signal);
      }
    }
  }

  private async ensureLease(signal?: AbortSignal): Promise<{ lease?: Lease; created: boolean }> {
    try {
      const lease = await this.opts.client.get<Lease>(Leases, NODE_LEASE_NAMESPACE, this.opts.nodeName, { signal });
      return { lease, created: false };
    } catch (err) {
      if (!isApiNotFound(err)) throw err;
    }
    const fresh = await this.newLease(undefined, signal);
    // Without an owner (the Node does not exist yet) the lease is not created this round.
    if (!fresh) return { created: false };
    const lease = await this.opts.client.create<Lease>(Leases, fresh, { signal });
    this.log.info({ lease: `${NODE_LEASE_NAMESPACE}/${this.opts.nodeName}` }, 'created node lease');
    return { lease, created: true };
  }

  private async retryUpdateLease(base: Lease, signal?: AbortSignal): Promise<void> {
    let current: Lease | undefined = base;
    for (let i = 0; i < MAX_UPDATE_RETRIES; i++) {
      if (signal?.aborted) throw signal.reason;
      if (!current) {
        current = (await this.backoffEnsureLease(signal)).lease;
        if (!current) continue;
      }
      const toUpdate = (await this.newLease(current, signal))!;
      try {
        this.latestLease = await this.opts.client.update<Lease>(Leases, toUpdate, { signal });
        return;
      } catch (err) {
        if (isAborted(err)) throw err;
        this.log.warn({ err: errorMessage(err) }, 'failed to update lease');
        if (isConflict(err)) {
          // Someone else wrote the Lease: read the newer version and try again.
          current = (await this.backoffEnsureLease(signal)).lease;
          continue;
        }
        if (isApiNotFound(err)) {
          // Deleted under us (e.g. by the garbage collector after the Node was recreated).
          this.latestLease = undefined;
          current = undefined;
        }
        if (i > 0) this.opts.onRepeatedHeartbeatFailure?.();
      }
    }
    throw new Error(`failed ${MAX_UPDATE_RETRIES} attempts to update lease`);
  }

  /**
   * A copy of `base` (or a new Lease) with renewTime = now and the owner reference set.
   * Returns undefined for a new Lease whose owner cannot be determined (creation is skipped).
   */
  private async newLease(base: Lease | undefined, signal?: AbortSignal): Promise<Lease | undefined> {
    const lease: Lease = base
      ? structuredClone(base)
      : {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.nodeName, namespace: NODE_LEASE_NAMESPACE },
          spec: { holderIdentity: this.opts.nodeName, leaseDurationSeconds: this.opts.leaseDurationSeconds },
        };
    lease.spec = { ...(lease.spec ?? {}), renewTime: microTime(this.opts.clock.now()) };
    lease.metadata = lease.metadata ?? {};
    const owners = lease.metadata.ownerReferences ?? [];
    const liveUid = this.opts.currentNodeUid?.();
    const nodeOwner = owners.find((o) => o.kind === 'Node' && o.name === this.opts.nodeName);
    if (owners.length === 0 || (nodeOwner && liveUid && nodeOwner.uid !== liveUid)) {
      try {
        const node = await (this.opts.getNode ?? ((s?: AbortSignal) => this.opts.client.get<Node>(Nodes, undefined, this.opts.nodeName, { signal: s })))(signal);
        const uid = node.metadata?.uid;
        if (!uid) throw new Error('node has no uid');
        lease.metadata.ownerReferences = [
          ...owners.filter((o) => o !== nodeOwner),
          { apiVersion: 'v1', kind: 'Node', name: this.opts.nodeName, uid },
        ];
      } catch (err) {
        if (isAborted(err)) throw err;
        this.log.warn({ err: errorMessage(err), node: this.opts.nodeName }, 'failed to get node when trying to set owner ref to the node lease');
        // An error blocks a CREATE (retried next round) but never an UPDATE.
        if (!base) return undefined;
      }
    }
    return lease;
  }
}

