/**
 * The runtime boundary of the agent: CRI's RuntimeService and ImageService, with CRI's own
 * message shapes (field names in camelCase, as `@grpc/proto-loader` renders them with
 * `keepCase: false`; enums as their proto names; int64 as `number`; timestamps in
 * nanoseconds since the epoch). The pod logic is written once against this interface; the
 * containerd adapter (`cri/`) speaks gRPC, and a Docker adapter would map onto the same shapes.
 *
 * Adapters map "not found" answers (gRPC NOT_FOUND, Docker 404) to `NotFoundError` and an
 * unreachable runtime to `UnavailableError` (see `lib/errors.ts`).
 */

/** `runtime.v1.Protocol`. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** `runtime.v1.NamespaceMode`. */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
/** `runtime.v1.PodSandboxState`. */
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
/** `runtime.v1.ContainerState`. */
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
/** `runtime.v1.MountPropagation`. */
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';

export interface KeyValue {
  key: string;
  value: string;
}

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/** One runtime condition; `RuntimeReady` and `NetworkReady` are the required ones. */
export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface RuntimeStatus {
  conditions: RuntimeCondition[];
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  targetId?: string;
}

/** `runtime.v1.Int64Value`. */
export interface Int64Value {
  value: number;
}

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  privileged?: boolean;
}

export interface LinuxPodSandboxConfig {
  cgroupParent?: string;
  securityContext?: LinuxSandboxSecurityContext;
  sysctls?: Record<string, string>;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory under which container log paths are relative (`/var/log/pods/<ns>_<name>_<uid>`). */
  logDirectory?: string;
  dnsConfig?: DNSConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: LinuxPodSandboxConfig;
}

export interface PodSandboxNetworkStatus {
  ip: string;
  additionalIps?: { ip: string }[];
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  network?: PodSandboxNetworkStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler?: string;
}

/** An entry of `ListPodSandbox`. */
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler?: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  /** Exact-match label selector. */
  labelSelector?: Record<string, string>;
}

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  propagation?: MountPropagation;
}

export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export interface Capability {
  addCapabilities?: string[];
  dropCapabilities?: string[];
}

export interface LinuxContainerSecurityContext {
  capabilities?: Capability;
  privileged?: boolean;
  namespaceOptions?: NamespaceOption;
  runAsUser?: Int64Value;
  runAsGroup?: Int64Value;
  runAsUsername?: string;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  noNewPrivs?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources;
  securityContext?: LinuxContainerSecurityContext;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's `logDirectory` (`<container>/<restartCount>.log`). */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: LinuxContainerConfig;
}

/** An entry of `ListContainers`. */
export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  state?: ContainerState;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: ImageSpec;
  imageRef: string;
  /** Brief reason for the state, e.g. `Completed`, `Error`, `OOMKilled`. */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  /** Absolute path of the container's log file. */
  logPath: string;
}

export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid?: Int64Value;
  username?: string;
  spec?: ImageSpec;
  pinned?: boolean;
}

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface FilesystemUsage {
  timestamp: number;
  fsId?: { mountpoint: string };
  usedBytes?: Int64Value;
  inodesUsed?: Int64Value;
}

/** `runtime.v1.UInt64Value` (int64/uint64 travel as `number`). */
export interface UInt64Value {
  value: number;
}

/** `runtime.v1.CpuUsage`. Timestamps in nanoseconds since the epoch. */
export interface CpuUsage {
  timestamp: number;
  usageCoreNanoSeconds?: UInt64Value;
  usageNanoCores?: UInt64Value;
}

/** `runtime.v1.MemoryUsage`. */
export interface MemoryUsage {
  timestamp: number;
  workingSetBytes?: UInt64Value;
  availableBytes?: UInt64Value;
  usageBytes?: UInt64Value;
  rssBytes?: UInt64Value;
  pageFaults?: UInt64Value;
  majorPageFaults?: UInt64Value;
}

/** `runtime.v1.NetworkInterfaceUsage`. */
export interface NetworkInterfaceUsage {
  name: string;
  rxBytes?: UInt64Value;
  rxErrors?: UInt64Value;
  txBytes?: UInt64Value;
  txErrors?: UInt64Value;
}

/** `runtime.v1.NetworkUsage`. */
export interface NetworkUsage {
  timestamp: number;
  defaultInterface?: NetworkInterfaceUsage;
  interfaces: NetworkInterfaceUsage[];
}

/** `runtime.v1.ProcessUsage`. */
export interface ProcessUsage {
  timestamp: number;
  processCount?: UInt64Value;
}

/** `runtime.v1.ContainerAttributes`. */
export interface ContainerAttributes {
  id: string;
  metadata?: ContainerMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** `runtime.v1.ContainerStats`. */
export interface ContainerStats {
  attributes?: ContainerAttributes;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  writableLayer?: FilesystemUsage;
}

/** `runtime.v1.ContainerStatsFilter`. */
export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

/** `runtime.v1.PodSandboxAttributes`. */
export interface PodSandboxAttributes {
  id: string;
  metadata?: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** `runtime.v1.LinuxPodSandboxStats`. */
export interface LinuxPodSandboxStats {
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  network?: NetworkUsage;
  process?: ProcessUsage;
  containers: ContainerStats[];
}

/** `runtime.v1.PodSandboxStats`. */
export interface PodSandboxStats {
  attributes?: PodSandboxAttributes;
  linux?: LinuxPodSandboxStats;
}

/** `runtime.v1.PodSandboxStatsFilter`. */
export interface PodSandboxStatsFilter {
  id?: string;
  labelSelector?: Record<string, string>;
}

/**
 * Stats capability (CRI ContainerStats / ListContainerStats / PodSandboxStats /
 * ListPodSandboxStats). Optional: a runtime without it reports stats another way, and a
 * runtime answering UNIMPLEMENTED makes these reject with `UnimplementedError`.
 */
export interface StatsRuntime {
  containerStats(containerId: string): Promise<ContainerStats>;
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]>;
  podSandboxStats(podSandboxId: string): Promise<PodSandboxStats>;
  listPodSandboxStats(filter?: PodSandboxStatsFilter): Promise<PodSandboxStats[]>;
}

/** The container side of CRI's RuntimeService: what the pod logic needs. */
export interface RuntimeService {
  version(): Promise<VersionResponse>;
  status(): Promise<RuntimeStatus>;

  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  stopPodSandbox(podSandboxId: string): Promise<void>;
  removePodSandbox(podSandboxId: string): Promise<void>;
  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** Stops with SIGTERM, then SIGKILL after `timeoutSeconds` (0 kills at once). */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  containerStatus(containerId: string): Promise<ContainerStatus>;

  /** Pushes the node's pod CIDR to the runtime. */
  updateRuntimeConfig(podCidr: string): Promise<void>;
  /** Runs a command synchronously in a container (exec probes). `timeoutSeconds` 0 = none. */
  execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResponse>;
  /** Asks the runtime to reopen a container's log file after rotation. */
  reopenContainerLog(containerId: string): Promise<void>;
}

/** Streaming capability (exec / attach / port-forward): each returns the runtime's URL. */
export interface StreamingRuntime {
  exec(req: { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): Promise<string>;
  attach(req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): Promise<string>;
  portForward(req: { podSandboxId: string; port: number[] }): Promise<string>;
}

/** CRI's ImageService. */
export interface ImageService {
  listImages(filter?: { image?: ImageSpec }): Promise<Image[]>;
  /** Resolves to `undefined` when the image is not present. */
  imageStatus(image: ImageSpec): Promise<Image | undefined>;
  /** Pulls and resolves to the image reference (`imageRef`). */
  pullImage(image: ImageSpec, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string>;
  removeImage(image: ImageSpec): Promise<void>;
  imageFsInfo(): Promise<FilesystemUsage[]>;
}

/** A connected runtime: both services, plus optional capabilities, and a way to close. */
export interface Runtime extends RuntimeService, ImageService {
  /** Present when the runtime serves exec/attach/port-forward. */
  readonly streaming?: StreamingRuntime;
  /** Present when the runtime serves CRI stats. */
  readonly stats?: StatsRuntime;
  close(): void;
}

/** Label and annotation keys kubelet sets on sandboxes and containers (kuberuntime/labels.go); adoption after a restart depends on them. */
export const LABELS = Object.freeze({
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  /** Skiff's own marker on everything it creates, so it never adopts another kubelet's objects. */
  managedBy: 'io.skiff.managed-by',
});

export const ANNOTATIONS = Object.freeze({
  containerHash: 'io.kubernetes.container.hash',
  restartCount: 'io.kubernetes.container.restartCount',
  terminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  terminationMessagePolicy: 'io.kubernetes.container.terminationMessagePolicy',
  podTerminationGracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
  podDeletionGracePeriod: 'io.kubernetes.pod.deletionGracePeriod',
  containerPorts: 'io.kubernetes.container.ports',
  containerType: 'io.kubernetes.container.type',
  preStopHandler: 'io.kubernetes.container.preStopHandler',
});
