/**
 * The kubelet's Prometheus registry, served at `/metrics`: Node's process metrics
 * (`process_*`, `nodejs_*`) and the kubelet metric names dashboards look for. Pod code
 * observes into {@link KubeletMetrics.podStartDuration}; the kubelet API server counts its
 * requests into the `kubelet_http_*` families (kubelet's `server/metrics`).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pod } from 'kubernetes-types/core/v1.js';

/** kubelet's buckets for `kubelet_pod_start_duration_seconds` (seconds). */
export const POD_START_DURATION_BUCKETS: readonly number[] = [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600];

/** The registry and the metrics other subsystems write to. */
export interface KubeletMetrics {
  registry: Registry;
  /** `kubelet_pod_start_duration_seconds`: pod creation → all containers running (observe seconds). */
  podStartDuration: Histogram<string>;
  /** `kubelet_node_name{node}` = 1. */
  nodeName: Gauge<'node'>;
  /** `kubelet_http_requests_total`: requests received by the kubelet API server. */
  httpRequests: Counter<HttpLabel>;
  /** `kubelet_http_inflight_requests`: requests being served (streams count until they end). */
  httpInflight: Gauge<HttpLabel>;
  /** `kubelet_http_requests_duration_seconds`: time to serve a request (a stream: its lifetime). */
  httpDuration: Histogram<HttpLabel>;
}

/** Labels of the `kubelet_http_*` families. */
export type HttpLabel = 'method' | 'path' | 'server_type' | 'long_running';

/** Prometheus' default buckets (`prometheus.DefBuckets`), which kubelet's HTTP histogram uses. */
const DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Options of {@link createKubeletMetrics}. */
export interface KubeletMetricsOptions {
  nodeName: string;
  /** The pods the agent runs; `kubelet_running_pods` and `kubelet_running_containers` are computed from them at scrape time. */
  pods?: () => readonly Pod[];
  /** Register into this registry instead of a new one. */
  registry?: Registry;
  /** Include Node's default process metrics (default true). */
  processMetrics?: boolean;
}

/** Creates the registry with kubelet's metrics. */
export function createKubeletMetrics(opts: KubeletMetricsOptions): KubeletMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const nodeName = new Gauge({ name: 'kubelet_node_name', help: "[ALPHA] The node's name. The count is always 1.", labelNames: ['node'], registers: [registry] });
  nodeName.set({ node: opts.nodeName }, 1);
  const pods = opts.pods;
  new Gauge({
    name: 'kubelet_running_pods',
    help: '[ALPHA] Number of pods that have a running pod sandbox',
    registers: [registry],
    collect() {
      if (!pods) return;
      this.set(pods().filter((p) => p.status?.phase === 'Running' || (p.status?.containerStatuses ?? []).some((c) => c.state?.running)).length);
    },
  });
  new Gauge({
    name: 'kubelet_running_containers',
    help: '[ALPHA] Number of containers currently running',
    labelNames: ['container_state'],
    registers: [registry],
    collect() {
      if (!pods) return;
      const counts: Record<string, number> = { running: 0, exited: 0, created: 0, unknown: 0 };
      for (const p of pods()) {
        for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
          if (c.state?.running) counts.running++;
          else if (c.state?.terminated) counts.exited++;
          else if (c.state?.waiting && c.containerID) counts.created++;
        }
      }
      for (const [state, n] of Object.entries(counts)) this.set({ container_state: state }, n);
    },
  });
  const podStartDuration = new Histogram({
    name: 'kubelet_pod_start_duration_seconds',
    help: '[ALPHA] Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
    buckets: [...POD_START_DURATION_BUCKETS],
    registers: [registry],
  });
  const labelNames: HttpLabel[] = ['method', 'path', 'server_type', 'long_running'];
  const httpRequests = new Counter({ name: 'kubelet_http_requests_total', help: '[ALPHA] Number of the http requests received since the server started', labelNames, registers: [registry] });
  const httpInflight = new Gauge({ name: 'kubelet_http_inflight_requests', help: '[ALPHA] Number of the inflight http requests', labelNames, registers: [registry] });
  const httpDuration = new Histogram({ name: 'kubelet_http_requests_duration_seconds', help: '[ALPHA] Duration in seconds to serve http requests', labelNames, buckets: DEF_BUCKETS, registers: [registry] });
  return { registry, podStartDuration, nodeName, httpRequests, httpInflight, httpDuration };
}

const KNOWN_ROOTS = new Set(['attach', 'containerLogs', 'exec', 'healthz', 'metrics', 'pods', 'portForward', 'stats']);
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/**
 * The labels kubelet puts on a request: the method (`other` when unknown), the path's first
 * segment when it is a route (`other` otherwise), `readwrite` (the authenticated port), and
 * whether it is long-running. Deviation: kubelet's long-running list spells `portforward`, so
 * its `/portForward` requests are not marked long-running; Skiff marks them.
 */
export function httpLabels(method: string | undefined, path: string): Record<HttpLabel, string> {
  const root = path.split('/')[1] ?? '';
  const bucket = KNOWN_ROOTS.has(root) ? root : 'other';
  return {
    method: KNOWN_METHODS.has(method ?? '') ? method! : 'other',
    path: bucket,
    server_type: 'readwrite',
    long_running: String(bucket === 'exec' || bucket === 'attach' || bucket === 'portForward'),
  };
}
