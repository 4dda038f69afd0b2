/**
 * The pod manager: wires the pod source, admission, the pod workers and their syncer, the
 * PLEG, the status manager, housekeeping (orphans) and garbage collection into the agent's
 * pod lifecycle (kubelet's `syncLoop` and `HandlePod*`).
 *
 * Start-up order, which makes adoption after an agent restart safe:
 * 1. the pod informer lists this node's pods (nothing is touched before that);
 * 2. the runtime is relisted until it answers;
 * 3. pods are admitted in creation order — those that already have runtime objects are
 *    adopted without admission checks — and handed to their workers, which find their
 *    sandboxes and containers through the labels and keep them (no restart, restart counts
 *    from the annotations);
 * 4. the PLEG, orphan cleanup (every 2 s) and garbage collection (every minute) start.
 */
import { mkdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import type { ConfigMap, Node, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import type { Clock, Timer } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { ConfigMaps, Informer, Secrets, Services, isApiNotFound, type KubeClient } from '../../lib/kube/index.js';
import { parseQuantity } from '../../lib/units/index.js';
import type { AgentConfig } from '../config/index.js';
import type { EventRecorder } from '../events/index.js';
import { LABELS, type Runtime } from '../runtime/index.js';
import type { ProbeResults } from './actions.js';
import { admitPod } from './admission/index.js';
import { containerResources, createPodCgroupManager, qosClass } from './cgroups/index.js';
import type { HookRunner, PodAdmitter, PodCgroups, PodProbes, PodVolumes } from './deps.js';
import type { ConfigSource } from './env.js';
import { GarbageCollector } from './gc.js';
import { ImageManager } from './images/index.js';
import { runHandler } from './lifecycle-hooks/index.js';
import { OrphanCleaner } from './orphans.js';
import { Pleg } from './pleg.js';
import { createProbeManager } from './probes/index.js';
import { createProviders, type PodProviders } from './providers.js';
import { RuntimeObserver } from './runtime-state.js';
import { serviceEnvMap } from './service-env.js';
import { PodSource } from './source.js';
import { PodStatusCompat, StatusManager, parseServerVersion } from './status/index.js';
import { PodSyncer } from './syncer.js';
import { containerMounts, createVolumeManager, writeEtcHosts } from './volumes/index.js';
import { PodWorkers } from './workers.js';
import { dirname, join } from 'node:path';

/** kubelet's buckets for `kubelet_pod_start_duration_seconds`. */
const POD_START_BUCKETS = [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600];

/** Options of {@link createPodManager}. */
export interface PodManagerOptions {
  config: AgentConfig;
  client: KubeClient;
  runtime: Runtime;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** This node as last seen (allocatable, addresses, taints); undefined before registration. */
  node: () => Node | undefined;
  /** Registry to observe `kubelet_pod_start_duration_seconds` into. */
  metrics?: Registry;
  /** Collaborators; the defaults are the agent's own (volumes/, cgroups/, probes/, …). */
  volumes?: PodVolumes;
  cgroups?: PodCgroups;
  probes?: PodProbes;
  runHook?: HookRunner;
  admit?: PodAdmitter;
  /**
   * Where the legacy log symlinks go. Default: `containers/` beside `podLogsDir`, which is
   * kubelet's fixed /var/log/containers for the default /var/log/pods (kubelet does not
   * derive it; here a relocated podLogsDir takes the symlinks along).
   */
  containerLogsDir?: string;
  /** PLEG relist period (default 1 s). */
  plegIntervalMs?: number;
  /** Orphan cleanup period (default 2 s, kubelet's housekeeping). */
  housekeepingIntervalMs?: number;
  /** Garbage collection period (default 1 min). */
  gcIntervalMs?: number;
  random?: () => number;
  /**
   * The apiserver's `/version` (its `gitVersion`), so that pod status leaves out fields an
   * older server does not know (`status/compat.ts`). Default: `GET /version` through `client`
   * when it can send raw GETs (the `RestClient`); otherwise such fields are learned from the
   * server's errors.
   */
  serverVersion?: (signal?: AbortSignal) => Promise<{ gitVersion?: string; minor?: string }>;
}

/** The pod lifecycle core of the agent. */
export interface PodManager {
  /**
   * Starts watching pods. Resolves once the pod informer has synced; adoption and the
   * workers follow as soon as the runtime answers (see {@link PodManager.ready}).
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Resolves once existing pods were handed to their workers. */
  ready(): Promise<void>;
  /** Stops everything the manager started (containers keep running). */
  stop(): Promise<void>;
  /** For the kubelet API server. */
  readonly providers: PodProviders;
  /** Pods admitted and not terminated, with their current status. */
  runningPods(): Pod[];
  /** Waits until no worker has work in hand and every status was sent (tests). */
  settle(): Promise<void>;
  /** Runs orphan cleanup and garbage collection once (tests, and the periodic loops). */
  housekeeping(opts?: { gc?: boolean }): Promise<void>;
}

/** The node's IPs: InternalIP addresses first, else ExternalIP, at most one per family; else the configured ones. */
export function nodeHostIPs(node: Node | undefined, configured: readonly string[]): string[] {
  const addrs = node?.status?.addresses ?? [];
  const pick = (type: string): string[] => addrs.filter((a) => a.type === type).map((a) => a.address);
  let ips = pick('InternalIP');
  if (ips.length === 0) ips = pick('ExternalIP');
  if (ips.length === 0) ips = [...configured];
  const out: string[] = [];
  const v4 = ips.find((ip) => !ip.includes(':'));
  const v6 = ips.find((ip) => ip.includes(':'));
  const first = ips[0];
  if (first) out.push(first);
  const other = first?.includes(':') ? v4 : v6;
  if (other) out.push(other);
  return out;
}

/** Creates the pod manager. */
export function createPodManager(o: PodManagerOptions): PodManager {
  return new Manager(o);
}

class Manager implements PodManager {
  readonly providers: PodProviders;
  private readonly log: Logger;
  private readonly runtimeObserver: RuntimeObserver;
  private readonly status: StatusManager;
  private readonly images: ImageManager;
  private readonly volumes: PodVolumes;
  private readonly cgroups: PodCgroups;
  private readonly probes: PodProbes;
  private readonly syncer: PodSyncer;
  private readonly workers: PodWorkers;
  private readonly source: PodSource;
  private readonly services: Informer<Service>;
  private readonly pleg: Pleg;
  private readonly orphans: OrphanCleaner;
  private readonly gc: GarbageCollector;
  private readonly admit: PodAdmitter;
  private readonly containerLogsDir: string;
  /** Liveness/startup failures past the threshold, by container id (the container must be restarted). */
  private readonly probeFailures = new Map<string, { uid: string; kind: 'liveness' | 'startup' }>();
  private readonly startDuration?: Histogram<string>;
  private runtimeName = 'containerd';
  private readonly compat = new PodStatusCompat();
  private dispatching = false;
  private readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private ac = new AbortController();
  private timers: Timer[] = [];
  private housekeepingChain: Promise<void> = Promise.resolve();
  private stopping?: Promise<void>;
  private lastGc = 0;

  constructor(private readonly o: PodManagerOptions) {
    const { config, clock, runtime, client } = o;
    this.log = o.logger.child({ component: 'pods' });
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
    this.containerLogsDir = o.containerLogsDir ?? join(dirname(config.podLogsDir), 'containers');
    this.runtimeObserver = new RuntimeObserver(runtime, this.log);
    this.status = new StatusManager({ client, clock, logger: this.log, compat: this.compat });
    this.images = new ImageManager({
      runtime,
      events: o.events,
      clock,
      logger: this.log,
      serializeImagePulls: config.serializeImagePulls,
      maxParallelImagePulls: config.maxParallelImagePulls,
    });
    this.volumes =
      o.volumes ??
      createVolumeManager({ rootDir: config.rootDir, client, nodeName: config.nodeName, logger: this.log, clock, nodeAllocatable: () => o.node()?.status?.allocatable as Record<string, string> | undefined });
    this.cgroups =
      o.cgroups ??
      createPodCgroupManager({ driver: config.cgroupDriver, cgroupRoot: config.cgroupRoot, enabled: config.cgroupsPerQOS, logger: this.log, clock, podPidsLimit: config.podPidsLimit });
    this.probes =
      o.probes ??
      createProbeManager({ runtime, clock, logger: this.log, events: o.events, podIP: (uid) => this.status.getStatus(uid)?.podIP });
    this.admit = o.admit ?? admitPod;
    if (o.metrics) {
      const existing = o.metrics.getSingleMetric('kubelet_pod_start_duration_seconds');
      this.startDuration =
        (existing as Histogram<string> | undefined) ??
        new Histogram({
          name: 'kubelet_pod_start_duration_seconds',
          help: '[ALPHA] Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
          buckets: POD_START_BUCKETS,
          registers: [o.metrics],
        });
    }

    this.services = new Informer<Service>(client, Services, { clock, logger: this.log });
    // Deviation: ConfigMaps and Secrets for the environment are read with a GET when a
    // container is created (kubelet's "Get" change-detection strategy, without its TTL
    // cache; its default is a watch per referenced object).
    const configSource: ConfigSource = {
      configMap: (ns, name) => this.getOrUndefined<ConfigMap>(ConfigMaps, ns, name),
      secret: (ns, name) => this.getOrUndefined<Secret>(Secrets, ns, name),
    };
    const probeResults: ProbeResults = {
      liveness: (id) => (this.probeFailures.get(id)?.kind === 'liveness' ? 'failure' : undefined),
      startup: (id) => (this.probeFailures.get(id)?.kind === 'startup' ? 'failure' : undefined),
    };

    this.syncer = new PodSyncer({
      podLogsDir: config.podLogsDir,
      containerLogsDir: this.containerLogsDir,
      clusterDNS: config.clusterDNS,
      clusterDomain: config.clusterDomain,
      resolvConf: config.resolvConf,
      runtime,
      observer: this.runtimeObserver,
      images: this.images,
      volumes: this.volumes,
      cgroups: this.cgroups,
      probes: this.probes,
      statusManager: this.status,
      events: o.events,
      clock,
      logger: this.log,
      configSource,
      serviceEnv: (ns, links) => (this.services.hasSynced() ? serviceEnvMap(this.services.list(), ns, links) : undefined),
      hostIPs: () => nodeHostIPs(o.node(), config.nodeIPs),
      nodeAllocatable: () => o.node()?.status?.allocatable as Record<string, string> | undefined,
      memoryCapacityBytes: () => {
        const m = o.node()?.status?.capacity?.memory;
        try {
          if (m) return parseQuantity(m as string);
        } catch {
          // fall through
        }
        return totalmem();
      },
      runtimeName: () => this.runtimeName,
      runHook: o.runHook ?? runHandler,
      containerMounts: (c, v, opts) => containerMounts(c, v, opts),
      writeEtcHosts: (pod, ips, dir, opts) => writeEtcHosts(pod, ips, dir, opts),
      containerResources: (pod, c, mem) => containerResources(pod, c, mem),
      qosClass: (pod) => qosClass(pod),
      probeResults,
      onPodRunning: (pod) => {
        const first = this.workers.firstSeenAt(pod.metadata?.uid ?? '');
        if (first !== undefined) this.startDuration?.observe((clock.now() - first) / 1000);
      },
    });

    this.workers = new PodWorkers({
      syncer: this.syncer,
      clock,
      logger: this.log,
      resyncIntervalMs: config.syncFrequencyMs,
      random: o.random,
      onForget: (uid) => {
        this.status.removePod(uid);
        this.runtimeObserver.forget(uid);
        for (const [id, f] of this.probeFailures) if (f.uid === uid) this.probeFailures.delete(id);
      },
    });

    this.source = new PodSource(
      { client, nodeName: config.nodeName, clock, logger: this.log },
      {
        onAdd: (pod) => this.dispatching && this.addPod(pod),
        onUpdate: (pod) => {
          if (!this.dispatching) return;
          if (this.workers.has(pod.metadata?.uid ?? '')) this.workers.update(pod);
          else this.addPod(pod);
        },
        onDelete: (pod) => this.dispatching && this.workers.update(pod, { deleted: true }),
        // Someone else (the node-lifecycle controller after an outage) may have changed the
        // status the agent wrote: write it again.
        onObserved: (pod) => this.dispatching && this.status.reconcile(pod),
      },
    );

    this.pleg = new Pleg({
      runtime,
      clock,
      logger: this.log,
      intervalMs: o.plegIntervalMs,
      onPodChange: (uid, fingerprint) => this.workers.wake(uid, fingerprint),
    });

    this.probes.onChange((ev) => {
      if (ev.restart && (ev.kind === 'liveness' || ev.kind === 'startup')) {
        const id = this.runningContainerId(ev.podUid, ev.container);
        if (id) this.probeFailures.set(id, { uid: ev.podUid, kind: ev.kind });
      }
      this.workers.wake(ev.podUid);
    });

    const isKnown = (uid: string): boolean => this.workers.has(uid) || !!this.source.get(uid);
    this.orphans = new OrphanCleaner({
      runtime,
      podLogsDir: config.podLogsDir,
      containerLogsDir: this.containerLogsDir,
      volumes: this.volumes,
      cgroups: this.cgroups,
      logger: this.log,
      isKnown,
    });
    this.gc = new GarbageCollector({
      runtime,
      podLogsDir: config.podLogsDir,
      containerLogsDir: this.containerLogsDir,
      volumes: this.volumes,
      cgroups: this.cgroups,
      logger: this.log,
      isKnown,
      isBusy: (uid) => this.workers.isBusy(uid),
    });

    this.providers = createProviders({
      runtime,
      podByName: (ns, name) => this.source.byName(ns, name),
      allPods: () => this.source.list(),
      statusOf: (uid) => this.status.getStatus(uid),
      plegHealthy: () => this.pleg.healthy(),
    });
  }

  async start(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    void this.learnServerVersion();
    try {
      this.runtimeName = (await this.o.runtime.version()).runtimeName || this.runtimeName;
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'runtime version unavailable; assuming containerd');
    }
    for (const d of [this.o.config.podLogsDir, this.containerLogsDir]) {
      try {
        await mkdir(d, { recursive: true, mode: 0o755 });
      } catch (err) {
        this.log.error({ err: errorMessage(err), dir: d }, 'cannot create a log directory');
      }
    }
    try {
      await this.cgroups.init();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'cannot set up the QoS cgroups');
    }
    this.source.start();
    this.services.start();
    await this.source.waitForSync(this.ac.signal);
    void this.adoptAndDispatch();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ac.abort();
      for (const t of this.timers) t.cancel();
      this.pleg.stop();
      this.probes.stop();
      await this.workers.stop();
      await Promise.all([this.source.stop(), this.services.stop()]);
      this.status.stop();
    })();
    return this.stopping;
  }

  runningPods(): Pod[] {
    return this.workers.activePods().map((p) => {
      const st = this.status.getStatus(p.metadata?.uid ?? '');
      return st ? { ...p, status: st } : p;
    });
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await this.workers.idle();
      await this.status.flush();
      await new Promise((r) => setImmediate(r));
      if (this.quiet()) return;
    }
  }

  housekeeping(opts: { gc?: boolean } = {}): Promise<void> {
    if (!this.dispatching) return Promise.resolve();
    // Runs are serialized: a caller waits for the run in progress, then gets its own.
    const run = this.housekeepingChain.then(() => this.housekeepingOnce(opts));
    this.housekeepingChain = run.catch(() => undefined);
    return run;
  }

  private async housekeepingOnce(opts: { gc?: boolean }): Promise<void> {
    const snap = await this.pleg.relist();
    if (!snap) return;
    await this.orphans.clean(snap);
    const alive = new Set(snap.containers.map((c) => c.id));
    for (const id of this.probeFailures.keys()) if (!alive.has(id)) this.probeFailures.delete(id);
    if (opts.gc) {
      const fresh = (await this.pleg.relist()) ?? snap;
      const report = await this.gc.collect(fresh);
      this.syncer.gc();
      this.log.debug({ ...report }, 'garbage collection done');
    }
  }

  /** Tells the status compat table which apiserver release it talks to (best effort, once). */
  private async learnServerVersion(): Promise<void> {
    const raw = this.o.client as KubeClient & { getRaw?: <T>(path: string, signal?: AbortSignal) => Promise<T> };
    const get = this.o.serverVersion ?? (typeof raw.getRaw === 'function' ? (s?: AbortSignal) => raw.getRaw!<{ gitVersion?: string; minor?: string }>('/version', s) : undefined);
    if (!get) return;
    try {
      const info = await get(this.ac.signal);
      const v = parseServerVersion(info.gitVersion, info.minor);
      if (!v) return;
      this.compat.setServerVersion(v);
      const dropped = this.compat.droppedFields();
      this.log.info({ serverVersion: info.gitVersion, ...(dropped.length ? { podStatusFieldsLeftOut: dropped } : {}) }, 'apiserver version');
    } catch (err) {
      // The apiserver may be away: unknown fields are then learned from its first refusal.
      this.log.debug({ err: errorMessage(err) }, 'cannot read the apiserver version');
    }
  }

  private quiet(): boolean {
    for (const uid of this.workers.uids()) if (this.workers.isBusy(uid) || !this.status.isSynced(uid)) return false;
    return true;
  }

  private async getOrUndefined<T>(type: typeof ConfigMaps, ns: string, name: string): Promise<T | undefined> {
    try {
      return await this.o.client.get<T & object>(type, ns, name);
    } catch (err) {
      if (isApiNotFound(err)) return undefined;
      throw err;
    }
  }

  private runningContainerId(uid: string, name: string): string | undefined {
    const pod = this.pleg.latest()?.byUid.get(uid);
    const c = pod?.containers
      .filter((x) => x.state === 'CONTAINER_RUNNING' && (x.labels?.[LABELS.containerName] ?? x.metadata?.name) === name)
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    return c?.id;
  }

  /** Waits for the runtime, then admits and dispatches the pods the informer listed. */
  private async adoptAndDispatch(): Promise<void> {
    let delay = 500;
    let snap = await this.pleg.relist();
    while (!snap && !this.ac.signal.aborted) {
      this.log.info({ retryInMs: delay }, 'waiting for the container runtime before syncing pods');
      try {
        await this.o.clock.sleep(delay, this.ac.signal);
      } catch {
        return;
      }
      delay = Math.min(delay * 2, 10_000);
      snap = await this.pleg.relist();
    }
    if (!snap) return;
    const pods = [...this.source.list()].sort((a, b) => {
      const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
      const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
      return ta - tb;
    });
    this.dispatching = true;
    const adopted = pods.filter((p) => snap!.byUid.has(p.metadata?.uid ?? ''));
    if (adopted.length) {
      const containers = adopted.reduce((n, p) => n + (snap!.byUid.get(p.metadata!.uid!)?.containers.filter((c) => c.state === 'CONTAINER_RUNNING').length ?? 0), 0);
      this.log.info({ pods: adopted.length, runningContainers: containers }, 'adopted pods already running in the runtime (nothing restarted)');
    }
    for (const pod of pods) this.addPod(pod, snap.byUid.has(pod.metadata?.uid ?? ''));
    this.pleg.start();
    this.every(this.o.housekeepingIntervalMs ?? 2000, async () => {
      const gcDue = this.o.clock.now() - this.lastGc >= (this.o.gcIntervalMs ?? 60_000);
      if (gcDue) this.lastGc = this.o.clock.now();
      await this.housekeeping({ gc: gcDue });
    });
    this.lastGc = this.o.clock.now();
    this.resolveReady();
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const tick = (): void => {
      if (this.ac.signal.aborted) return;
      const t = this.o.clock.setTimer(ms, () => {
        fn()
          .catch((err) => this.log.warn({ err: errorMessage(err) }, 'housekeeping failed'))
          .finally(tick);
      });
      this.timers = [t];
    };
    tick();
  }

  /** A pod seen for the first time: admit it (unless it already runs here) and give it a worker. */
  private addPod(pod: Pod, hasRuntimeObjects = false): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.workers.has(uid)) return this.workers.update(pod);
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (!terminal && !pod.metadata?.deletionTimestamp && !hasRuntimeObjects) {
      const node = this.o.node();
      if (node) {
        const r = this.admit(pod, { node, activePods: this.workers.activePods() });
        if (!r.admit) {
          this.log.info({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, reason: r.reason }, 'pod rejected at admission');
          this.workers.rejected(pod);
          this.syncer.reject(pod, r.reason, r.message);
          return;
        }
      }
    }
    this.workers.update(pod);
  }
}
