/**
 * Node status: computes the status kubelet's setters would (addresses, capacity/allocatable,
 * nodeInfo, daemon endpoints, images, conditions), registers the node first when needed, and
 * posts the status as a strategic merge patch of `nodes/<name>/status`.
 *
 * ```
 *   every nodeStatusUpdateFrequency (10 s), or at once when the runtime's health changes:
 *     not registered? ── registerWithBackoff (100 ms … 7 s) ──┐
 *                                                              ▼
 *     up to 5 tries: GET node → compute status → changed (ignoring heartbeats)
 *                    or nodeStatusReportFrequency (5 min) elapsed? → PATCH status
 *                    404 → the Node is gone: register again on the next round
 * ```
 *
 * Deviation (deliberate): when the Node object is deleted while the agent runs, kubelet 1.32
 * keeps failing its status updates until it is restarted; Skiff registers the node again.
 */
import type { ContainerImage, Node, NodeStatus } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage, isAborted } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { KUBELET_VERSION, goArch } from '../../lib/version.js';
import { Nodes, isApiNotFound, type KubeClient } from '../../lib/kube/index.js';
import type { AgentConfig } from '../config/index.js';
import type { EventRecorder } from '../events/index.js';
import type { Image, Runtime } from '../runtime/index.js';
import { computeConditions, conditionsChanged, OWNED_CONDITIONS, type ConditionEvent } from './conditions.js';
import { detectNodeAddresses, readMachineInfo, readNodeUsage, type FactsSource } from './facts.js';
import type { NodeCache } from './node-cache.js';
import { PressureTracker } from './pressure.js';
import { computeResources, parseThresholds } from './resources.js';
import { buildInitialNode, registerWithBackoff } from './register.js';
import type { RuntimeHealth } from './runtime-health.js';
import { buildStatusPatch, statusChanged } from './status-patch.js';

/** Most images reported in `status.images` (kubelet's nodeStatusMaxImages). */
export const MAX_IMAGES_IN_STATUS = 50;
/** Most names reported per image. */
export const MAX_NAMES_PER_IMAGE = 5;
const NODE_STATUS_UPDATE_RETRY = 5;
const IMAGE_LIST_TTL_MS = 30_000;
const RUNTIME_CALL_TIMEOUT_MS = 5_000;

/** Options of {@link NodeStatusManager}. */
export interface NodeStatusOptions {
  config: AgentConfig;
  client: KubeClient;
  runtime: Pick<Runtime, 'version' | 'listImages'>;
  health: Pick<RuntimeHealth, 'runtimeErrors' | 'networkErrors'>;
  events: EventRecorder;
  cache: NodeCache;
  clock: Clock;
  logger: Logger;
  facts: FactsSource;
  /** evictionPressureTransitionPeriod; default 5 min. */
  pressureTransitionPeriodMs?: number;
  /** Called once, after the first successful registration. */
  onRegistered?: (node: Node) => void;
}

/** The node's images as status reports them: largest first, at most 50, at most 5 names each. */
export function imagesForStatus(images: readonly Image[]): ContainerImage[] {
  return [...images]
    .sort((a, b) => (b.size ?? 0) - (a.size ?? 0))
    .slice(0, MAX_IMAGES_IN_STATUS)
    .map((img) => ({ names: [...(img.repoDigests ?? []), ...(img.repoTags ?? [])].slice(0, MAX_NAMES_PER_IMAGE), sizeBytes: img.size }));
}

function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimer(ms, () => reject(new Error(`${what} timed out after ${ms} ms`)));
    p.then(
      (v) => {
        t.cancel();
        resolve(v);
      },
      (e) => {
        t.cancel();
        reject(e);
      },
    );
  });
}

/** Registers the node and keeps its status up to date. */
export class NodeStatusManager {
  private registered = false;
  private everRegistered = false;
  private lastReportAt = -Infinity;
  private runtimeName?: string;
  private images?: { at: number; list: ContainerImage[] };
  private readonly pressure: PressureTracker;
  private readonly log: Logger;
  private ac?: AbortController;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pendingKick = false;

  constructor(private readonly opts: NodeStatusOptions) {
    this.pressure = new PressureTracker(parseThresholds(opts.config.evictionHard), opts.pressureTransitionPeriodMs);
    this.log = opts.logger.child({ component: 'node-status' });
  }

  /** True once the node has been registered (or `registerNode` is off). */
  isRegistered(): boolean {
    return this.registered;
  }

  /** Computes the status the node should have, given the current Node (if any). */
  async desiredStatus(previous: Node | undefined): Promise<{ status: NodeStatus; events: ConditionEvent[]; warnings: { reason: string; message: string }[] }> {
    const { config, clock } = this.opts;
    const now = clock.now();
    const info = await readMachineInfo(this.opts.facts);
    const usage = await readNodeUsage(this.opts.facts);
    const addresses = await detectNodeAddresses({ ...this.opts.facts, nodeIPs: config.nodeIPs, hostname: config.nodeName });
    const { capacity, allocatable } = computeResources(info, config);

    let runtimeVersion = 'Unknown';
    try {
      const v = await withTimeout(this.opts.runtime.version(), RUNTIME_CALL_TIMEOUT_MS, clock, 'runtime Version');
      this.runtimeName = v.runtimeName;
      runtimeVersion = v.runtimeVersion;
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'cannot get runtime version');
    }
    const images = await this.imageList(now);

    const warnings: { reason: string; message: string }[] = [];
    const prevBoot = previous?.status?.nodeInfo?.bootID;
    if (prevBoot && info.bootID && prevBoot !== info.bootID) {
      warnings.push({ reason: 'Rebooted', message: `Node ${config.nodeName} has been rebooted, boot id: ${info.bootID}` });
    }

    const missing = ['cpu', 'memory', 'pods', 'ephemeral-storage'].filter((r) => !(r in capacity));
    const notReady = [...this.opts.health.runtimeErrors(), ...this.opts.health.networkErrors()];
    if (missing.length > 0) notReady.push(`missing node capacity for resources: ${missing.join(', ')}`);
    const { conditions, events } = computeConditions(previous?.status?.conditions, {
      now,
      pressure: this.pressure.observe(usage, now),
      notReadyReasons: notReady,
    });

    const status: NodeStatus = {
      capacity,
      allocatable,
      conditions,
      addresses,
      daemonEndpoints: { kubeletEndpoint: { Port: config.server.port } },
      nodeInfo: {
        machineID: info.machineID,
        systemUUID: info.systemUUID,
        bootID: info.bootID,
        kernelVersion: info.kernelVersion,
        osImage: info.osImage,
        containerRuntimeVersion: `${this.runtimeName ?? 'Unknown'}://${runtimeVersion}`,
        kubeletVersion: KUBELET_VERSION,
        // kubelet 1.31+ leaves this empty (DisableNodeKubeProxyVersion); Skiff runs its own
        // Service proxy in the same binary, so the version is true and is reported.
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
    if (images.length > 0) status.images = images;
    return { status, events, warnings };
  }

  /** The Node to register (`initialNode`). */
  async initialNode(): Promise<{ node: Node; events: ConditionEvent[] }> {
    const { status, events } = await this.desiredStatus(undefined);
    return { node: buildInitialNode(this.opts.config, status), events };
  }

  /** One round: register if needed, then update the status. Never throws but on abort. */
  async sync(signal?: AbortSignal): Promise<void> {
    const { config } = this.opts;
    if (!this.registered) {
      if (config.registerNode) {
        let events: ConditionEvent[] = [];
        const node = await registerWithBackoff({
          client: this.opts.client,
          initialNode: async () => {
            const r = await this.initialNode();
            events = r.events;
            return r.node;
          },
          clock: this.opts.clock,
          logger: this.log,
          signal,
        });
        this.opts.cache.observe(node);
        this.recordConditionEvents(events);
        this.registered = true;
        if (!this.everRegistered) {
          this.everRegistered = true;
          this.opts.onRegistered?.(node);
        }
      } else {
        this.registered = true;
      }
    }
    await this.updateNodeStatus(signal);
  }

  /** Up to 5 attempts to post the status; errors are logged. */
  private async updateNodeStatus(signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < NODE_STATUS_UPDATE_RETRY; i++) {
      try {
        await this.tryUpdateNodeStatus(signal);
        return;
      } catch (err) {
        if (isAborted(err) || signal?.aborted) throw err;
        if (isApiNotFound(err) && this.opts.config.registerNode) {
          this.log.warn({ node: this.opts.config.nodeName }, 'node object is gone; registering it again');
          this.registered = false;
          this.kick();
          return;
        }
        this.log.error({ err: errorMessage(err) }, 'error updating node status, will retry');
      }
    }
    this.log.error({}, 'update node status exceeds retry count');
  }

  private async tryUpdateNodeStatus(signal?: AbortSignal): Promise<void> {
    const { client, config, clock } = this.opts;
    const node = await client.get<Node>(Nodes, undefined, config.nodeName, { signal });
    this.opts.cache.observe(node);
    const { status, events, warnings } = await this.desiredStatus(node);
    const now = clock.now();
    const changed = statusChanged(node.status, status, conditionsChanged(node.status?.conditions, status.conditions));
    if (!changed && now - this.lastReportAt < config.nodeStatusReportFrequencyMs) return;
    const patch = buildStatusPatch(node.status, status, OWNED_CONDITIONS);
    const updated = await client.patch<Node>(Nodes, undefined, config.nodeName, 'strategic', patch, { subresource: 'status', signal });
    this.lastReportAt = now;
    this.opts.cache.observe(updated);
    this.recordConditionEvents(events);
    for (const w of warnings) this.opts.events.event(this.nodeRef(), 'Warning', w.reason, w.message);
  }

  private async imageList(now: number): Promise<ContainerImage[]> {
    if (this.images && now - this.images.at < IMAGE_LIST_TTL_MS) return this.images.list;
    try {
      const list = imagesForStatus(await withTimeout(this.opts.runtime.listImages(), RUNTIME_CALL_TIMEOUT_MS, this.opts.clock, 'runtime ListImages'));
      this.images = { at: now, list };
    } catch (err) {
      // kubelet serves the image list from a cache refreshed in the background: a failed
      // refresh keeps the previous list.
      this.log.debug({ err: errorMessage(err) }, 'cannot list images');
    }
    return this.images?.list ?? [];
  }

  /** The reference kubelet puts on node Events (its uid is the node name, as kubelet's nodeRef). */
  nodeRef(): { kind: string; metadata: { name: string; uid: string } } {
    return { kind: 'Node', metadata: { name: this.opts.config.nodeName, uid: this.opts.config.nodeName } };
  }

  private recordConditionEvents(events: readonly ConditionEvent[]): void {
    for (const e of events) {
      this.opts.events.event(this.nodeRef(), e.type, e.reason, `Node ${this.opts.config.nodeName} status is now: ${e.reason}`);
    }
  }

  /** Asks for a status round now (coalesced with one in progress). */
  kick(): void {
    this.pendingKick = true;
    this.wake?.();
  }

  /** Starts the loop: a round at once, then every nodeStatusUpdateFrequency or on {@link kick}. */
  start(signal?: AbortSignal): void {
    if (this.loop) return;
    const ac = (this.ac = new AbortController());
    if (signal?.aborted) ac.abort();
    else signal?.addEventListener('abort', () => ac.abort(), { once: true });
    this.loop = (async () => {
      while (!ac.signal.aborted) {
        this.pendingKick = false;
        try {
          await this.sync(ac.signal);
        } catch (err) {
          if (ac.signal.aborted || isAborted(err)) return;
          this.log.error({ err: errorMessage(err) }, 'node status sync failed');
        }
        if (this.pendingKick) continue;
        if (ac.signal.aborted) return;
        await new Promise<void>((resolve) => {
          const timer = this.opts.clock.setTimer(this.opts.config.nodeStatusUpdateFrequencyMs, done);
          const onAbort = (): void => done();
          ac.signal.addEventListener('abort', onAbort, { once: true });
          this.wake = done;
          function done(): void {
            timer.cancel();
            ac.signal.removeEventListener('abort', onAbort);
            resolve();
          }
        });
        this.wake = undefined;
      }
    })();
  }

  /** Stops the loop. */
  async stop(): Promise<void> {
    this.ac?.abort();
    await this.loop;
    this.loop = undefined;
  }
}
