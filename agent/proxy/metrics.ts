/**
 * The proxy's Prometheus metrics, under kube-proxy's names (`pkg/proxy/metrics`), so existing
 * dashboards and alerts work: sync durations (full and partial), the last sync timestamp,
 * pending and total Service/endpoint changes, network programming latency, the nftables
 * and iptables failure counters, healthz/livez counters and conntrack deletions.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** `prometheus.ExponentialBuckets(0.001, 2, 15)`, kube-proxy's sync duration buckets. */
export const SYNC_DURATION_BUCKETS: readonly number[] = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** kube-proxy's network programming latency buckets (0.25 s … 5 min). */
export const PROGRAMMING_BUCKETS: readonly number[] = [
  0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => i + 1),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

/** The proxy's metrics. */
export interface ProxyMetrics {
  registry: Registry;
  /** `kubeproxy_sync_proxy_rules_duration_seconds`: every successful sync. */
  syncDuration: Histogram<string>;
  /** `kubeproxy_sync_full_proxy_rules_duration_seconds`. */
  syncFullDuration: Histogram<string>;
  /** `kubeproxy_sync_partial_proxy_rules_duration_seconds`. */
  syncPartialDuration: Histogram<string>;
  /** `kubeproxy_sync_proxy_rules_last_timestamp_seconds`. */
  lastSync: Gauge<string>;
  /** `kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds`. */
  lastQueued: Gauge<string>;
  /** `kubeproxy_network_programming_duration_seconds`. */
  programming: Histogram<string>;
  /** `kubeproxy_sync_proxy_rules_endpoint_changes_pending` / `_total`. */
  endpointChangesPending: Gauge<string>;
  endpointChangesTotal: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_service_changes_pending` / `_total`. */
  serviceChangesPending: Gauge<string>;
  serviceChangesTotal: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_nftables_sync_failures_total`. */
  nftablesSyncFailures: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total`. */
  nftablesCleanupFailures: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_iptables_restore_failures_total`. */
  iptablesRestoreFailures: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total`. */
  iptablesPartialRestoreFailures: Counter<string>;
  /** `kubeproxy_sync_proxy_rules_iptables_total{table}`: rules written per table. */
  iptablesRules: Gauge<'table'>;
  /** `kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy}`. */
  noLocalEndpoints: Gauge<'traffic_policy'>;
  /** `kubeproxy_proxy_healthz_total{code}` / `kubeproxy_proxy_livez_total{code}`. */
  healthzTotal: Counter<'code'>;
  livezTotal: Counter<'code'>;
  /** `kubeproxy_conntrack_reconciler_deleted_entries_total`. */
  conntrackDeleted: Counter<string>;
}

/** Options of {@link createProxyMetrics}. */
export interface ProxyMetricsOptions {
  /** Register into this registry instead of a new one. */
  registry?: Registry;
  /** Include Node's default process metrics (default false: the agent's registry has them). */
  processMetrics?: boolean;
}

/** Creates the proxy's metrics in a registry. */
export function createProxyMetrics(opts: ProxyMetricsOptions = {}): ProxyMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  const r = [registry];
  const hist = (name: string, help: string, buckets: readonly number[] = SYNC_DURATION_BUCKETS): Histogram<string> =>
    new Histogram({ name: `kubeproxy_${name}`, help: `[ALPHA] ${help}`, buckets: [...buckets], registers: r });
  const gauge = (name: string, help: string): Gauge<string> => new Gauge({ name: `kubeproxy_${name}`, help: `[ALPHA] ${help}`, registers: r });
  const counter = (name: string, help: string): Counter<string> => new Counter({ name: `kubeproxy_${name}`, help: `[ALPHA] ${help}`, registers: r });
  return {
    registry,
    syncDuration: hist('sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds'),
    syncFullDuration: hist('sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs'),
    syncPartialDuration: hist('sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs'),
    lastSync: gauge('sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced'),
    lastQueued: gauge('sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued'),
    programming: hist('network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', PROGRAMMING_BUCKETS),
    endpointChangesPending: gauge('sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes'),
    endpointChangesTotal: counter('sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes'),
    serviceChangesPending: gauge('sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes'),
    serviceChangesTotal: counter('sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes'),
    nftablesSyncFailures: counter('sync_proxy_rules_nftables_sync_failures_total', 'Cumulative proxy nftables sync failures'),
    nftablesCleanupFailures: counter('sync_proxy_rules_nftables_cleanup_failures_total', 'Cumulative proxy nftables cleanup failures'),
    iptablesRestoreFailures: counter('sync_proxy_rules_iptables_restore_failures_total', 'Cumulative proxy iptables restore failures'),
    iptablesPartialRestoreFailures: counter('sync_proxy_rules_iptables_partial_restore_failures_total', 'Cumulative proxy iptables partial restore failures'),
    iptablesRules: new Gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_total', help: '[ALPHA] Total number of iptables rules owned by kube-proxy', labelNames: ['table'], registers: r }),
    noLocalEndpoints: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: '[ALPHA] Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers: r,
    }),
    healthzTotal: new Counter({ name: 'kubeproxy_proxy_healthz_total', help: '[ALPHA] Cumulative proxy healthz HTTP status', labelNames: ['code'], registers: r }),
    livezTotal: new Counter({ name: 'kubeproxy_proxy_livez_total', help: '[ALPHA] Cumulative proxy livez HTTP status', labelNames: ['code'], registers: r }),
    conntrackDeleted: counter('conntrack_reconciler_deleted_entries_total', 'Cumulative conntrack flows deleted by conntrack reconciler'),
  };
}
