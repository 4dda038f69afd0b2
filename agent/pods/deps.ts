/**
 * The collaborators the pod lifecycle core drives, as narrow interfaces. Their production
 * implementations live in sibling folders (`volumes/`, `probes/`, `cgroups/`, `admission/`,
 * `lifecycle-hooks/`); tests may pass their own.
 */
import type { Container, LifecycleHandler, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { LinuxContainerResources, Mount } from '../runtime/index.js';
import type { AdmitResult } from './admission/index.js';
import type { HandlerContext } from './lifecycle-hooks/index.js';
import type { MountedVolume } from './volumes/index.js';
import type { ProbeManager } from './probes/index.js';

/** Prepares and removes pod volumes and the pod directory. */
export interface PodVolumes {
  setUp(pod: Pod, signal?: AbortSignal): Promise<Map<string, MountedVolume>>;
  tearDown(podUid: string): Promise<void>;
  podDir(podUid: string): string;
  listPodDirs(): Promise<string[]>;
}

/** Pod-level cgroups. */
export interface PodCgroups {
  init(): Promise<void>;
  ensurePod(pod: Pod): Promise<string>;
  removePod(podUid: string, qosClass?: string): Promise<void>;
  listPods(): Promise<string[]>;
}

/** Container probes: the {@link ProbeManager} methods the core calls. */
export type PodProbes = Pick<ProbeManager, 'syncPod' | 'removePod' | 'readiness' | 'started' | 'onChange' | 'stop'>;

/** Runs a lifecycle handler (postStart, preStop); rejects with the kubelet-style message. */
export type HookRunner = (handler: LifecycleHandler, ctx: HandlerContext) => Promise<void>;

/** Pod admission on first sight. */
export type PodAdmitter = (pod: Pod, ctx: { node: Node; activePods: Pod[] }) => AdmitResult;

/** A container's CRI mounts from its volume mounts (and /etc/hosts). */
export type ContainerMountsFn = (
  container: Container,
  volumes: ReadonlyMap<string, MountedVolume>,
  opts: { etcHostsPath?: string; env?: Record<string, string> },
) => Mount[];

/** Writes the pod's managed hosts file; returns its path. */
export type EtcHostsWriter = (pod: Pod, podIPs: readonly string[], podDir: string, opts: { clusterDomain?: string }) => Promise<string>;

/** A container's CRI resources. */
export type ContainerResourcesFn = (pod: Pod, container: Container, memoryCapacityBytes: number) => LinuxContainerResources;

/** The QoS class of a pod. */
export type QosClassFn = (pod: Pod) => string;
