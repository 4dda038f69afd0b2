/**
 * The `KubeletConfiguration` fields Skiff reads (kubelet.config.k8s.io/v1beta1), with their
 * value types, upstream defaults (pkg/kubelet/apis/config/v1beta1/defaults.go) and the
 * kubelet flag that overrides each. Fields upstream defines but Skiff ignores are listed in
 * `ACCEPTED_IGNORED` so a kubeadm-written file loads without complaint.
 */

/** The value type of a field. */
export type FieldKind = 'string' | 'int' | 'bool' | 'duration' | 'stringList' | 'stringMap' | 'boolMap' | 'taints';

/** Describes one configuration field. */
export interface FieldSpec {
  kind: FieldKind;
  /** Upstream default (config-file default, which can differ from the flag default). */
  default?: unknown;
  /** The kubelet flag that overrides the field, without dashes. */
  flag?: string;
  /** Allowed values for strings. */
  oneOf?: readonly string[];
  /** Minimum for ints. */
  min?: number;
}

/** Top-level KubeletConfiguration fields honoured by Skiff. Nested `authentication`/`authorization` are in {@link NESTED_FIELDS}. */
export const FIELDS: Readonly<Record<string, FieldSpec>> = {
  address: { kind: 'string', default: '0.0.0.0', flag: 'address' },
  port: { kind: 'int', default: 10250, flag: 'port', min: 1 },
  readOnlyPort: { kind: 'int', default: 0, flag: 'read-only-port', min: 0 },
  healthzBindAddress: { kind: 'string', default: '127.0.0.1', flag: 'healthz-bind-address' },
  healthzPort: { kind: 'int', default: 10248, flag: 'healthz-port', min: 0 },
  tlsCertFile: { kind: 'string', flag: 'tls-cert-file' },
  tlsPrivateKeyFile: { kind: 'string', flag: 'tls-private-key-file' },
  rotateCertificates: { kind: 'bool', default: false, flag: 'rotate-certificates' },
  serverTLSBootstrap: { kind: 'bool', default: false },
  containerRuntimeEndpoint: { kind: 'string', default: 'unix:///run/containerd/containerd.sock', flag: 'container-runtime-endpoint' },
  imageServiceEndpoint: { kind: 'string', flag: 'image-service-endpoint' },
  runtimeRequestTimeout: { kind: 'duration', default: '2m0s', flag: 'runtime-request-timeout' },
  syncFrequency: { kind: 'duration', default: '1m0s', flag: 'sync-frequency' },
  fileCheckFrequency: { kind: 'duration', default: '20s', flag: 'file-check-frequency' },
  nodeStatusUpdateFrequency: { kind: 'duration', default: '10s', flag: 'node-status-update-frequency' },
  nodeStatusReportFrequency: { kind: 'duration', default: '5m0s' },
  nodeLeaseDurationSeconds: { kind: 'int', default: 40, min: 1 },
  registerNode: { kind: 'bool', default: true, flag: 'register-node' },
  registerWithTaints: { kind: 'taints', default: [], flag: 'register-with-taints' },
  maxPods: { kind: 'int', default: 110, flag: 'max-pods', min: 1 },
  podPidsLimit: { kind: 'int', default: -1, flag: 'pod-max-pids' },
  podCIDR: { kind: 'string', flag: 'pod-cidr' },
  clusterDNS: { kind: 'stringList', default: [], flag: 'cluster-dns' },
  clusterDomain: { kind: 'string', default: '', flag: 'cluster-domain' },
  resolvConf: { kind: 'string', default: '/etc/resolv.conf', flag: 'resolv-conf' },
  staticPodPath: { kind: 'string', flag: 'pod-manifest-path' },
  cgroupDriver: { kind: 'string', default: 'cgroupfs', flag: 'cgroup-driver', oneOf: ['cgroupfs', 'systemd'] },
  cgroupRoot: { kind: 'string', default: '/', flag: 'cgroup-root' },
  cgroupsPerQOS: { kind: 'bool', default: true, flag: 'cgroups-per-qos' },
  failSwapOn: { kind: 'bool', default: true, flag: 'fail-swap-on' },
  hairpinMode: { kind: 'string', default: 'promiscuous-bridge', flag: 'hairpin-mode', oneOf: ['promiscuous-bridge', 'hairpin-veth', 'none'] },
  serializeImagePulls: { kind: 'bool', default: true, flag: 'serialize-image-pulls' },
  maxParallelImagePulls: { kind: 'int', min: 1 },
  kubeAPIQPS: { kind: 'int', default: 50, flag: 'kube-api-qps', min: 0 },
  kubeAPIBurst: { kind: 'int', default: 100, flag: 'kube-api-burst', min: 0 },
  eventRecordQPS: { kind: 'int', default: 50, flag: 'event-qps', min: 0 },
  eventBurst: { kind: 'int', default: 100, flag: 'event-burst', min: 0 },
  podLogsDir: { kind: 'string', default: '/var/log/pods' },
  containerLogMaxSize: { kind: 'string', default: '10Mi', flag: 'container-log-max-size' },
  containerLogMaxFiles: { kind: 'int', default: 5, flag: 'container-log-max-files', min: 2 },
  systemReserved: { kind: 'stringMap', default: {}, flag: 'system-reserved' },
  kubeReserved: { kind: 'stringMap', default: {}, flag: 'kube-reserved' },
  evictionHard: { kind: 'stringMap', flag: 'eviction-hard' },
  featureGates: { kind: 'boolMap', default: {}, flag: 'feature-gates' },
  providerID: { kind: 'string', flag: 'provider-id' },
  streamingConnectionIdleTimeout: { kind: 'duration', default: '4h0m0s', flag: 'streaming-connection-idle-timeout' },
  imageMinimumGCAge: { kind: 'duration', default: '2m0s', flag: 'minimum-image-ttl-duration' },
  imageGCHighThresholdPercent: { kind: 'int', default: 85, flag: 'image-gc-high-threshold', min: 0 },
  imageGCLowThresholdPercent: { kind: 'int', default: 80, flag: 'image-gc-low-threshold', min: 0 },
  shutdownGracePeriod: { kind: 'duration', default: '0s' },
  enableServer: { kind: 'bool', default: true },
};

/** Fields of the nested `authentication` and `authorization` objects. */
export const NESTED_FIELDS: Readonly<Record<string, FieldSpec>> = {
  'authentication.anonymous.enabled': { kind: 'bool', default: false, flag: 'anonymous-auth' },
  'authentication.webhook.enabled': { kind: 'bool', default: true, flag: 'authentication-token-webhook' },
  'authentication.webhook.cacheTTL': { kind: 'duration', default: '2m0s', flag: 'authentication-token-webhook-cache-ttl' },
  'authentication.x509.clientCAFile': { kind: 'string', flag: 'client-ca-file' },
  'authorization.mode': { kind: 'string', default: 'Webhook', flag: 'authorization-mode', oneOf: ['AlwaysAllow', 'Webhook'] },
  'authorization.webhook.cacheAuthorizedTTL': { kind: 'duration', default: '5m0s', flag: 'authorization-webhook-cache-authorized-ttl' },
  'authorization.webhook.cacheUnauthorizedTTL': { kind: 'duration', default: '30s', flag: 'authorization-webhook-cache-unauthorized-ttl' },
};

/** Upstream fields Skiff accepts in a file but does not act on (logged once at debug level). */
export const ACCEPTED_IGNORED: ReadonlySet<string> = new Set([
  'apiVersion', 'kind', 'logging', 'cpuManagerPolicy', 'cpuManagerReconcilePeriod', 'memoryManagerPolicy',
  'topologyManagerPolicy', 'topologyManagerScope', 'evictionPressureTransitionPeriod', 'evictionSoft',
  'evictionSoftGracePeriod', 'evictionMinimumReclaim', 'evictionMaxPodGracePeriod', 'enforceNodeAllocatable',
  'makeIPTablesUtilChains', 'iptablesMasqueradeBit', 'iptablesDropBit', 'protectKernelDefaults',
  'volumeStatsAggPeriod', 'volumePluginDir', 'httpCheckFrequency', 'staticPodURL', 'staticPodURLHeader',
  'tlsCipherSuites', 'tlsMinVersion', 'seccompDefault', 'shutdownGracePeriodCriticalPods', 'systemCgroups',
  'kubeletCgroups', 'runtimeCgroups', 'kubeReservedCgroup', 'systemReservedCgroup', 'containerLogMaxWorkers',
  'containerLogMonitorInterval', 'imageMaximumGCAge', 'enableDebuggingHandlers', 'enableContentionProfiling',
  'enableProfilingHandler', 'enableDebugFlagsHandler', 'oomScoreAdj', 'contentType',
  'allowedUnsafeSysctls', 'kernelMemcgNotification', 'localStorageCapacityIsolation', 'memorySwap',
  'nodeStatusMaxImages', 'podsPerCore', 'cpuCFSQuota', 'cpuCFSQuotaPeriod', 'reservedSystemCPUs',
  'showHiddenMetricsForVersion', 'registryPullQPS', 'registryBurst', 'maxOpenFiles',
  'configMapAndSecretChangeDetectionStrategy', 'qosReserved', 'reservedMemory', 'enableSystemLogHandler',
  'enableSystemLogQuery', 'mergeDefaultEvictionSettings', 'crashLoopBackOff',
  'imagePullCredentialsVerificationPolicy', 'failCgroupV1', 'singleProcessOOMKill', 'userNamespaces',
]);

/** Flags that are flags only (not config-file fields) in upstream kubelet, plus Skiff's own. */
export const FLAG_ONLY = {
  config: 'string',
  'config-dir': 'string',
  kubeconfig: 'string',
  'bootstrap-kubeconfig': 'string',
  'cert-dir': 'string',
  'root-dir': 'string',
  'hostname-override': 'string',
  'node-ip': 'string',
  'node-labels': 'string',
  'cloud-provider': 'string',
  v: 'string',
  // Skiff: the in-process Service proxy (kube-proxy's job).
  'proxy-config': 'string',
  'proxy-kubeconfig': 'string',
  'proxy-mode': 'string',
  'cluster-cidr': 'string',
  'disable-proxy': 'bool',
  'proxy-cleanup-on-exit': 'bool',
  'cni-conf-dir': 'string',
  'cni-bin-dir': 'string',
  'cni-data-dir': 'string',
  'log-level': 'string',
} as const satisfies Record<string, 'string' | 'bool'>;

/** Flags upstream deprecated or removed that kubeadm files still pass; accepted with a warning. */
export const DEPRECATED_FLAGS: ReadonlySet<string> = new Set([
  'pod-infra-container-image', 'container-runtime', 'network-plugin', 'cni-cache-dir', 'runtime-cgroups',
  'logtostderr', 'alsologtostderr', 'log-dir', 'log-file', 'experimental-allocatable-ignore-eviction',
]);
