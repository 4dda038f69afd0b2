/**
 * Container probes: the probe manager (readiness, liveness, startup workers with kubelet's
 * thresholds and events) and the probe runners (exec, httpGet, tcpSocket, grpc). The HTTP
 * GET helper is shared with lifecycle hooks.
 *
 * Code outside `agent/pods/probes/` imports from here only.
 */
export { createProbeManager, type ProbeManager, type ProbeManagerOptions, type ProbeKind, type ProbeChangeEvent } from './manager.js';
export { runProbe, runProbeWithRetries, probeTimeoutMs, MAX_PROBE_RETRIES, type ProbeResult, type ProbeOutcome, type ProbeTarget } from './runner.js';
export {
  httpGet,
  requestForHttpGetAction,
  resolveContainerPort,
  formatUrl,
  joinHostPort,
  goDialError,
  HttpGetError,
  ProbeConfigError,
  KUBE_VERSION,
  MAX_BODY_BYTES,
  type HttpGetOptions,
  type HttpGetResponse,
} from './http.js';
export { tcpConnect, type TcpResult } from './tcp.js';
export { grpcHealthCheck, type GrpcProbeResult } from './grpc.js';
