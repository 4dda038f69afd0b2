/**
 * The Service proxy (kube-proxy's job, inside the agent): it watches Services and endpoint
 * sources (EndpointSlices v1 or v1beta1, or Endpoints) and programs Skiff-owned rules so
 * that cluster IPs, NodePorts, externalIPs and load-balancer IPs reach ready endpoints.
 *
 * - `mode: nftables` (default): tables `ip skiff` and `ip6 skiff`, scale in map elements
 *   (`layout.ts`), one atomic `nft -f -` per sync (`nft-backend.ts`, `nft/`).
 * - `mode: iptables`: kube-proxy's chain structure with `SKIFF-` chains through
 *   `iptables-restore --noflush` (`iptables/`), legacy or nft backend chosen like kind.
 *
 * ```ts
 * const proxier = createProxier({ logger, clock: realClock, config, nodeName, nodeIPs, podCidr, events, metrics });
 * const sources = await startProxySources({ client, proxier, logger, clock }); // calls proxier.onSynced()
 * proxier.start(signal);
 * const health = await startProxyHealthServer({ address: config.healthzBindAddress, health: proxier.health, logger });
 * ```
 */
import { existsSync } from 'node:fs';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import type { EventRecorder } from '../../lib/kube/event-recorder.js';
import type { Logger } from '../../lib/log.js';
import type { AnyEndpointSlice } from './adapters.js';
import type { ProxyBackend } from './backend.js';
import { defaultProxyConfig, type ProxyConfig } from './config.js';
import { SpawnConntrack, type Conntrack } from './conntrack.js';
import type { ProxierHealth } from './health.js';
import { parseCidr, type IPFamily } from './ip.js';
import { IptablesBackend } from './iptables/backend.js';
import { AutoIptables, SpawnIptables, type IptablesExecutor } from './iptables/executor.js';
import type { ProxyMetrics } from './metrics.js';
import { NftBackend } from './nft-backend.js';
import { SpawnNftExecutor, type NftExecutor } from './nft/executor.js';
import type { Family } from './nft/ruleset.js';
import { localInterfaceAddresses } from './node-addresses.js';
import { ServiceProxy, type SyncResult } from './proxier.js';

export { parseKubeProxyConfiguration, defaultProxyConfig, parseDuration, KUBE_PROXY_API_VERSION } from './config.js';
export type { ProxyConfig } from './config.js';
export { NftError, isNftError, isNftNotFound, NFT_ERROR } from './errors.js';
export type { NftErrno, NftErrorDetails } from './errors.js';
export { SpawnNftExecutor } from './nft/executor.js';
export type { NftExecutor, ApplyOptions, SpawnNftOptions } from './nft/executor.js';
export { FakeNft } from './nft/fake.js';
export type { DumpOptions, FakeTable, FakeChain, FakeSet, FakeRule } from './nft/fake.js';
export { PacketTracer, describeOutcome } from './nft/tracer.js';
export type { TracePacket, TraceResult, TraceOptions } from './nft/tracer.js';
export type { Transaction } from './backend.js';
export type { TableState, Family } from './nft/ruleset.js';
export type { SyncResult } from './proxier.js';
export type { ServicePortInfo, EndpointInfo, ServicePortState, Protocol } from './model.js';
export { SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL } from './tracker.js';
export type { ServiceRef, Issue } from './tracker.js';
export type { AnyEndpointSlice, EndpointSliceV1beta1 } from './adapters.js';
export { SpawnConntrack, FakeConntrack, ConntrackError, isConntrackError } from './conntrack.js';
export type { Conntrack, ConntrackFilter } from './conntrack.js';
export { SpawnIptables, AutoIptables, selectIptablesBackend, IptablesError, isIptablesError } from './iptables/executor.js';
export type { IptablesExecutor, IptablesKind } from './iptables/executor.js';
export { FakeIptables } from './iptables/fake.js';
export { createProxyMetrics } from './metrics.js';
export type { ProxyMetrics } from './metrics.js';
export { ProxierHealth } from './health.js';
export { startProxyHealthServer, startProxyMetricsServer } from './http.js';
export type { ProxyHttpServer } from './http.js';
export { cleanupProxyRules } from './cleanup.js';
export type { CleanupOptions } from './cleanup.js';
export { resolveNodePortIPs } from './node-addresses.js';
export { localInterfaceAddresses };
export { startProxySources, chooseEndpointSource, SERVICE_LABEL_SELECTOR, SLICE_LABEL_SELECTOR } from './sources.js';
export type { ProxySources, EndpointSourceKind, DiscoveryClient } from './sources.js';

/** The table Skiff owns in each nftables family. */
export const DEFAULT_TABLE = 'skiff';

/** What {@link createProxier} needs. */
export interface ProxierDeps {
  logger: Logger;
  clock: Clock;
  /** How nft is run; defaults to spawning `nft` on this host. */
  nft?: NftExecutor;
  /** How iptables is run (mode iptables); defaults to the backend kind's rule picks on this host. */
  iptables?: IptablesExecutor;
  /** UDP conntrack cleanup; defaults to the `conntrack` CLI unless `nft` is injected (tests). */
  conntrack?: Conntrack;
  /** Parsed configuration; fields left out take upstream defaults. */
  config?: Partial<ProxyConfig>;
  /** This node's name (EndpointSlice `nodeName`), for node-local endpoints. */
  nodeName: string;
  /** This node's primary addresses (NodePorts, by default). */
  nodeIPs: string[];
  /** The node's pod CIDR (`spec.podCIDR`), used when `clusterCIDR` is not configured. */
  podCidr?: string;
  /** nftables table name; defaults to `skiff`. Tests use their own names. */
  table?: string;
  /** Warning Events for bad input (Services). */
  events?: EventRecorder;
  /** kube-proxy's metrics; none when absent. */
  metrics?: ProxyMetrics;
  /** Service CIDRs; cluster IPs outside them are skipped (Event `ClusterIPOutOfRange`). */
  serviceCIDRs?: string[];
  /**
   * Address families to program. Default: IPv4, plus IPv6 when the node has an IPv6 address
   * or cluster CIDR and the kernel has IPv6.
   */
  ipFamilies?: IPFamily[];
  /** Interface addresses, for CIDR `nodePortAddresses`; default `os.networkInterfaces()` when `nft` is not injected. */
  interfaceAddresses?: () => readonly string[];
  /** Open healthCheckNodePort servers (default true). */
  healthCheckServers?: boolean;
  /** Where healthCheckNodePort servers listen; default the NodePort addresses. */
  healthCheckBindAddresses?: () => readonly string[];
  /** nftables: read everything back on every n-th periodic resync (default 10; 0 never). */
  fullReconcileEvery?: number;
  /** Called after every successful sync (benchmarks, diagnostics). */
  onSync?: (result: SyncResult) => void;
}

/** The proxier's face: event entry points (wire informers here), lifecycle and state. */
export interface Proxier {
  /** `nftables` or `iptables`. */
  readonly mode: 'nftables' | 'iptables';
  /** The proxy's health (what `/healthz` reports). */
  readonly health: ProxierHealth;
  /** A Service was added or updated. */
  onServiceUpsert(svc: Service): void;
  /** A Service was deleted. */
  onServiceDelete(svc: Service): void;
  /** An EndpointSlice (v1 or v1beta1) was added or updated. */
  onEndpointSliceUpsert(slice: AnyEndpointSlice): void;
  /** An EndpointSlice was deleted. */
  onEndpointSliceDelete(slice: AnyEndpointSlice): void;
  /** A core/v1 Endpoints object was added or updated (fallback source). */
  onEndpointsUpsert(ep: Endpoints): void;
  /** A core/v1 Endpoints object was deleted. */
  onEndpointsDelete(ep: Endpoints): void;
  /** The sources listed everything: the first sync may run (nothing syncs by itself before). */
  onSynced(): void;
  /** The node's primary addresses changed. */
  setNodeIPs(ips: readonly string[]): void;
  /** Whether the node is eligible for traffic (not being deleted); `/healthz` fails when not. */
  setNodeEligible(eligible: boolean): void;
  /** Starts syncing once synced (first sync reconciles existing rules); stops on abort. */
  start(signal?: AbortSignal): void;
  /** Stops syncing, waiting for an in-flight sync. Leaves the rules in place. */
  stop(): Promise<void>;
  /** Stops syncing and deletes Skiff's rules of this mode. Touches nothing else. */
  cleanup(): Promise<void>;
  /** Syncs now (after any in-flight sync) and reports what it applied. */
  syncNow(): Promise<SyncResult>;
}

function kernelHasIPv6(): boolean {
  return existsSync('/proc/net/if_inet6');
}

/** Creates the Service proxy in the configured mode. */
export function createProxier(deps: ProxierDeps): Proxier {
  const config: ProxyConfig = { ...defaultProxyConfig(), ...deps.config };
  const cidrs = config.clusterCIDRs.length ? config.clusterCIDRs : deps.podCidr ? [deps.podCidr] : [];
  const localCidrs = cidrs.filter((c) => parseCidr(c) !== undefined);
  const families: IPFamily[] =
    deps.ipFamilies ??
    (['IPv4', ...([...deps.nodeIPs, ...localCidrs].some((x) => x.includes(':')) && kernelHasIPv6() ? ['IPv6' as const] : [])] as IPFamily[]);
  const table = deps.table ?? DEFAULT_TABLE;
  const nft = deps.nft ?? new SpawnNftExecutor();
  let backend: ProxyBackend;
  if (config.mode === 'iptables') {
    backend = new IptablesBackend({
      iptables: deps.iptables ?? new AutoIptables({ onSelected: (kind) => deps.logger.info({ backend: kind }, 'iptables backend selected') }),
      logger: deps.logger,
      families,
      nodeName: deps.nodeName,
      masqueradeBit: config.masqueradeBit,
      masqueradeAll: config.masqueradeAll,
      localCidrs,
      nft,
      nftTable: table,
    });
  } else {
    backend = new NftBackend({
      nft,
      logger: deps.logger,
      families: families.map((f): Family => (f === 'IPv6' ? 'ip6' : 'ip')),
      table,
      nodeName: deps.nodeName,
      masqueradeBit: config.masqueradeBit,
      masqueradeAll: config.masqueradeAll,
      localCidrs,
      ...(deps.fullReconcileEvery !== undefined ? { fullReconcileEvery: deps.fullReconcileEvery } : {}),
      // A switch from iptables mode leaves SKIFF- chains behind; on a real host they are removed.
      ...(deps.iptables ? { iptables: [deps.iptables] } : deps.nft === undefined ? { iptables: [new SpawnIptables({ kind: 'legacy' }), new SpawnIptables({ kind: 'nft' })] } : {}),
    });
  }
  if (!localCidrs.length && !config.masqueradeAll) {
    deps.logger.warn('no clusterCIDR or podCIDR: traffic to cluster IPs from off-cluster sources is not masqueraded');
  }
  const real = deps.nft === undefined;
  const p = new ServiceProxy({
    logger: deps.logger,
    clock: deps.clock,
    backend,
    config,
    nodeName: deps.nodeName,
    nodeIPs: deps.nodeIPs,
    ...(deps.interfaceAddresses ? { interfaceAddresses: deps.interfaceAddresses } : real ? { interfaceAddresses: localInterfaceAddresses } : {}),
    ...(deps.conntrack ? { conntrack: deps.conntrack } : real ? { conntrack: new SpawnConntrack() } : {}),
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...((deps.serviceCIDRs ?? config.serviceCIDRs) ? { serviceCIDRs: deps.serviceCIDRs ?? config.serviceCIDRs } : {}),
    ...(deps.healthCheckServers !== undefined ? { healthCheckServers: deps.healthCheckServers } : {}),
    ...(deps.healthCheckBindAddresses ? { healthCheckBindAddresses: deps.healthCheckBindAddresses } : {}),
    ...(deps.onSync ? { onSync: deps.onSync } : {}),
  });
  return {
    get mode() {
      return p.mode;
    },
    health: p.health,
    onServiceUpsert: (svc) => p.onServiceUpsert(svc),
    onServiceDelete: (svc) => p.onServiceDelete(svc),
    onEndpointSliceUpsert: (s) => p.onEndpointSliceUpsert(s),
    onEndpointSliceDelete: (s) => p.onEndpointSliceDelete(s),
    onEndpointsUpsert: (e) => p.onEndpointsUpsert(e),
    onEndpointsDelete: (e) => p.onEndpointsDelete(e),
    onSynced: () => p.onSynced(),
    setNodeIPs: (ips) => p.setNodeIPs(ips),
    setNodeEligible: (e) => p.setNodeEligible(e),
    start: (signal) => p.start(signal),
    stop: () => p.stop(),
    cleanup: () => p.cleanup(),
    syncNow: () => p.syncNow(),
  };
}
