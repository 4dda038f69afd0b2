/**
 * The Service proxy (kube-proxy's job, inside the agent): it watches Services and
 * EndpointSlices and programs a Skiff-owned nftables table, `table ip skiff`, so that a
 * ClusterIP:port reached from the host or from pods lands on a ready endpoint chosen at
 * random. See `layout.ts` for the ruleset and why it scales, `nft/` for the nft plumbing
 * (executor, FakeNft, packet tracer).
 *
 * ```ts
 * const proxier = createProxier({ logger, clock: realClock, nft: new SpawnNftExecutor(),
 *   config: parseKubeProxyConfiguration(text), nodeName, nodeIPs, podCidr });
 * informer.on('add', proxier.onServiceUpsert) …
 * proxier.start(signal);
 * ```
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Clock } from '../../lib/clock.js';
import { InvalidInputError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { defaultProxyConfig, type ProxyConfig } from './config.js';
import { SpawnNftExecutor, type NftExecutor } from './nft/executor.js';
import { NftProxier, type SyncResult } from './proxier.js';

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
export type { Transaction } from './nft/diff.js';
export type { TableState, Family } from './nft/ruleset.js';
export type { SyncResult } from './proxier.js';
export { DEFAULT_TABLE } from './proxier.js';
export type { ServicePortInfo, EndpointInfo, ServicePortState, Protocol } from './model.js';
export { SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL } from './tracker.js';

/** What {@link createProxier} needs. */
export interface ProxierDeps {
  logger: Logger;
  clock: Clock;
  /** How nft is run; defaults to spawning `nft` on this host. */
  nft?: NftExecutor;
  /** Parsed configuration; fields left out take upstream defaults. */
  config?: Partial<ProxyConfig>;
  /** This node's name (EndpointSlice `nodeName`), for node-local endpoints. */
  nodeName: string;
  /** This node's addresses, for NodePorts. */
  nodeIPs: string[];
  /** The node's pod CIDR (`spec.podCIDR`), used when `clusterCIDR` is not configured. */
  podCidr?: string;
  /** Table name; defaults to `skiff`. Tests use their own names. */
  table?: string;
}

/** The proxier's face: event entry points (wire informers here) and lifecycle. */
export interface Proxier {
  /** A Service was added or updated. */
  onServiceUpsert(svc: Service): void;
  /** A Service was deleted. */
  onServiceDelete(svc: Service): void;
  /** An EndpointSlice was added or updated. */
  onEndpointSliceUpsert(slice: EndpointSlice): void;
  /** An EndpointSlice was deleted. */
  onEndpointSliceDelete(slice: EndpointSlice): void;
  /** Starts syncing (first sync at once, reconciling any existing table); stops on abort. */
  start(signal?: AbortSignal): void;
  /** Stops syncing, waiting for an in-flight sync. Leaves the table in place. */
  stop(): Promise<void>;
  /** Stops syncing and deletes Skiff's table. Touches no other table. */
  cleanup(): Promise<void>;
  /** Syncs now (after any in-flight sync) and reports what it applied. */
  syncNow(): Promise<SyncResult>;
}

/**
 * Creates the Service proxy. Throws {@link InvalidInputError} (`field: 'mode'`) for
 * `mode: iptables`, which is reserved for a later backend.
 */
export function createProxier(deps: ProxierDeps): Proxier {
  const config: ProxyConfig = { ...defaultProxyConfig(), ...deps.config };
  if (config.mode !== 'nftables') {
    throw new InvalidInputError(`mode: proxy mode ${config.mode} is not implemented yet (use nftables)`, { field: 'mode' });
  }
  const p = new NftProxier({
    logger: deps.logger,
    clock: deps.clock,
    nft: deps.nft ?? new SpawnNftExecutor(),
    config,
    nodeName: deps.nodeName,
    nodeIPs: deps.nodeIPs,
    ...(deps.podCidr ? { podCidr: deps.podCidr } : {}),
    ...(deps.table ? { table: deps.table } : {}),
  });
  return {
    onServiceUpsert: (svc) => p.onServiceUpsert(svc),
    onServiceDelete: (svc) => p.onServiceDelete(svc),
    onEndpointSliceUpsert: (s) => p.onEndpointSliceUpsert(s),
    onEndpointSliceDelete: (s) => p.onEndpointSliceDelete(s),
    start: (signal) => p.start(signal),
    stop: () => p.stop(),
    cleanup: () => p.cleanup(),
    syncNow: () => p.syncNow(),
  };
}
export { startProxySources, SERVICE_LABEL_SELECTOR, SLICE_LABEL_SELECTOR, type ProxySources } from './sources.js';
