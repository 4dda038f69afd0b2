/**
 * The agent's node: registration, node facts, status and conditions, the Lease heartbeat, and
 * pod CIDR → CNI config. Code outside `agent/node/` imports from here only.
 *
 * ```
 *   start(signal)
 *     ├─ Event Starting "Starting kubelet."
 *     ├─ RuntimeHealth: runtime.status() every 5 s ──(errors changed)──► status.kick()
 *     ├─ NodeStatusManager: register (backoff) → status every 10 s / on kick / report every 5 min
 *     │     └─ first registration → Event NodeAllocatableEnforced
 *     ├─ NodeLeaseController: kube-node-lease/<node>, renewed every 10 s
 *     └─ NodeCache (informer, metadata.name=<node>) ──► PodCidrSync (conflist + UpdateRuntimeConfig)
 *                                                   └─► onNodeChange listeners (pod admission…)
 * ```
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { KubeClient } from '../../lib/kube/index.js';
import type { AgentConfig } from '../config/index.js';
import type { EventRecorder } from '../events/index.js';
import type { Runtime } from '../runtime/index.js';
import type { FactsSource } from './facts.js';
import { NodeLeaseController } from './lease.js';
import { NodeCache, type NodeChangeListener } from './node-cache.js';
import { PodCidrSync } from './pod-cidr.js';
import { RuntimeHealth } from './runtime-health.js';
import { NodeStatusManager } from './status.js';

export { readMachineInfo, readNodeUsage, detectNodeAddresses, defaultRouteInterface, NodeFactsError, type MachineInfo, type NodeUsage, type FactsSource, type HugePagePool } from './facts.js';
export { computeResources, parseThresholds, type ResourceList, type Threshold } from './resources.js';
export { NodeLeaseController, NODE_LEASE_NAMESPACE, microTime, type NodeLeaseOptions } from './lease.js';
export { RuntimeHealth, type RuntimeHealthOptions } from './runtime-health.js';
export { PodCidrSync, podCidrsOf, type PodCidrSyncOptions } from './pod-cidr.js';
export { buildInitialNode, reconcilePatch, CONTROLLER_MANAGED_ATTACH_ANNOTATION } from './register.js';
export { computeConditions, aggregateMessage, metaTime } from './conditions.js';
export { NodeStatusManager, imagesForStatus, type NodeStatusOptions } from './status.js';
export type { NodeChangeListener } from './node-cache.js';

/** Dependencies of {@link createNodeManager}. */
export interface NodeManagerOptions {
  config: AgentConfig;
  client: KubeClient;
  runtime: Runtime;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** Prefix for /proc, /sys and /etc (tests point it at a fixture dir); default `/`. */
  factsRoot?: string;
  /** More overrides of how facts are read (cpu count, interfaces, the filesystem path). */
  facts?: Omit<FactsSource, 'root'>;
  /** Runtime poll period; default 5 s. */
  runtimeHealthIntervalMs?: number;
  /** Random source for the lease jitter; default Math.random. */
  random?: () => number;
}

/** The node subsystem, as the rest of the agent sees it. */
export interface NodeManager {
  /** Starts registration, status, lease, runtime health and pod CIDR sync in the background. */
  start(signal?: AbortSignal): void;
  /** Stops every loop and the Node watch. */
  stop(): Promise<void>;
  /** The newest known Node object (deep-frozen), or undefined before registration. */
  node(): Node | undefined;
  /** Resolves with the Node as soon as it is known. */
  waitForNode(signal?: AbortSignal): Promise<Node>;
  /** Subscribes to Node changes (e.g. allocatable, labels, spec.podCIDR); returns an unsubscribe function. */
  onNodeChange(cb: NodeChangeListener): () => void;
  /** True once the node is registered and its Node object is known. */
  ready(): boolean;
  /** The pod CIDR(s) applied to the runtime, comma-joined, or undefined. */
  podCIDR(): string | undefined;
  /** The Lease controller (tests, diagnostics). */
  readonly lease: NodeLeaseController;
  /** The status manager (tests, diagnostics). */
  readonly status: NodeStatusManager;
  /** The runtime health checker (tests, diagnostics). */
  readonly health: RuntimeHealth;
}

/** Wires the node subsystem. Nothing runs until {@link NodeManager.start}. */
export function createNodeManager(opts: NodeManagerOptions): NodeManager {
  const { config, client, runtime, events, clock } = opts;
  const logger = opts.logger.child({ component: 'node', node: config.nodeName });
  const facts: FactsSource = { fsPath: config.rootDir, ...(opts.facts ?? {}), root: opts.factsRoot ?? '/' };
  const cache = new NodeCache({ client, nodeName: config.nodeName, clock, logger });
  const health = new RuntimeHealth({ runtime, clock, logger, intervalMs: opts.runtimeHealthIntervalMs });
  const nodeRef = { kind: 'Node', metadata: { name: config.nodeName, uid: config.nodeName } };
  const status = new NodeStatusManager({
    config,
    client,
    runtime,
    health,
    events,
    cache,
    clock,
    logger,
    facts,
    onRegistered: () => {
      // kubelet's container manager records this once node allocatable is in force.
      events.event(nodeRef, 'Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    },
  });
  const lease = new NodeLeaseController({
    client,
    nodeName: config.nodeName,
    leaseDurationSeconds: config.nodeLeaseDurationSeconds,
    clock,
    logger,
    currentNodeUid: () => cache.get()?.metadata?.uid,
    random: opts.random,
  });
  const podCidr = new PodCidrSync({ confDir: config.cni.confDir, dataDir: config.cni.dataDir, fallbackCidr: config.podCIDR, runtime, clock, logger });
  const unsubscribers: (() => void)[] = [];
  let started = false;

  return {
    lease,
    status,
    health,
    start(signal?: AbortSignal): void {
      if (started) return;
      started = true;
      events.event(nodeRef, 'Normal', 'Starting', 'Starting kubelet.');
      unsubscribers.push(health.onChange(() => status.kick()));
      unsubscribers.push(cache.onChange((n) => podCidr.update(n)));
      // The configured podCIDR applies at once while no Node is known.
      podCidr.update(undefined);
      cache.start();
      health.start(signal);
      status.start(signal);
      lease.start(signal);
    },
    async stop(): Promise<void> {
      for (const u of unsubscribers.splice(0)) u();
      podCidr.stop();
      await Promise.all([status.stop(), lease.stop(), health.stop(), cache.stop()]);
    },
    node: () => cache.get(),
    waitForNode: (signal) => cache.waitFor(signal),
    onNodeChange: (cb) => cache.onChange(cb),
    ready: () => status.isRegistered() && cache.get() !== undefined,
    podCIDR: () => podCidr.current(),
  };
}
