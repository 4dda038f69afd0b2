/**
 * The pod syncer: what one pod worker does on each turn (kubelet's `SyncPod`,
 * `SyncTerminatingPod` and `SyncTerminatedPod`, with kuberuntime's `SyncPod` inside).
 *
 * - `sync` observes the runtime, computes the actions (`actions.ts`), runs them (kill what
 *   must go, create the sandbox, start init containers in order, then app containers, with
 *   CrashLoopBackOff and image pull backoff), observes again and reports the status. The
 *   waiting reasons it reports are the outcome of this very sync.
 * - `syncTerminating` runs preStop hooks and stops every container within the grace
 *   period, then the sandbox, and reports the terminal status.
 * - `syncTerminated` removes what a deleted pod leaves behind (containers, sandboxes, logs,
 *   volumes, cgroup) and lets the status manager confirm the deletion to the apiserver.
 *
 * A runtime that is unavailable makes any of them throw `UnavailableError` before anything
 * is killed or any status is reported; the worker retries later.
 *
 * Deviations from kubelet, on purpose:
 * - the status is reported after this sync's actions, from a second look at the runtime
 *   (kubelet reports what it saw before acting and catches up on the next sync, after the
 *   PLEG noticed); a new pod reaches Running/Ready in one sync;
 * - waiting reasons come from this sync only (kubelet keeps a per-container reason cache
 *   across syncs); every sync of a non-running container attempts it again, so they agree;
 * - a deleted pod's containers and sandboxes are removed by `syncTerminated` before the
 *   deletion is confirmed (kubelet leaves them to the garbage collector);
 * - a pod that finished on its own keeps its volumes until it is deleted, with its exited
 *   containers, so termination messages and logs stay readable (kubelet unmounts them).
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Container, Pod, PodStatus, Secret } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { AbortedError, SkiffError, errorMessage, hasCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { EventRecorder } from '../events/index.js';
import type { PodSandboxConfig, Runtime } from '../runtime/index.js';
import type { MountedVolume } from './volumes/index.js';
import {
  computePodActions,
  isHostNetwork,
  isRestartableInit,
  type ContainerToKill,
  type KillReason,
  type ProbeResults,
} from './actions.js';
import { FlowBackoff } from './backoff.js';
import { generateContainerConfig } from './container-config.js';
import type {
  ContainerMountsFn,
  ContainerResourcesFn,
  EtcHostsWriter,
  HookRunner,
  PodCgroups,
  PodProbes,
  PodVolumes,
  QosClassFn,
} from './deps.js';
import { parseResolvConf, podDnsConfig, type HostResolvConf } from './dns.js';
import { isEnvError, makeEnvironment, type ConfigSource } from './env.js';
import { ImageError, credentialsFor, formatGoDuration, isImageError, type ImageManager } from './images/index.js';
import type { ContainerType } from './labels.js';
import { ensureLogSymlink, legacyLogSymlink } from './log-links.js';
import { findContainer, runningContainers, type ObservedContainer, type PodRuntimeStatus, type RuntimeObserver } from './runtime-state.js';
import { generateSandboxConfig, podLogDirectory } from './sandbox-config.js';
import { generatePodStatus, type ContainerReasonEntry, type StatusManager } from './status/index.js';

/** kubelet's CrashLoopBackOff: 10 s doubling to 300 s (`MaxContainerBackOff`). */
export const CRASHLOOP_BACKOFF_INITIAL_MS = 10_000;
/** Longest CrashLoopBackOff delay. */
export const CRASHLOOP_BACKOFF_MAX_MS = 300_000;
/** kubelet never gives a container less than this to stop (`minimumGracePeriodInSeconds`). */
export const MINIMUM_GRACE_PERIOD_SECONDS = 2;
/** Default `terminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

/** A sync step failed in a way worth retrying (sandbox creation, volumes, …). */
export class PodSyncError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_POD_SYNC', message, options);
  }
}

/** kubelet's `format.Pod`: `name_namespace(uid)`. */
export function formatPod(pod: Pod): string {
  return `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${pod.metadata?.uid ?? ''})`;
}

/** The Event field path of a container. */
export function containerFieldPath(pod: Pod, name: string): string {
  const init = (pod.spec?.initContainers ?? []).some((c) => c.name === name);
  return init ? `spec.initContainers{${name}}` : `spec.containers{${name}}`;
}

/** The outcome of one `sync`. */
export interface SyncOutcome {
  /** The pod reached a terminal phase (Succeeded/Failed): terminate it. */
  terminal: boolean;
  /** A backoff ends then: sync again at that time (ms since the epoch). */
  wakeAt?: number;
  /** Something failed that is not a backoff: retry with the worker's backoff. */
  failed: boolean;
  /** Runtime fingerprint of the pod at the end of the sync (see the PLEG). */
  fingerprint: string;
  /** The status reported. */
  status?: PodStatus;
}

/** Per-call context of the syncer's methods. */
export interface SyncContext {
  signal: AbortSignal;
}

/** What the syncer needs. */
export interface SyncerOptions {
  podLogsDir: string;
  /** `/var/log/containers`. */
  containerLogsDir: string;
  clusterDNS: readonly string[];
  clusterDomain: string;
  /** Host resolv.conf path; '' for none. */
  resolvConf: string;
  runtime: Runtime;
  observer: RuntimeObserver;
  images: ImageManager;
  volumes: PodVolumes;
  cgroups: PodCgroups;
  probes: PodProbes;
  statusManager: StatusManager;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  configSource: ConfigSource;
  /** Service variables for a namespace, undefined until Services were listed. */
  serviceEnv(namespace: string, enableServiceLinks: boolean): ReadonlyMap<string, string> | undefined;
  hostIPs(): string[];
  nodeAllocatable(): Record<string, string> | undefined;
  memoryCapacityBytes(): number;
  /** Prefix of container IDs in the status (`containerd`). */
  runtimeName(): string;
  runHook: HookRunner;
  containerMounts: ContainerMountsFn;
  writeEtcHosts: EtcHostsWriter;
  containerResources: ContainerResourcesFn;
  qosClass: QosClassFn;
  /** Liveness/startup results by container id (for kills). */
  probeResults: ProbeResults;
  /** Called the first time the pod's status shows phase Running. */
  onPodRunning?(pod: Pod): void;
}

function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError('pod sync superseded');
}

function isUnavailable(err: unknown): boolean {
  return hasCode(err, 'SKIFF_UNAVAILABLE');
}

/** Longest restart count found in a container's log directory, + 1 (`calcRestartCountByLogDir`). */
async function restartCountFromLogDir(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let max = -1;
  for (const n of names) {
    const m = /^(\d+)\.log(?:\..*)?$/.exec(n);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** Runs sync / syncTerminating / syncTerminated for pods. */
export class PodSyncer {
  private readonly crashBackoff: FlowBackoff;
  private readonly runningReported = new Set<string>();
  private hostResolv?: { at: number; conf: HostResolvConf | undefined };

  constructor(private readonly o: SyncerOptions) {
    this.crashBackoff = new FlowBackoff(o.clock, CRASHLOOP_BACKOFF_INITIAL_MS, CRASHLOOP_BACKOFF_MAX_MS);
  }

  // ---- sync --------------------------------------------------------------------------

  /** One sync of a running pod. */
  async sync(pod: Pod, ctx: SyncContext): Promise<SyncOutcome> {
    const uid = pod.metadata?.uid ?? '';
    const rt0 = await this.o.observer.podStatus(uid);
    checkAbort(ctx.signal);
    const wakeAts: number[] = [];

    // activeDeadlineSeconds (kubelet's activeDeadlineHandler): past it, the pod fails.
    const deadline = this.activeDeadline(pod);
    if (deadline !== undefined) {
      if (this.o.clock.now() >= deadline) {
        const message = 'Pod was active on the node longer than the specified deadline';
        this.o.events.event(pod, 'Normal', 'DeadlineExceeded', message);
        const status = this.report(pod, rt0, new Map(), false, { reason: 'DeadlineExceeded', message });
        return { terminal: true, failed: false, fingerprint: rt0.fingerprint, status };
      }
      wakeAts.push(deadline);
    }

    const actions = computePodActions(pod, rt0, this.o.probeResults);
    const reasons = new Map<string, ContainerReasonEntry>();
    let failed = false;
    let acted = false;

    // A brand-new pod shows Pending/ContainerCreating before the slow part starts (kubelet
    // reports before every sync; here only this first one, to spare the apiserver).
    if (actions.createSandbox && rt0.sandboxes.length === 0 && rt0.containers.length === 0) {
      this.report(pod, rt0, reasons, false);
    }

    if (actions.killPod) {
      if (actions.createSandbox && actions.sandboxId) {
        this.o.events.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      }
      acted = (await this.killPod(pod, rt0, undefined, ctx.signal)) || acted;
      if (actions.createSandbox) acted = (await this.purgeInitContainers(pod, rt0)) || acted;
    } else {
      for (const k of actions.containersToKill) {
        await this.killContainer(pod, rt0, k, undefined, k.message, k.reason, ctx.signal);
        acted = true;
      }
      acted = (await this.pruneInitContainers(pod, rt0)) || acted;
    }

    const needsStart = actions.createSandbox || actions.initContainersToStart.length > 0 || actions.containersToStart.length > 0;
    if (needsStart) {
      checkAbort(ctx.signal);
      let volumes;
      try {
        volumes = await this.o.volumes.setUp(pod, ctx.signal);
      } catch (err) {
        if (hasCode(err, 'SKIFF_ABORTED')) throw err;
        this.o.events.event(pod, 'Warning', 'FailedMount', errorMessage(err));
        throw new PodSyncError(`volumes of pod ${formatPod(pod)}: ${errorMessage(err)}`, { cause: err });
      }
      const cgroupParent = await this.o.cgroups.ensurePod(pod);
      checkAbort(ctx.signal);

      let sandboxId = actions.sandboxId;
      let podIPs = rt0.ips;
      const sandboxConfig = await this.sandboxConfig(pod, actions.attempt, cgroupParent, actions.createSandbox);
      if (actions.createSandbox) {
        await mkdir(sandboxConfig.logDirectory!, { recursive: true, mode: 0o755 });
        try {
          sandboxId = await this.o.runtime.runPodSandbox(sandboxConfig);
        } catch (err) {
          if (isUnavailable(err)) throw err;
          this.o.events.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errorMessage(err)}`);
          throw new PodSyncError(`creating the sandbox of ${formatPod(pod)}: ${errorMessage(err)}`, { cause: err });
        }
        acted = true;
        try {
          const st = await this.o.runtime.podSandboxStatus(sandboxId);
          podIPs = [st.network?.ip ?? '', ...(st.network?.additionalIps ?? []).map((a) => a.ip)].filter(Boolean);
        } catch (err) {
          if (isUnavailable(err)) throw err;
          this.o.events.event(pod, 'Warning', 'FailedStatusPodSandBox', `Unable to get pod sandbox status: ${errorMessage(err)}`);
          throw new PodSyncError(`sandbox status of ${formatPod(pod)}: ${errorMessage(err)}`, { cause: err });
        }
      }
      if (isHostNetwork(pod)) podIPs = this.o.hostIPs();
      checkAbort(ctx.signal);

      const podDir = this.o.volumes.podDir(uid);
      const etcHostsPath = podIPs.length > 0 ? await this.o.writeEtcHosts(pod, podIPs, podDir, { clusterDomain: this.o.clusterDomain }) : undefined;
      const start = {
        pod,
        rt: rt0,
        sandboxId,
        sandboxConfig,
        podIPs,
        volumes,
        etcHostsPath,
        reasons,
        wakeAts,
        signal: ctx.signal,
      };

      const inits = pod.spec?.initContainers ?? [];
      for (const idx of actions.initContainersToStart) {
        checkAbort(ctx.signal);
        const c = inits[idx];
        const ok = await this.startContainer(start, c, 'init');
        acted = true;
        if (!ok && !isRestartableInit(c)) break;
      }
      const apps = pod.spec?.containers ?? [];
      for (const idx of actions.containersToStart) {
        checkAbort(ctx.signal);
        await this.startContainer(start, apps[idx], 'container');
        acted = true;
      }
    }

    for (const r of reasons.values()) if (r.reason !== 'CrashLoopBackOff' && r.reason !== 'ImagePullBackOff' && r.reason !== 'ErrImagePull') failed = true;
    const rt1 = acted ? await this.o.observer.podStatus(uid) : rt0;
    const status = this.report(pod, rt1, reasons, false);
    this.syncProbes(pod, rt1);
    if (status.phase === 'Running' && !this.runningReported.has(uid)) {
      this.runningReported.add(uid);
      this.o.onPodRunning?.(pod);
    }
    const wakeAt = wakeAts.length ? Math.min(...wakeAts) : undefined;
    return { terminal: status.phase === 'Succeeded' || status.phase === 'Failed', wakeAt, failed, fingerprint: rt1.fingerprint, status };
  }

  /** Marks a pod the node refused (`rejectPod`): an Event and a Failed status. */
  reject(pod: Pod, reason: string, message: string): void {
    this.o.events.event(pod, 'Warning', reason, message);
    this.o.statusManager.setStatus(pod, {
      phase: 'Failed',
      reason,
      message: `Pod was rejected: ${message}`,
      qosClass: this.o.qosClass(pod),
    });
  }

  // ---- termination ------------------------------------------------------------------------

  /**
   * Stops the pod: preStop hooks and containers within `gracePeriodSeconds`, then the
   * sandbox; reports the terminal status.
   */
  async syncTerminating(pod: Pod, gracePeriodSeconds: number, ctx: SyncContext): Promise<SyncOutcome> {
    const uid = pod.metadata?.uid ?? '';
    const rt0 = await this.o.observer.podStatus(uid);
    this.report(pod, rt0, new Map(), false);
    await this.killPod(pod, rt0, gracePeriodSeconds, ctx.signal);
    const rt1 = await this.o.observer.podStatus(uid);
    const still = runningContainers(rt1);
    if (still.length) throw new PodSyncError(`pod ${formatPod(pod)} still has running containers: ${still.map((c) => c.name).join(', ')}`);
    this.o.probes.removePod(uid);
    const status = this.report(pod, rt1, new Map(), true);
    return { terminal: true, failed: false, fingerprint: rt1.fingerprint, status };
  }

  /**
   * Cleans up a terminated pod. With `deleted` (deletionTimestamp set, or gone from the
   * API) containers, sandboxes, logs and volumes go and the deletion is confirmed; a pod
   * that finished on its own keeps its exited containers (logs) and stays in the API.
   */
  async syncTerminated(pod: Pod, deleted: boolean, stillInApi: boolean, rejected = false): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const rt = await this.o.observer.podStatus(uid);
    // A rejected pod keeps the status it was rejected with (kubelet never syncs it).
    if (stillInApi && !rejected) this.report(pod, rt, new Map(), true);
    if (deleted) {
      for (const c of rt.containers) {
        await this.o.runtime.removeContainer(c.id);
        await this.removeLogSymlink(pod, c);
      }
      for (const s of rt.sandboxes) await this.o.runtime.removePodSandbox(s.id);
      await rm(podLogDirectory(this.o.podLogsDir, pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', uid), { recursive: true, force: true });
      await this.o.volumes.tearDown(uid);
    }
    await this.o.cgroups.removePod(uid, pod.status?.qosClass ?? this.o.qosClass(pod));
    this.o.probes.removePod(uid);
    if (deleted) {
      this.o.observer.forget(uid);
      this.o.images.forgetPod(uid);
      this.crashBackoff.resetPrefix(`${pod.metadata?.name}_${pod.metadata?.namespace}_${uid}_`);
      this.runningReported.delete(uid);
      if (stillInApi && pod.metadata?.deletionTimestamp) this.o.statusManager.requestDeletion(pod);
    }
  }

  /** Drops expired backoff entries. */
  gc(): void {
    this.crashBackoff.gc();
    this.o.images.gc();
  }

  // ---- pieces -----------------------------------------------------------------------------

  /** When the pod's `activeDeadlineSeconds` runs out (ms), counted from its start time. */
  private activeDeadline(pod: Pod): number | undefined {
    const secs = pod.spec?.activeDeadlineSeconds;
    if (secs === undefined || secs === null) return undefined;
    const start = this.o.statusManager.getStatus(pod.metadata?.uid ?? '')?.startTime ?? pod.status?.startTime;
    const startMs = start ? Date.parse(start) : this.o.clock.now();
    return startMs + secs * 1000;
  }

  private report(
    pod: Pod,
    rt: PodRuntimeStatus,
    reasons: ReadonlyMap<string, ContainerReasonEntry>,
    podIsTerminal: boolean,
    evict?: { reason: string; message: string },
  ): PodStatus {
    const uid = pod.metadata?.uid ?? '';
    const status = generatePodStatus({
      pod,
      runtime: rt,
      oldStatus: this.o.statusManager.getStatus(uid),
      reasons,
      podIsTerminal,
      hostIPs: this.o.hostIPs(),
      probes: {
        readiness: (name) => this.o.probes.readiness(uid, name),
        started: (name) => this.o.probes.started(uid, name),
      },
      runtimeName: this.o.runtimeName(),
      qosClass: this.o.qosClass(pod),
    });
    if (evict) {
      // An internal module asked for the pod to go (kubelet's PodSyncHandlers.ShouldEvict).
      status.phase = 'Failed';
      status.reason = evict.reason;
      status.message = evict.message;
    }
    this.o.statusManager.setStatus(pod, status);
    return this.o.statusManager.getStatus(uid) ?? status;
  }

  private syncProbes(pod: Pod, rt: PodRuntimeStatus): void {
    const running = new Map<string, { containerId: string; startedAt: number }>();
    for (const c of rt.containers) {
      if (c.state !== 'CONTAINER_RUNNING' || running.has(c.name)) continue;
      running.set(c.name, { containerId: c.id, startedAt: Math.floor(c.startedAt / 1e6) });
    }
    this.o.probes.syncPod(pod, running);
  }

  private async hostResolvConf(): Promise<HostResolvConf | undefined> {
    if (!this.o.resolvConf) return undefined;
    const now = this.o.clock.now();
    if (this.hostResolv && now - this.hostResolv.at < 60_000) return this.hostResolv.conf;
    let conf: HostResolvConf | undefined;
    try {
      conf = parseResolvConf(await readFile(this.o.resolvConf, 'utf8'));
    } catch (err) {
      this.o.logger.warn({ err: errorMessage(err), path: this.o.resolvConf }, 'cannot read resolv.conf');
      conf = { servers: [], searches: [], options: [] };
    }
    this.hostResolv = { at: now, conf };
    return conf;
  }

  private async sandboxConfig(pod: Pod, attempt: number, cgroupParent: string, recordWarning: boolean): Promise<PodSandboxConfig> {
    const dns = podDnsConfig({
      pod,
      clusterDNS: this.o.clusterDNS,
      clusterDomain: this.o.clusterDomain,
      host: await this.hostResolvConf(),
      nodeIPs: this.o.hostIPs(),
    });
    if (dns.warning && recordWarning) this.o.events.event(pod, 'Warning', dns.warning.reason, dns.warning.message);
    return generateSandboxConfig({ pod, attempt, podLogsDir: this.o.podLogsDir, dns: dns.config, cgroupParent: cgroupParent || undefined });
  }

  /** Grace period of a container kill (`setTerminationGracePeriod`). */
  private killGrace(pod: Pod, spec: Container | undefined, reason: KillReason | undefined): number {
    if (pod.metadata?.deletionGracePeriodSeconds !== undefined && pod.metadata.deletionGracePeriodSeconds !== null) {
      return pod.metadata.deletionGracePeriodSeconds;
    }
    if (reason === 'startup' && spec?.startupProbe?.terminationGracePeriodSeconds != null) return spec.startupProbe.terminationGracePeriodSeconds;
    if (reason === 'liveness' && spec?.livenessProbe?.terminationGracePeriodSeconds != null) return spec.livenessProbe.terminationGracePeriodSeconds;
    return pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  }

  private specOf(pod: Pod, name: string): Container | undefined {
    return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
  }

  /**
   * Kills one container: `Killing` event, preStop hook within the grace period, then
   * `StopContainer` with what remains of it (at least 2 s).
   */
  private async killContainer(
    pod: Pod,
    rt: PodRuntimeStatus,
    k: Pick<ContainerToKill, 'id' | 'name' | 'container'>,
    gracePeriodOverride: number | undefined,
    message: string | undefined,
    reason: KillReason | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const spec = k.container ?? this.specOf(pod, k.name);
    const grace = gracePeriodOverride ?? this.killGrace(pod, spec, reason);
    if (spec) this.o.events.event(pod, 'Normal', 'Killing', message ?? `Stopping container ${k.name}`, containerFieldPath(pod, k.name));
    let remaining = grace;
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && grace > 0) {
      const started = this.o.clock.now();
      try {
        await this.o.runHook(preStop, {
          pod,
          containerId: k.id,
          podIP: rt.ips[0],
          runtime: this.o.runtime,
          timeoutSeconds: grace,
          signal,
          container: spec,
          clock: this.o.clock,
          events: this.o.events,
        });
      } catch (err) {
        if (isUnavailable(err)) throw err;
        this.o.events.event(pod, 'Warning', 'FailedPreStopHook', errorMessage(err), containerFieldPath(pod, k.name));
      }
      // Deviation: kubelet gives StopContainer the whole grace override again after the
      // hook; here the hook's time is taken out of the grace period, as the API documents.
      remaining = grace - Math.ceil((this.o.clock.now() - started) / 1000);
    }
    await this.o.runtime.stopContainer(k.id, Math.max(MINIMUM_GRACE_PERIOD_SECONDS, remaining));
  }

  /** Kills every running container (in parallel), then stops the ready sandboxes. Returns whether it did anything. */
  private async killPod(pod: Pod, rt: PodRuntimeStatus, gracePeriodOverride: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    const running = runningContainers(rt);
    const results = await Promise.allSettled(running.map((c) => this.killContainer(pod, rt, c, gracePeriodOverride, undefined, undefined, signal)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failures) if (isUnavailable(f.reason)) throw f.reason;
    if (failures.length) throw new PodSyncError(`killing containers of ${formatPod(pod)}: ${errorMessage(failures[0].reason)}`, { cause: failures[0].reason });
    let acted = running.length > 0;
    for (const s of rt.sandboxes) {
      if (s.state !== 'SANDBOX_READY') continue;
      await this.o.runtime.stopPodSandbox(s.id);
      acted = true;
    }
    return acted;
  }

  /** Removes every init container, so a new sandbox runs them all again (`purgeInitContainers`). */
  private async purgeInitContainers(pod: Pod, rt: PodRuntimeStatus): Promise<boolean> {
    let acted = false;
    for (const c of rt.containers) {
      if (c.type !== 'init') continue;
      await this.o.runtime.removeContainer(c.id);
      await this.removeLogSymlink(pod, c);
      acted = true;
    }
    if (acted) rt.containers = rt.containers.filter((c) => c.type !== 'init');
    return acted;
  }

  /** Keeps only the newest exited instance of each init container (`pruneInitContainersBeforeStart`). */
  private async pruneInitContainers(pod: Pod, rt: PodRuntimeStatus): Promise<boolean> {
    const seen = new Set<string>();
    const removed = new Set<string>();
    for (const c of rt.containers) {
      if (c.type !== 'init' || c.state !== 'CONTAINER_EXITED') continue;
      if (!seen.has(c.name)) {
        seen.add(c.name);
        continue;
      }
      await this.o.runtime.removeContainer(c.id);
      await this.removeLogSymlink(pod, c);
      removed.add(c.id);
    }
    if (removed.size) rt.containers = rt.containers.filter((c) => !removed.has(c.id));
    return removed.size > 0;
  }

  private async removeLogSymlink(pod: Pod, c: ObservedContainer): Promise<void> {
    const link = legacyLogSymlink(this.o.containerLogsDir, pod.metadata?.name ?? '', pod.metadata?.namespace ?? '', c.name, c.id);
    await rm(link, { force: true });
  }

  private async pullSecrets(pod: Pod): Promise<Secret[]> {
    const out: Secret[] = [];
    for (const ref of pod.spec?.imagePullSecrets ?? []) {
      if (!ref.name) continue;
      try {
        const s = await this.o.configSource.secret(pod.metadata?.namespace ?? '', ref.name);
        if (s) out.push(s);
      } catch (err) {
        this.o.logger.debug({ err: errorMessage(err), secret: ref.name }, 'cannot read image pull secret');
      }
    }
    return out;
  }

  /** Starts one container; false (with the reason recorded) when it could not. */
  private async startContainer(
    s: {
      pod: Pod;
      rt: PodRuntimeStatus;
      sandboxId: string;
      sandboxConfig: PodSandboxConfig;
      podIPs: string[];
      volumes: Map<string, MountedVolume>;
      etcHostsPath: string | undefined;
      reasons: Map<string, ContainerReasonEntry>;
      wakeAts: number[];
      signal: AbortSignal;
    },
    container: Container,
    type: ContainerType,
  ): Promise<boolean> {
    const { pod } = s;
    const uid = pod.metadata?.uid ?? '';
    const name = container.name;
    const fieldPath = containerFieldPath(pod, name);
    const ev = (t: 'Normal' | 'Warning', reason: string, message: string): void => this.o.events.event(pod, t, reason, message, fieldPath);
    const fail = (reason: string, message: string): false => {
      s.reasons.set(name, { reason, message });
      return false;
    };

    // CrashLoopBackOff (`doBackOff`): measured from when the last instance finished.
    const last = findContainer(s.rt, name);
    if (last && last.state === 'CONTAINER_EXITED') {
      const key = `${pod.metadata?.name}_${pod.metadata?.namespace}_${uid}_${name}_${last.hash}`;
      const finishedAt = Math.floor(last.finishedAt / 1e6);
      if (this.crashBackoff.isInBackOffSince(key, finishedAt)) {
        ev('Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${formatPod(pod)}`);
        const until = this.crashBackoff.expiresAt(key, finishedAt);
        if (until !== undefined) s.wakeAts.push(until);
        return fail('CrashLoopBackOff', `back-off ${formatGoDuration(this.crashBackoff.get(key))} restarting failed container=${name} pod=${formatPod(pod)}`);
      }
      this.crashBackoff.next(key, finishedAt);
    }

    // Image.
    let imageRef: string;
    try {
      const auths = pod.spec?.imagePullSecrets?.length ? credentialsFor(container.image ?? '', await this.pullSecrets(pod)) : [];
      imageRef = (await this.o.images.ensureImageExists({ pod, container, fieldPath, sandboxConfig: s.sandboxConfig, auths, signal: s.signal })).imageRef;
    } catch (err) {
      if (!isImageError(err)) throw err;
      ev('Warning', 'Failed', `Error: ${err.reason}`);
      const until = this.o.images.backoffExpiresAt(uid, container.image ?? '');
      if (until !== undefined && (err.reason === 'ErrImagePull' || err.reason === 'ImagePullBackOff')) s.wakeAts.push(until);
      return fail(err.reason, err.message);
    }
    checkAbort(s.signal);

    const restartCount = last
      ? last.restartCount + 1
      : await restartCountFromLogDir(join(s.sandboxConfig.logDirectory ?? '', name));

    // Config: environment, mounts, resources.
    let config;
    try {
      const envs = await makeEnvironment({
        pod,
        container,
        podIPs: s.podIPs,
        hostIPs: this.o.hostIPs(),
        serviceEnv: this.o.serviceEnv(pod.metadata?.namespace ?? '', pod.spec?.enableServiceLinks ?? true),
        nodeAllocatable: this.o.nodeAllocatable(),
        source: this.o.configSource,
      });
      const envMap: Record<string, string> = {};
      for (const e of envs) envMap[e.key] = e.value;
      const mounts = this.o.containerMounts(container, s.volumes, { etcHostsPath: s.etcHostsPath, env: envMap });
      const termPath = container.terminationMessagePath ?? '/dev/termination-log';
      if (termPath && !mounts.some((m) => m.containerPath === termPath)) {
        const dir = join(this.o.volumes.podDir(uid), 'containers', name);
        await mkdir(dir, { recursive: true });
        const file = join(dir, randomBytes(4).toString('hex'));
        await writeFile(file, '');
        await chmod(file, 0o666);
        mounts.push({ containerPath: termPath, hostPath: file, readonly: false, selinuxRelabel: true });
      }
      config = generateContainerConfig({
        pod,
        container,
        type,
        restartCount,
        imageRef,
        envs,
        mounts,
        resources: this.o.containerResources(pod, container, this.o.memoryCapacityBytes()),
      });
    } catch (err) {
      if (isUnavailable(err) || hasCode(err, 'SKIFF_ABORTED')) throw err;
      if (!isEnvError(err) && !hasCode(err, 'SKIFF_VOLUME') && !(err instanceof ImageError)) {
        this.o.logger.warn({ err: errorMessage(err), pod: formatPod(pod), container: name }, 'container config failed');
      }
      const msg = errorMessage(err);
      ev('Warning', 'Failed', `Error: ${msg}`);
      return fail('CreateContainerConfigError', msg);
    }

    let id: string;
    try {
      id = await this.o.runtime.createContainer(s.sandboxId, config, s.sandboxConfig);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      ev('Warning', 'Failed', `Error: ${errorMessage(err)}`);
      return fail('CreateContainerError', errorMessage(err));
    }
    ev('Normal', 'Created', `Created container ${name}`);
    try {
      await this.o.runtime.startContainer(id);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      ev('Warning', 'Failed', `Error: ${errorMessage(err)}`);
      return fail('RunContainerError', errorMessage(err));
    }
    ev('Normal', 'Started', `Started container ${name}`);

    const logFile = join(s.sandboxConfig.logDirectory ?? '', config.logPath ?? '');
    try {
      await ensureLogSymlink(legacyLogSymlink(this.o.containerLogsDir, pod.metadata?.name ?? '', pod.metadata?.namespace ?? '', name, id), logFile);
    } catch (err) {
      this.o.logger.debug({ err: errorMessage(err), pod: formatPod(pod), container: name }, 'cannot create the container log symlink');
    }

    const postStart = container.lifecycle?.postStart;
    if (postStart) {
      try {
        await this.o.runHook(postStart, {
          pod,
          containerId: id,
          podIP: s.podIPs[0],
          runtime: this.o.runtime,
          timeoutSeconds: 0,
          signal: s.signal,
          container,
          clock: this.o.clock,
          events: this.o.events,
        });
      } catch (err) {
        if (isUnavailable(err)) throw err;
        // The hook's output stays out of the Event, so secrets do not leak (as kubelet).
        ev('Warning', 'FailedPostStartHook', 'PostStartHook failed');
        await this.killContainer(pod, s.rt, { id, name, container }, undefined, 'FailedPostStartHook', undefined, undefined);
        return fail('PostStartHookError', errorMessage(err));
      }
    }
    return true;
  }
}
