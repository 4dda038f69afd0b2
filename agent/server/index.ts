/**
 * The kubelet API server (:10250, TLS, authenticated and authorized like kubelet's) and the
 * healthz endpoint (:10248). Code outside `agent/server/` imports from here only.
 */
export {
  startKubeletServer,
  KubeletServerError,
  type KubeletServer,
  type KubeletServerOptions,
  type KubeletServerProviders,
  type LogTarget,
} from './server.js';
export { createKubeletMetrics, httpLabels, POD_START_DURATION_BUCKETS, type HttpLabel, type KubeletMetrics, type KubeletMetricsOptions } from './metrics.js';
export { KubeletAuthenticator, AuthenticationError, ANONYMOUS_USER, type UserInfo, type AuthenticatorOptions } from './authn.js';
export {
  requestAttributes,
  subresourceOf,
  verbOf,
  describeAttributes,
  AlwaysAllowAuthorizer,
  WebhookAuthorizer,
  AuthorizationError,
  type Authorizer,
  type Decision,
  type RequestAttributes,
  type WebhookAuthorizerOptions,
} from './authz.js';
export { loadServingCert, ServingCertError, type ServingCert, type ServingCertOptions } from './tls.js';
export { StatsProvider, renderResourceMetrics, type Summary, type NodeStats, type PodStats, type ContainerStats, type VolumeStats, type CPUStats, type MemoryStats, type FsStats, type NetworkStats, type InterfaceStats, type RlimitStats, type StatsOptions } from './stats.js';
export { startHealthzServer, type HealthzServer } from './healthz.js';
export { matchRoute, type Route } from './routes.js';
