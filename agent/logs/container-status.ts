/**
 * Which container's log a request means, from the pod's status, with kubelet's errors
 * (`validateContainerLogStatus` in `pkg/kubelet/kubelet_pods.go`): the running container, or
 * the terminated one, or with `previous` the last terminated one; a waiting container has no
 * log yet (`container "x" in pod "y" is waiting to start: ContainerCreating`, which kubelet
 * answers with 400 Bad Request).
 *
 * Pod code can use {@link resolveLogContainer} to implement the kubelet server's `logs`
 * provider.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { InvalidInputError, NotFoundError } from '../../lib/errors.js';

/** The container whose log to read: its runtime id (`containerd://…` prefix stripped). */
export interface LogContainer {
  containerId: string;
  /** True when this is the container's current instance and it is running. */
  running: boolean;
}

function stripScheme(id: string): string {
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/**
 * Resolves `containerName` of `pod` to the container whose log to serve. Throws
 * `NotFoundError` when the container is not in the pod's spec (kubelet: 404
 * `container "x" not found in pod "y"`) and `InvalidInputError` for every state without a log
 * (kubelet: 400 with the messages below).
 */
export function resolveLogContainer(pod: Pod, containerName: string, previous: boolean): LogContainer {
  const podName = pod.metadata?.name ?? '';
  const spec = pod.spec;
  const inSpec = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])].some((c) => c.name === containerName);
  if (!inSpec) throw new NotFoundError(`container "${containerName}" not found in pod "${podName}"`);
  const st = pod.status;
  const cs = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])].find((c) => c.name === containerName);
  if (!cs) throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is not available`);
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  if (previous) {
    if (!last?.containerID) throw new InvalidInputError(`previous terminated container "${containerName}" in pod "${podName}" not found`);
    return { containerId: stripScheme(last.containerID), running: false };
  }
  if (running) {
    if (!cs.containerID) throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
    return { containerId: stripScheme(cs.containerID), running: true };
  }
  if (terminated) {
    const id = terminated.containerID || last?.containerID;
    if (!id) throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is terminated`);
    return { containerId: stripScheme(id), running: false };
  }
  if (last) {
    if (!last.containerID) throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is terminated`);
    return { containerId: stripScheme(last.containerID), running: false };
  }
  if (waiting) {
    switch (waiting.reason) {
      case 'ErrImagePull':
        throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is waiting to start: image can't be pulled`);
      case 'ImagePullBackOff':
        throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
      default:
        throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is waiting to start: ${waiting.reason ?? ''}`);
    }
  }
  throw new InvalidInputError(`container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
}
