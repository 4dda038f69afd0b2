/**
 * The proxier: tracker → runner → backend sync, plus everything around a sync that does not
 * depend on the packet filter: health (`/healthz`), metrics, UDP conntrack cleanup,
 * per-Service health check servers, and Warning Events for bad input.
 *
 * ```
 *  informer events ──► tracker (derived records, dirty Services, issues → log + Event)
 *        │ run()                                       │
 *        ▼                                             ▼
 *  BoundedFrequencyRunner ──► sync(reason):  changed Services ──► backend.sync (atomic)
 *                                             on success: conntrack -D for stale UDP flows,
 *                                             health check servers, metrics, health.updated()
 * ```
 * Nothing syncs before `onSynced()` (the informers have listed): a first sync against an
 * empty model would delete a restarted agent's rules, which kube-proxy avoids the same way.
 */
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, isAborted } from '../../lib/errors.js';
import type { EventRecorder } from '../../lib/kube/event-recorder.js';
import type { Logger } from '../../lib/log.js';
import type { AnyEndpointSlice } from './adapters.js';
import type { ProxyBackend, Transaction } from './backend.js';
import type { ProxyConfig } from './config.js';
import type { Conntrack, ConntrackFilter } from './conntrack.js';
import { endpointViews, localReadyCount } from './endpoints.js';
import { ProxierHealth } from './health.js';
import { ServiceHealthServers } from './healthcheck.js';
import type { ProxyMetrics } from './metrics.js';
import type { ServicePortState } from './model.js';
import { resolveNodePortIPs } from './node-addresses.js';
import { BoundedFrequencyRunner, type SyncReason } from './runner.js';
import { staleFilters, udpStateOf, type UdpPortState } from './stale.js';
import { ServiceChangeTracker, type Issue, type ServiceRef } from './tracker.js';

/** What one sync did. */
export interface SyncResult {
  /** Why it ran. */
  reason: SyncReason;
  /** True when the kernel state was read back and everything compared. */
  full: boolean;
  /** What was written (empty text when nothing changed). */
  transaction: Transaction;
  /** Services folded into the rules by this sync. */
  servicesChanged: number;
  /** Wall time of the sync, ms (from the injected clock). */
  durationMs: number;
  /** Conntrack deletions run after the sync. */
  conntrackDeletes: number;
}

/** Options of {@link ServiceProxy}. */
export interface ServiceProxyOptions {
  logger: Logger;
  clock: Clock;
  backend: ProxyBackend;
  config: ProxyConfig;
  nodeName: string;
  /** The node's primary addresses (for `nodePortAddresses: primary`, the default). */
  nodeIPs: readonly string[];
  /** Interface addresses, for CIDR `nodePortAddresses`; default none. */
  interfaceAddresses?: () => readonly string[];
  /** UDP conntrack cleanup; none when absent. */
  conntrack?: Conntrack;
  /** Warning Events for bad input and failed health check ports. */
  events?: EventRecorder;
  metrics?: ProxyMetrics;
  /** Service CIDRs: cluster IPs outside them are skipped with a `ClusterIPOutOfRange` Event. */
  serviceCIDRs?: readonly string[];
  /** Open the healthCheckNodePort servers (default true). */
  healthCheckServers?: boolean;
  /** Where health check servers listen; default the NodePort addresses. */
  healthCheckBindAddresses?: () => readonly string[];
  /** Called after every successful sync. */
  onSync?: (result: SyncResult) => void;
}

/** The proxier. See the module comment. */
export class ServiceProxy {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly backend: ProxyBackend;
  readonly tracker: ServiceChangeTracker;
  private readonly runner: BoundedFrequencyRunner;
  /** The proxy's health, as `/healthz` reports it. */
  readonly health: ProxierHealth;
  private readonly metrics?: ProxyMetrics;
  private readonly conntrack?: Conntrack;
  private readonly hc?: ServiceHealthServers;
  private readonly hcWant = new Map<string, number>();
  private readonly hcCounts = new Map<string, number>();
  private readonly noLocal = new Map<string, { internal: boolean; external: boolean }>();
  private readonly udpApplied = new Map<string, Map<string, UdpPortState>>();
  private readonly pendingAfterSync = new Set<string>();
  private nodeIPs: string[];
  private nodePortIPs: string[];
  private initialized = false;
  private started = false;
  private startSignal: AbortSignal | undefined;
  private last: SyncResult | null = null;
  private otherModeCleanup: Promise<void> | undefined;
  /** Services folded into the backend ahead of the first sync (see {@link stage}), with their ports then. */
  private readonly staged = new Map<string, ServicePortState[]>();
  private stageScheduled = false;
  private seenTotals = { serviceChanges: 0, endpointChanges: 0 };

  constructor(private readonly opts: ServiceProxyOptions) {
    this.log = opts.logger;
    this.clock = opts.clock;
    this.backend = opts.backend;
    this.metrics = opts.metrics;
    this.conntrack = opts.conntrack;
    this.nodeIPs = [...opts.nodeIPs];
    this.nodePortIPs = this.resolveNodePortIPs();
    this.health = new ProxierHealth(opts.clock, 2 * opts.config.syncPeriodMs);
    this.tracker = new ServiceChangeTracker({
      logger: this.log,
      ...(opts.serviceCIDRs ? { serviceCIDRs: opts.serviceCIDRs } : {}),
      onIssue: (svc, issue) => this.reportIssue(svc, issue),
    });
    if (opts.healthCheckServers !== false) {
      this.hc = new ServiceHealthServers({
        logger: this.log,
        health: this.health,
        bindAddresses: opts.healthCheckBindAddresses ?? (() => this.nodePortIPs),
        ...(opts.events ? { events: opts.events } : {}),
        nodeName: opts.nodeName,
      });
    }
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

  /** The backend's mode. */
  get mode(): 'nftables' | 'iptables' {
    return this.backend.mode;
  }

  private changed(yes: boolean): void {
    if (!yes) return;
    this.health.queuedUpdate();
    this.metrics?.lastQueued.set(this.clock.now() / 1000);
    this.runner.run();
    if (!this.initialized && this.backend.stage && !this.stageScheduled) {
      this.stageScheduled = true;
      setImmediate(() => this.stage());
    }
  }

  /**
   * While the sources are still listing, folds the Services changed so far into the
   * backend's desired state, between list pages (the informers hand over one page at a
   * time). The first sync is then left with the diff and the transaction, and the work
   * overlaps the wait for the apiserver instead of following it.
   */
  private stage(): void {
    this.stageScheduled = false;
    if (this.initialized || !this.backend.stage) return;
    const dirty = this.tracker.takeDirty();
    if (!dirty.length) return;
    const changed = new Map<string, ServicePortState[]>();
    for (const svc of dirty) changed.set(svc, this.tracker.servicePorts(svc));
    if (!this.backend.stage(changed, this.nodePortIPs)) {
      this.tracker.markDirty(dirty);
      return;
    }
    for (const [svc, ports] of changed) this.staged.set(svc, ports);
  }

  /** A Service was added or updated. */
  onServiceUpsert(svc: Service): void {
    this.changed(this.tracker.upsertService(svc));
  }

  /** A Service was deleted. */
  onServiceDelete(svc: Service): void {
    this.changed(this.tracker.deleteService(svc));
  }

  /** An EndpointSlice (v1 or v1beta1) was added or updated. */
  onEndpointSliceUpsert(slice: AnyEndpointSlice): void {
    this.changed(this.tracker.upsertEndpointSlice(slice));
  }

  /** An EndpointSlice was deleted. */
  onEndpointSliceDelete(slice: AnyEndpointSlice): void {
    this.changed(this.tracker.deleteEndpointSlice(slice));
  }

  /** A core/v1 Endpoints object was added or updated (used when no EndpointSlices are served). */
  onEndpointsUpsert(ep: Endpoints): void {
    this.changed(this.tracker.upsertEndpoints(ep));
  }

  /** A core/v1 Endpoints object was deleted. */
  onEndpointsDelete(ep: Endpoints): void {
    this.changed(this.tracker.deleteEndpoints(ep));
  }

  /** The sources have listed everything: syncing may begin. */
  onSynced(): void {
    if (this.initialized) return;
    this.initialized = true;
    if (this.started) this.runner.start(this.startSignal);
  }

  /** The node's primary addresses changed. */
  setNodeIPs(ips: readonly string[]): void {
    this.nodeIPs = [...ips];
    this.refreshNodePortIPs();
  }

  /** Records whether the node is eligible for traffic (`/healthz` fails when not). */
  setNodeEligible(eligible: boolean): void {
    this.health.setNodeEligible(eligible);
  }

  /** Starts syncing once the sources have synced (see {@link onSynced}); stops on abort. */
  start(signal?: AbortSignal): void {
    if (this.started) return;
    this.started = true;
    this.startSignal = signal;
    // Meanwhile the sources list: the first sync waits for it.
    this.otherModeCleanup ??= this.cleanupOtherMode();
    this.log.info({ mode: this.backend.mode, node: this.opts.nodeName, nodePortIPs: this.nodePortIPs }, 'starting service proxy');
    if (this.initialized) this.runner.start(signal);
  }

  /** Stops syncing; waits for an in-flight sync. The rules stay (a restart reconciles them). */
  async stop(): Promise<void> {
    await this.runner.stop();
    await this.hc?.close();
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

  /** Stops syncing and deletes everything the backend owns (nothing else). Idempotent. */
  async cleanup(): Promise<void> {
    await this.stop();
    try {
      await this.backend.cleanup();
    } catch (err) {
      if (this.backend.mode === 'nftables') this.metrics?.nftablesCleanupFailures.inc();
      throw err;
    }
    this.udpApplied.clear();
    this.log.info({ mode: this.backend.mode }, 'deleted service proxy rules');
  }

  private resolveNodePortIPs(): string[] {
    return resolveNodePortIPs(this.opts.config.nodePortAddresses, this.nodeIPs, this.opts.interfaceAddresses?.() ?? []);
  }

  private refreshNodePortIPs(): void {
    const next = this.resolveNodePortIPs();
    if (next.join(',') === this.nodePortIPs.join(',')) return;
    this.log.info({ nodePortIPs: next }, 'NodePort addresses changed');
    this.nodePortIPs = next;
    this.tracker.markDirty(this.tracker.serviceKeys());
    this.changed(true);
  }

  private reportIssue(svc: ServiceRef, issue: Issue): void {
    this.log.warn({ service: `${svc.namespace}/${svc.name}`, reason: issue.reason }, issue.message);
    this.opts.events?.event(
      { kind: 'Service', apiVersion: 'v1', metadata: { namespace: svc.namespace, name: svc.name, ...(svc.uid ? { uid: svc.uid } : {}) } },
      'Warning',
      issue.reason,
      issue.message,
    );
  }

  /** One sync. Runs from the runner; call {@link syncNow} from outside. */
  private async sync(reason: SyncReason): Promise<SyncResult> {
    const started = this.clock.now();
    await (this.otherModeCleanup ??= this.cleanupOtherMode());
    if (reason === 'periodic') this.refreshNodePortIPs();
    this.updateChangeMetrics();
    const dirty = this.tracker.takeDirty();
    const fresh = new Map<string, ServicePortState[]>();
    for (const svc of dirty) fresh.set(svc, this.tracker.servicePorts(svc));
    // Everything this sync makes true, staged Services included (their conntrack and health checks).
    const changed = this.staged.size ? new Map([...this.staged, ...fresh]) : fresh;
    for (const svc of changed.keys()) this.pendingAfterSync.add(svc);
    let result;
    try {
      result = await this.backend.sync({ reason, changed: fresh, nodePortIPs: this.nodePortIPs });
      this.staged.clear();
    } catch (err) {
      if (!isAborted(err)) {
        if (this.backend.mode === 'nftables') this.metrics?.nftablesSyncFailures.inc();
        else this.metrics?.iptablesRestoreFailures.inc();
        this.log.warn({ err: errorMessage(err), reason }, 'service proxy sync failed; retrying with backoff');
      }
      throw err;
    }
    const conntrackDeletes = await this.afterSync(changed);
    const durationMs = this.clock.now() - started;
    const r: SyncResult = { reason, full: result.full, transaction: result.transaction, servicesChanged: changed.size, durationMs, conntrackDeletes };
    this.last = r;
    this.health.updated();
    this.opts.onSync?.(r);
    if (this.metrics) {
      const s = durationMs / 1000;
      this.metrics.syncDuration.observe(s);
      (result.full ? this.metrics.syncFullDuration : this.metrics.syncPartialDuration).observe(s);
      this.metrics.lastSync.set(this.clock.now() / 1000);
      this.metrics.serviceChangesPending.set(0);
      this.metrics.endpointChangesPending.set(0);
    }
    this.log.debug(
      { reason, full: r.full, services: changed.size, adds: r.transaction.elementAdds, deletes: r.transaction.elementDeletes, ms: durationMs },
      'service proxy sync',
    );
    return r;
  }

  /** Removes what the other proxy mode may have left (best effort), once, as the sources finish listing. */
  private async cleanupOtherMode(): Promise<void> {
    await this.backend.cleanupOtherMode?.().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'removing the other proxy mode’s leftovers failed'));
  }

  private updateChangeMetrics(): void {
    if (!this.metrics) return;
    const c = this.tracker.counts;
    this.metrics.serviceChangesTotal.inc(c.serviceChanges - this.seenTotals.serviceChanges);
    this.metrics.endpointChangesTotal.inc(c.endpointChanges - this.seenTotals.endpointChanges);
    this.seenTotals = { ...c };
    this.metrics.serviceChangesPending.set(this.tracker.pendingCount());
  }

  /** Conntrack cleanup, health check servers and policy counts for the Services just synced. */
  private async afterSync(synced: ReadonlyMap<string, ServicePortState[]>): Promise<number> {
    const filters: ConntrackFilter[] = [];
    for (const svc of this.pendingAfterSync) {
      const ports = synced.get(svc) ?? this.tracker.servicePorts(svc);
      // UDP conntrack.
      const before = this.udpApplied.get(svc) ?? new Map<string, UdpPortState>();
      const after = new Map<string, UdpPortState>();
      for (const sp of ports) {
        const st = udpStateOf(sp, this.opts.nodeName);
        if (st) after.set(sp.info.key, st);
      }
      for (const k of new Set([...before.keys(), ...after.keys()])) filters.push(...staleFilters(before.get(k), after.get(k)));
      if (after.size) this.udpApplied.set(svc, after);
      else this.udpApplied.delete(svc);
      // Health checks: Services with externalTrafficPolicy Local and a healthCheckNodePort.
      const hcPort = ports.find((p) => p.info.externalTrafficPolicy === 'Local' && p.info.healthCheckNodePort > 0)?.info.healthCheckNodePort;
      if (hcPort) {
        this.hcWant.set(svc, hcPort);
        this.hcCounts.set(svc, localReadyCount(ports.flatMap((p) => p.endpoints), this.opts.nodeName));
      } else {
        this.hcWant.delete(svc);
        this.hcCounts.delete(svc);
      }
      // kubeproxy_sync_proxy_rules_no_local_endpoints_total
      let internal = false;
      let external = false;
      for (const sp of ports) {
        const i = sp.info;
        const externalLocal = i.externalTrafficPolicy === 'Local' && (i.nodePort > 0 || i.externalIPs.length > 0 || i.loadBalancerIPs.length > 0);
        if (i.internalTrafficPolicy !== 'Local' && !externalLocal) continue;
        const none = endpointViews(sp.endpoints, this.opts.nodeName).local.length === 0;
        if (none && i.internalTrafficPolicy === 'Local') internal = true;
        if (none && externalLocal) external = true;
      }
      if (internal || external) this.noLocal.set(svc, { internal, external });
      else this.noLocal.delete(svc);
    }
    this.pendingAfterSync.clear();
    if (this.metrics) {
      let i = 0;
      let e = 0;
      for (const v of this.noLocal.values()) {
        if (v.internal) i++;
        if (v.external) e++;
      }
      this.metrics.noLocalEndpoints.set({ traffic_policy: 'internal' }, i);
      this.metrics.noLocalEndpoints.set({ traffic_policy: 'external' }, e);
    }
    if (this.hc) {
      try {
        await this.hc.syncServices(this.hcWant);
        this.hc.setEndpoints(this.hcCounts);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'updating service health checks failed');
      }
    }
    if (!this.conntrack || filters.length === 0) return 0;
    let deleted = 0;
    // A few at a time: each is a `conntrack` process.
    for (let i = 0; i < filters.length; i += 4) {
      const batch = filters.slice(i, i + 4);
      const results = await Promise.allSettled(batch.map((f) => this.conntrack!.deleteEntries(f)));
      results.forEach((res, j) => {
        if (res.status === 'fulfilled') deleted += res.value;
        else this.log.warn({ err: errorMessage(res.reason), filter: batch[j] }, 'deleting stale conntrack entries failed');
      });
    }
    this.metrics?.conntrackDeleted.inc(deleted);
    this.log.debug({ filters: filters.length, deleted }, 'deleted stale UDP conntrack entries');
    return filters.length;
  }
}
