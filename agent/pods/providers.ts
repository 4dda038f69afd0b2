/**
 * What the kubelet API (`agent/server`) asks the pod core: the pods this agent runs, where a
 * container's log is, and which runtime container or sandbox backs a name. Errors carry the
 * HTTP status and kubelet's message (`container "web" in pod "p" is waiting to start:
 * ContainerCreating`).
 */
import type { ContainerStatus, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { InvalidInputError, NotFoundError, errorMessage, isNotFound } from '../../lib/errors.js';
import type { Runtime } from '../runtime/index.js';
import { podSelector } from './labels.js';

/** No such pod or container (HTTP 404); a `NotFoundError`, as the kubelet server expects. */
export class PodNotFoundError extends NotFoundError {
  readonly statusCode = 404;
}

/** Not possible in the container's state (HTTP 400); an `InvalidInputError`, as the kubelet server expects. */
export class PodRequestError extends InvalidInputError {
  readonly statusCode = 400;
}

/** A provider failure with its HTTP status. */
export type PodProviderError = PodNotFoundError | PodRequestError;

function providerError(statusCode: 400 | 404, message: string, options?: { cause?: unknown }): PodProviderError {
  return statusCode === 404 ? new PodNotFoundError(message, options) : new PodRequestError(message, options);
}

/** True for a provider failure. */
export function isPodProviderError(err: unknown): err is PodProviderError {
  return err instanceof PodNotFoundError || err instanceof PodRequestError;
}

/** Where to read a container's log. */
export interface ContainerLogTarget {
  /** Absolute path of the CRI log file. */
  path: string;
  containerId: string;
  /** Whether the container still runs (a follower stops when it does not). */
  isRunning(): Promise<boolean>;
}

/** The providers the kubelet API uses. */
export interface PodProviders {
  /** Pods bound to this node, with the status the agent last generated. */
  pods(): Pod[];
  /** The log of a container (`previous`: of its last terminated instance). */
  logs(namespace: string, pod: string, container: string, previous: boolean): Promise<ContainerLogTarget>;
  /** The running runtime container behind a container name (exec, attach); `uid` pins the pod. */
  container(namespace: string, pod: string, container: string, uid?: string): Promise<{ containerId: string }>;
  /** The ready sandbox of a pod (port-forward); `uid` pins the pod. */
  sandbox(namespace: string, pod: string, uid?: string): Promise<{ sandboxId: string }>;
  /** The sync loop's health (the PLEG relists in time): true, or why not. */
  syncLoopHealthy(): boolean | string;
}

/** What {@link createProviders} reads. */
export interface ProviderDeps {
  runtime: Runtime;
  /** The pod `namespace/name` as the API shows it. */
  podByName(namespace: string, name: string): Pod | undefined;
  /** Every pod bound to this node. */
  allPods(): Pod[];
  /** The status the agent last generated for a pod. */
  statusOf(uid: string): PodStatus | undefined;
  /** The PLEG relisted recently. */
  plegHealthy(): boolean;
}

function stripRuntime(id: string): string {
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/** kubelet's `validateContainerLogStatus`: the container id to read, or a 400 with its message. */
export function containerIdForLogs(podName: string, status: PodStatus, container: string, previous: boolean): string {
  const all: ContainerStatus[] = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])];
  const cs = all.find((s) => s.name === container);
  const q = JSON.stringify;
  if (!cs) throw providerError(400, `container ${q(container)} in pod ${q(podName)} is not available`);
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  if (previous) {
    if (!last?.containerID) throw providerError(400, `previous terminated container ${q(container)} in pod ${q(podName)} not found`);
    return stripRuntime(last.containerID);
  }
  if (running) return stripRuntime(cs.containerID ?? '');
  if (terminated) {
    if (terminated.containerID) return stripRuntime(terminated.containerID);
    if (last?.containerID) return stripRuntime(last.containerID);
    throw providerError(400, `container ${q(container)} in pod ${q(podName)} is terminated`);
  }
  if (last) {
    if (!last.containerID) throw providerError(400, `container ${q(container)} in pod ${q(podName)} is terminated`);
    return stripRuntime(last.containerID);
  }
  if (waiting) {
    if (waiting.reason === 'ErrImagePull') throw providerError(400, `container ${q(container)} in pod ${q(podName)} is waiting to start: image can't be pulled`);
    if (waiting.reason === 'ImagePullBackOff') throw providerError(400, `container ${q(container)} in pod ${q(podName)} is waiting to start: trying and failing to pull image`);
    throw providerError(400, `container ${q(container)} in pod ${q(podName)} is waiting to start: ${waiting.reason ?? ''}`);
  }
  throw providerError(400, `container ${q(container)} in pod ${q(podName)} is waiting to start - no logs yet`);
}

/** Builds the providers. */
export function createProviders(d: ProviderDeps): PodProviders {
  const podOrThrow = (namespace: string, name: string, uid?: string): Pod => {
    const pod = d.podByName(namespace, name);
    if (!pod || (uid && pod.metadata?.uid !== uid)) throw providerError(404, `pod ${JSON.stringify(name)} does not exist`);
    return pod;
  };
  return {
    pods() {
      return d.allPods().map((p) => {
        const st = d.statusOf(p.metadata?.uid ?? '');
        return st ? { ...p, status: st } : p;
      });
    },

    async logs(namespace, name, container, previous) {
      const pod = podOrThrow(namespace, name);
      const inSpec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].some((c) => c.name === container);
      if (!inSpec) throw providerError(404, `container ${JSON.stringify(container)} not found in pod ${JSON.stringify(name)}`);
      const status = d.statusOf(pod.metadata?.uid ?? '') ?? pod.status ?? {};
      const id = containerIdForLogs(name, status, container, previous);
      let path: string;
      try {
        path = (await d.runtime.containerStatus(id)).logPath;
      } catch (err) {
        throw providerError(400, `failed to get container status ${JSON.stringify(id)}: ${errorMessage(err)}`, { cause: err });
      }
      return {
        path,
        containerId: id,
        async isRunning() {
          try {
            return (await d.runtime.containerStatus(id)).state === 'CONTAINER_RUNNING';
          } catch (err) {
            if (isNotFound(err)) return false;
            throw err;
          }
        },
      };
    },

    async container(namespace, name, container, uid) {
      const pod = podOrThrow(namespace, name, uid);
      const list = await d.runtime.listContainers({ labelSelector: podSelector(pod.metadata?.uid ?? ''), state: 'CONTAINER_RUNNING' });
      const c = list.filter((x) => x.metadata?.name === container).sort((a, b) => b.createdAt - a.createdAt)[0];
      if (!c) throw providerError(404, `container not found (${JSON.stringify(container)})`);
      return { containerId: c.id };
    },

    async sandbox(namespace, name, uid) {
      const pod = podOrThrow(namespace, name, uid);
      const list = await d.runtime.listPodSandbox({ labelSelector: podSelector(pod.metadata?.uid ?? ''), state: 'SANDBOX_READY' });
      const s = list.sort((a, b) => b.createdAt - a.createdAt)[0];
      if (!s) throw providerError(404, `pod not found (${JSON.stringify(`${name}_${namespace}`)})`);
      return { sandboxId: s.id };
    },

    syncLoopHealthy() {
      return d.plegHealthy() ? true : 'PLEG is not healthy: the runtime was not relisted in the last 3m0s';
    },
  };
}
