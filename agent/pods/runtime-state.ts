/**
 * What the runtime says about one pod, observed fresh on each sync (kubelet's
 * `GetPodStatus`): its sandboxes and containers, newest first, with the identity the agent
 * wrote into their labels and annotations. Status of exited containers never changes, so it
 * is cached by container id; a running container is re-read only when its listed state moves.
 */
import type { Logger } from '../../lib/log.js';
import {
  isNotFound,
  type ContainerState,
  type ContainerStatus,
  type Mount,
  type PodSandboxState,
  type PodSandboxStatus,
  type Runtime,
} from '../runtime/index.js';
import { containerIdentity, podSelector, type ContainerType } from './labels.js';
import { terminationMessage } from './termination-message.js';

/** One sandbox of a pod. */
export interface ObservedSandbox {
  id: string;
  attempt: number;
  state: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  /** Pod IPs (primary first); empty for host-network sandboxes and stopped ones. */
  ips: string[];
}

/** One container of a pod, as the runtime reports it. */
export interface ObservedContainer {
  id: string;
  sandboxId: string;
  name: string;
  type: ContainerType;
  attempt: number;
  state: ContainerState;
  /** Nanoseconds since the epoch (0 when not reached). */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  /** The image as the runtime names it (a repo tag). */
  image: string;
  /** The runtime's image reference (digest or id): the status' `imageID`. */
  imageRef: string;
  hash: string;
  restartCount: number;
  logPath: string;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
  mounts: Mount[];
}

/** The runtime's view of one pod. */
export interface PodRuntimeStatus {
  uid: string;
  /** Newest first. */
  sandboxes: ObservedSandbox[];
  /** Newest first (by creation time). */
  containers: ObservedContainer[];
  /** IPs of the newest sandbox when it is ready. */
  ips: string[];
  /** Ids and states of everything, comparable with the PLEG's relist fingerprint. */
  fingerprint: string;
}

/** Fingerprint of a pod's runtime objects: ids and states, sorted. */
export function fingerprintOf(sandboxes: { id: string; state: string }[], containers: { id: string; state: string }[]): string {
  const parts = [...sandboxes.map((s) => `s:${s.id}:${s.state}`), ...containers.map((c) => `c:${c.id}:${c.state}`)];
  parts.sort();
  return parts.join(',');
}

/** The newest container named `name` (`FindContainerStatusByName`). */
export function findContainer(status: PodRuntimeStatus, name: string, type?: ContainerType): ObservedContainer | undefined {
  return status.containers.find((c) => c.name === name && (type === undefined || c.type === type));
}

/** Containers of the pod in the running (or unknown) state. */
export function runningContainers(status: PodRuntimeStatus): ObservedContainer[] {
  return status.containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_UNKNOWN');
}

/** An empty status (nothing in the runtime). */
export function emptyRuntimeStatus(uid: string): PodRuntimeStatus {
  return { uid, sandboxes: [], containers: [], ips: [], fingerprint: '' };
}

function ipsOf(st: PodSandboxStatus): string[] {
  const ips: string[] = [];
  if (st.network?.ip) ips.push(st.network.ip);
  for (const a of st.network?.additionalIps ?? []) if (a.ip) ips.push(a.ip);
  return ips;
}

/** Reads pod statuses from the runtime, caching what cannot change. */
export class RuntimeObserver {
  private readonly containerCache = new Map<string, ContainerStatus>();
  private readonly sandboxCache = new Map<string, PodSandboxStatus>();
  private readonly idsByPod = new Map<string, Set<string>>();

  constructor(
    private readonly runtime: Runtime,
    private readonly logger: Logger,
  ) {}

  /** Observes the pod with `uid`. Throws what the runtime throws (e.g. `UnavailableError`). */
  async podStatus(uid: string): Promise<PodRuntimeStatus> {
    const selector = podSelector(uid);
    const [sandboxList, containerList] = await Promise.all([
      this.runtime.listPodSandbox({ labelSelector: selector }),
      this.runtime.listContainers({ labelSelector: selector }),
    ]);
    const seen = new Set<string>();

    const sandboxes: ObservedSandbox[] = [];
    const sorted = [...sandboxList].sort((a, b) => b.createdAt - a.createdAt || (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0));
    for (let i = 0; i < sorted.length; i++) {
      const s = sorted[i];
      seen.add(s.id);
      let ips: string[] = [];
      if (i === 0 && s.state === 'SANDBOX_READY') {
        let st = this.sandboxCache.get(s.id);
        if (!st || st.state !== 'SANDBOX_READY') {
          try {
            st = await this.runtime.podSandboxStatus(s.id);
            this.sandboxCache.set(s.id, st);
          } catch (err) {
            if (!isNotFound(err)) throw err;
            continue;
          }
        }
        ips = ipsOf(st);
      }
      sandboxes.push({ id: s.id, attempt: s.metadata?.attempt ?? 0, state: s.state, createdAt: s.createdAt, ips });
    }

    const containers: ObservedContainer[] = [];
    for (const c of containerList) {
      seen.add(c.id);
      let st = this.containerCache.get(c.id);
      if (!st || st.state !== c.state || c.state === 'CONTAINER_CREATED' || c.state === 'CONTAINER_UNKNOWN') {
        try {
          st = await this.runtime.containerStatus(c.id);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.containerCache.delete(c.id);
          continue;
        }
        if (st.state === 'CONTAINER_EXITED') st = await this.withTerminationMessage(st);
        if (st.state === 'CONTAINER_EXITED' || st.state === 'CONTAINER_RUNNING') this.containerCache.set(c.id, st);
      }
      const ident = containerIdentity(st.labels ?? c.labels, st.annotations ?? c.annotations);
      containers.push({
        id: st.id,
        sandboxId: c.podSandboxId,
        name: ident.containerName || st.metadata?.name || c.metadata?.name,
        type: ident.type,
        attempt: st.metadata?.attempt ?? c.metadata?.attempt ?? 0,
        state: st.state,
        createdAt: st.createdAt,
        startedAt: st.startedAt,
        finishedAt: st.finishedAt,
        exitCode: st.exitCode,
        reason: st.reason,
        message: st.message,
        image: st.image?.image ?? c.image?.image ?? '',
        imageRef: st.imageRef || c.imageRef,
        hash: ident.hash,
        restartCount: ident.restartCount,
        logPath: st.logPath,
        terminationMessagePath: ident.terminationMessagePath,
        terminationMessagePolicy: ident.terminationMessagePolicy,
        mounts: st.mounts ?? [],
      });
    }
    // Newest first; equal timestamps (float64 nanoseconds lose precision) fall back to the attempt.
    containers.sort((a, b) => b.createdAt - a.createdAt || b.attempt - a.attempt);

    // Drop cache entries of objects that disappeared.
    const before = this.idsByPod.get(uid);
    if (before) {
      for (const id of before) {
        if (!seen.has(id)) {
          this.containerCache.delete(id);
          this.sandboxCache.delete(id);
        }
      }
    }
    this.idsByPod.set(uid, seen);

    const ips = sandboxes[0]?.state === 'SANDBOX_READY' ? sandboxes[0].ips : [];
    this.logger.trace?.({ uid, sandboxes: sandboxes.length, containers: containers.length }, 'observed pod');
    return { uid, sandboxes, containers, ips, fingerprint: fingerprintOf(sandboxList, containerList) };
  }

  /** Appends the termination message (file or log tail) to an exited container's message. */
  private async withTerminationMessage(st: ContainerStatus): Promise<ContainerStatus> {
    const ident = containerIdentity(st.labels ?? {}, st.annotations ?? {});
    let msg = '';
    try {
      msg = await terminationMessage({
        terminationMessagePath: ident.terminationMessagePath,
        terminationMessagePolicy: ident.terminationMessagePolicy,
        exitCode: st.exitCode,
        reason: st.reason,
        mounts: st.mounts ?? [],
        logPath: st.logPath,
      });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message, id: st.id }, 'reading termination message failed');
    }
    if (!msg) return st;
    return { ...st, message: st.message ? `${st.message}: ${msg}` : msg };
  }

  /** Forgets cached entries of a pod. */
  forget(uid: string): void {
    for (const id of this.idsByPod.get(uid) ?? []) {
      this.containerCache.delete(id);
      this.sandboxCache.delete(id);
    }
    this.idsByPod.delete(uid);
  }
}
