/**
 * The agent's resolved configuration: the KubeletConfiguration fields Skiff honours, after
 * file, drop-ins, flags and defaults were merged. Durations are in milliseconds.
 */

/** A node taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Settings of the kubelet API server (:10250) and the healthz endpoint (:10248). */
export interface ServerConfig {
  enabled: boolean;
  address: string;
  port: number;
  /** 0 disables the read-only port (the only supported value). */
  readOnlyPort: number;
  healthzBindAddress: string;
  /** 0 disables healthz. */
  healthzPort: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  streamingConnectionIdleTimeoutMs: number;
  authentication: {
    anonymousEnabled: boolean;
    webhookEnabled: boolean;
    webhookCacheTtlMs: number;
    clientCAFile?: string;
  };
  authorization: {
    mode: 'AlwaysAllow' | 'Webhook';
    cacheAuthorizedTtlMs: number;
    cacheUnauthorizedTtlMs: number;
  };
}

/** Settings of the in-agent Service proxy. */
export interface ProxySettings {
  enabled: boolean;
  /** A KubeProxyConfiguration file. */
  configFile?: string;
  /**
   * Credentials for the proxy's informers (kube-proxy's `clientConnection.kubeconfig`).
   * On clusters with the Node authorizer a node may not list EndpointSlices, so the proxy
   * runs as `system:kube-proxy` (bound to `system:node-proxier`) like kube-proxy does.
   * Default: the agent's own kubeconfig.
   */
  kubeconfig?: string;
  mode?: 'nftables' | 'iptables';
  clusterCIDR?: string;
  /**
   * Delete the proxy's tables and chains when the agent exits (`--proxy-cleanup-on-exit`).
   * Off by default, as kube-proxy: rules left in place keep Services working while the agent
   * restarts, and the next start reconciles them. `skiff agent --cleanup` and `skiff down`
   * remove them for good.
   */
  cleanupOnExit: boolean;
}

/** Everything the agent needs to run. */
export interface AgentConfig {
  nodeName: string;
  /** `--node-ip`; empty means auto-detect. */
  nodeIPs: string[];
  nodeLabels: Record<string, string>;
  registerWithTaints: Taint[];
  registerNode: boolean;
  providerID?: string;
  kubeconfig: string;
  rootDir: string;
  certDir: string;
  podLogsDir: string;
  containerRuntimeEndpoint: string;
  imageServiceEndpoint?: string;
  runtimeRequestTimeoutMs: number;
  server: ServerConfig;
  syncFrequencyMs: number;
  fileCheckFrequencyMs: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  nodeLeaseDurationSeconds: number;
  maxPods: number;
  podPidsLimit: number;
  /** Used only when the Node object has no spec.podCIDR. */
  podCIDR?: string;
  clusterDNS: string[];
  clusterDomain: string;
  resolvConf: string;
  staticPodPath?: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  cgroupRoot: string;
  cgroupsPerQOS: boolean;
  failSwapOn: boolean;
  hairpinMode: string;
  serializeImagePulls: boolean;
  maxParallelImagePulls?: number;
  kubeAPIQPS: number;
  kubeAPIBurst: number;
  eventRecordQPS: number;
  eventBurst: number;
  containerLogMaxSize: string;
  containerLogMaxFiles: number;
  systemReserved: Record<string, string>;
  kubeReserved: Record<string, string>;
  evictionHard: Record<string, string>;
  imageGCHighThresholdPercent: number;
  imageGCLowThresholdPercent: number;
  imageMinimumGCAgeMs: number;
  featureGates: Record<string, boolean>;
  proxy: ProxySettings;
  /** CNI: where the agent writes its conflist, the plugin dir, and host-local IPAM's data dir. */
  cni: { confDir: string; binDir?: string; dataDir?: string };
  logLevel: string;
}
