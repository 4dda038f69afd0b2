/**
 * `startControllers`: the companion control plane's kube-controller-manager. One set of
 * shared informers, the controllers named in `controllers` (all by default), workers started
 * once the informers have synced.
 */
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { KubeClient } from '../../lib/kube/client.js';
import type { Logger } from '../../lib/log.js';
import type { Controller, ControllerContext } from './common/context.js';
import { createRecorder, type EventRecorder } from './common/events.js';
import { SharedInformers } from './common/informers.js';
import { ReplicaSetController } from './replicaset/controller.js';
import { DeploymentController } from './deployment/controller.js';
import { EndpointSliceController } from './endpointslice/controller.js';
import { EndpointsController } from './endpoints/controller.js';
import { NodeIpamController } from './nodeipam/controller.js';
import { GarbageCollector } from './garbagecollector/controller.js';
import { NamespaceController } from './namespace/controller.js';
import { ServiceAccountController } from './serviceaccount/controller.js';
import { NodeLifecycleController } from './nodelifecycle/controller.js';
import { PodGcController } from './podgc/controller.js';

/** Names of the controllers {@link startControllers} can run (kube's `--controllers`). */
export const CONTROLLER_NAMES = [
  'replicaset',
  'deployment',
  'endpointslice',
  'endpoint',
  'nodeipam',
  'garbagecollector',
  'namespace',
  'serviceaccount',
  'nodelifecycle',
  'podgc',
] as const;

/** One of {@link CONTROLLER_NAMES}. */
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** Options of {@link startControllers}. */
export interface ControllersOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** Pod network (`--cluster-cidr`), e.g. `10.244.0.0/16`. Without it node IPAM does not run. */
  clusterCidr?: string;
  /** Prefix length of each node's pod CIDR (`--node-cidr-mask-size`, default 24). */
  nodeCidrMaskSize?: number;
  /** Controllers to run; default all. */
  controllers?: readonly ControllerName[];
  /** Node lifecycle: `--node-monitor-grace-period` in ms (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** Node lifecycle: `--node-monitor-period` in ms (default 5 s). */
  nodeMonitorPeriodMs?: number;
  /** Node lifecycle: evict pods that do not tolerate NoExecute taints (default true). */
  taintEviction?: boolean;
  /** Pod GC: `--terminated-pod-gc-threshold` (default 12500; 0 disables). */
  terminatedPodGcThreshold?: number;
  /** Pod GC: check period in ms (default 20 s). */
  podGcPeriodMs?: number;
  /** Pod GC: how long a pod's node must stay missing before its pods go (default 40 s). */
  podGcQuarantineMs?: number;
  /** Replaces the API event recorder (tests). */
  recorder?: EventRecorder;
}

/** The running controller manager. */
export interface RunningControllers {
  /** Stops every controller and informer. */
  stop(): Promise<void>;
  /** Resolves once the informers synced and the workers run. */
  readonly ready: Promise<void>;
  /** The running controllers, by name. */
  readonly controllers: ReadonlyMap<string, Controller>;
}

/** Starts the controllers. */
export function startControllers(opts: ControllersOptions): RunningControllers {
  const logger = opts.logger.child({ component: 'kube-controller-manager' });
  const informers = new SharedInformers(opts.client, opts.clock, logger);
  const ctx: ControllerContext = {
    client: opts.client,
    clock: opts.clock,
    logger,
    informers,
    recorder: (component) => createRecorder({ client: opts.client, clock: opts.clock, logger, component, recorder: opts.recorder }),
  };
  const enabled = new Set<string>(opts.controllers ?? CONTROLLER_NAMES);
  const controllers = new Map<string, Controller>();
  const add = (c: Controller): void => void controllers.set(c.name, c);
  if (enabled.has('replicaset')) add(new ReplicaSetController(ctx));
  if (enabled.has('deployment')) add(new DeploymentController(ctx));
  if (enabled.has('endpointslice')) add(new EndpointSliceController(ctx));
  if (enabled.has('endpoint')) add(new EndpointsController(ctx));
  if (enabled.has('nodeipam')) {
    if (opts.clusterCidr) add(new NodeIpamController(ctx, { clusterCidr: opts.clusterCidr, nodeCidrMaskSize: opts.nodeCidrMaskSize }));
    else if (opts.controllers?.includes('nodeipam')) logger.warn('nodeipam needs clusterCidr; not started');
  }
  if (enabled.has('garbagecollector')) add(new GarbageCollector(ctx));
  if (enabled.has('namespace')) add(new NamespaceController(ctx));
  if (enabled.has('serviceaccount')) add(new ServiceAccountController(ctx));
  if (enabled.has('nodelifecycle')) {
    add(
      new NodeLifecycleController(ctx, {
        gracePeriodMs: opts.nodeMonitorGracePeriodMs,
        monitorPeriodMs: opts.nodeMonitorPeriodMs,
        taintEviction: opts.taintEviction,
      }),
    );
  }
  if (enabled.has('podgc')) {
    add(new PodGcController(ctx, { terminatedPodThreshold: opts.terminatedPodGcThreshold, periodMs: opts.podGcPeriodMs, quarantineMs: opts.podGcQuarantineMs }));
  }

  const ac = new AbortController();
  informers.start();
  const ready = informers.waitForSync(ac.signal).then(
    () => {
      if (ac.signal.aborted) return;
      for (const c of controllers.values()) c.start();
      logger.info({ controllers: [...controllers.keys()] }, 'controllers started');
    },
    (err: unknown) => {
      if (!ac.signal.aborted) logger.error({ err: errorMessage(err) }, 'informers did not sync');
    },
  );
  return {
    ready,
    controllers,
    async stop() {
      ac.abort();
      await Promise.all([...controllers.values()].map((c) => c.stop()));
      await informers.stop();
    },
  };
}
