/**
 * Labels and annotations the agent puts on sandboxes and containers, and how it reads them
 * back (kubelet's `kuberuntime/labels.go`). Adoption after a restart depends on them: the
 * agent keeps no state of its own and maps runtime objects back to pods through these keys.
 */
import type { Container as SpecContainer, ContainerPort, Lifecycle, Pod } from 'kubernetes-types/core/v1.js';
import { ANNOTATIONS, LABELS } from '../runtime/index.js';

/** Value of `io.skiff.managed-by` on everything this agent creates. */
export const MANAGED_BY_VALUE = 'skiff';

/** `init` | `container`, as `io.kubernetes.container.type`. */
export type ContainerType = 'init' | 'container';

/** Label selector for everything this agent manages. */
export const MANAGED_SELECTOR: Readonly<Record<string, string>> = Object.freeze({ [LABELS.managedBy]: MANAGED_BY_VALUE });

/** Label selector for the runtime objects of one pod. */
export function podSelector(uid: string): Record<string, string> {
  return { [LABELS.podUid]: uid, [LABELS.managedBy]: MANAGED_BY_VALUE };
}

/** Sandbox labels: the pod's labels plus kubelet's identity labels and our marker (`newPodLabels`). */
export function sandboxLabels(pod: Pod): Record<string, string> {
  return {
    ...(pod.metadata?.labels ?? {}),
    [LABELS.podName]: pod.metadata?.name ?? '',
    [LABELS.podNamespace]: pod.metadata?.namespace ?? '',
    [LABELS.podUid]: pod.metadata?.uid ?? '',
    [LABELS.managedBy]: MANAGED_BY_VALUE,
  };
}

/** Sandbox annotations: the pod's annotations (`newPodAnnotations`). */
export function sandboxAnnotations(pod: Pod): Record<string, string> {
  return { ...(pod.metadata?.annotations ?? {}) };
}

/** Container labels (`newContainerLabels`): pod identity, container name, our marker. */
export function containerLabels(pod: Pod, container: SpecContainer): Record<string, string> {
  return {
    [LABELS.podName]: pod.metadata?.name ?? '',
    [LABELS.podNamespace]: pod.metadata?.namespace ?? '',
    [LABELS.podUid]: pod.metadata?.uid ?? '',
    [LABELS.containerName]: container.name,
    [LABELS.managedBy]: MANAGED_BY_VALUE,
  };
}

/** Inputs of {@link containerAnnotations}. */
export interface ContainerAnnotationInput {
  pod: Pod;
  container: SpecContainer;
  type: ContainerType;
  restartCount: number;
  hash: string;
}

/** Container annotations (`newContainerAnnotations`). */
export function containerAnnotations(i: ContainerAnnotationInput): Record<string, string> {
  const a: Record<string, string> = {
    [ANNOTATIONS.containerHash]: i.hash,
    [ANNOTATIONS.restartCount]: String(i.restartCount),
    [ANNOTATIONS.terminationMessagePath]: i.container.terminationMessagePath ?? '/dev/termination-log',
    [ANNOTATIONS.terminationMessagePolicy]: i.container.terminationMessagePolicy ?? 'File',
    [ANNOTATIONS.containerType]: i.type,
  };
  if (i.pod.metadata?.deletionGracePeriodSeconds !== undefined && i.pod.metadata.deletionGracePeriodSeconds !== null) {
    a[ANNOTATIONS.podDeletionGracePeriod] = String(i.pod.metadata.deletionGracePeriodSeconds);
  }
  if (i.pod.spec?.terminationGracePeriodSeconds !== undefined && i.pod.spec.terminationGracePeriodSeconds !== null) {
    a[ANNOTATIONS.podTerminationGracePeriod] = String(i.pod.spec.terminationGracePeriodSeconds);
  }
  const preStop = (i.container.lifecycle as Lifecycle | undefined)?.preStop;
  if (preStop) a[ANNOTATIONS.preStopHandler] = JSON.stringify(preStop);
  if (i.container.ports?.length) a[ANNOTATIONS.containerPorts] = JSON.stringify(i.container.ports.map(portJson));
  return a;
}

/** Go's JSON of a ContainerPort keeps only set fields, in struct order. */
function portJson(p: ContainerPort): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (p.name) o.name = p.name;
  if (p.hostPort) o.hostPort = p.hostPort;
  o.containerPort = p.containerPort;
  o.protocol = p.protocol ?? 'TCP';
  if (p.hostIP) o.hostIP = p.hostIP;
  return o;
}

/** What the agent reads back from a container's labels and annotations. */
export interface ContainerIdentity {
  podUid: string;
  podName: string;
  podNamespace: string;
  containerName: string;
  type: ContainerType;
  hash: string;
  restartCount: number;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
}

/** Parses a container's labels and annotations (`getContainerInfoFromLabels/Annotations`). */
export function containerIdentity(labels: Record<string, string>, annotations: Record<string, string>): ContainerIdentity {
  const rc = Number(annotations[ANNOTATIONS.restartCount] ?? '0');
  return {
    podUid: labels[LABELS.podUid] ?? '',
    podName: labels[LABELS.podName] ?? '',
    podNamespace: labels[LABELS.podNamespace] ?? '',
    containerName: labels[LABELS.containerName] ?? '',
    type: annotations[ANNOTATIONS.containerType] === 'init' ? 'init' : 'container',
    hash: annotations[ANNOTATIONS.containerHash] ?? '',
    restartCount: Number.isFinite(rc) && rc >= 0 ? Math.floor(rc) : 0,
    terminationMessagePath: annotations[ANNOTATIONS.terminationMessagePath] ?? '',
    terminationMessagePolicy: annotations[ANNOTATIONS.terminationMessagePolicy] ?? '',
  };
}
