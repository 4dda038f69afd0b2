/**
 * The proxy's HTTP endpoints, as kube-proxy serves them: /healthz and /livez (10256),
 * /metrics (10249) with kube-proxy's metric names, and the per-Service health checks on
 * healthCheckNodePort. Servers listen on 127.0.0.1 with ports the tests pick.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeService, makeSlice } from './fixtures.js';
import { goTimeString } from './health.js';
import { healthCheckBody } from './healthcheck.js';
import {
  createProxier,
  createProxyMetrics,
  FakeNft,
  ProxierHealth,
  startProxyHealthServer,
  startProxyMetricsServer,
  type Proxier,
  type ProxyHttpServer,
} from './index.js';
import { freePort } from '../../test/support/free-ports.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});


async function get(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

describe('healthz and livez', () => {
  it('answer 200 while syncs keep up, 503 once a queued change waited longer than the timeout', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 22, 5, 0, 0));
    const health = new ProxierHealth(clock, 60_000);
    const metrics = createProxyMetrics();
    const s: ProxyHttpServer = await startProxyHealthServer({ address: '127.0.0.1:0', health, metrics, logger: silentLogger() });
    closers.push(() => s.close());
    let r = await get(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(JSON.parse(r.body)).toEqual({ lastUpdated: '2026-11-22 05:00:00 +0000 UTC', currentTime: '2026-11-22 05:00:00 +0000 UTC', nodeEligible: true });
    health.updated();
    health.queuedUpdate();
    await clock.advance(59_000);
    expect((await get(`${s.url}/livez`)).status).toBe(200);
    await clock.advance(1_000);
    r = await get(`${s.url}/healthz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).lastUpdated).toBe('2026-11-22 05:00:00 +0000 UTC');
    expect((await get(`${s.url}/livez`)).status).toBe(503);
    health.updated();
    health.setNodeEligible(false);
    expect((await get(`${s.url}/healthz`)).status).toBe(503);
    r = await get(`${s.url}/livez`);
    expect(r.status).toBe(200);
    expect(Object.keys(JSON.parse(r.body))).toEqual(['lastUpdated', 'currentTime']);
    expect((await get(`${s.url}/other`)).status).toBe(404);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/kubeproxy_proxy_healthz_total\{code="200"\} 1/);
    expect(text).toMatch(/kubeproxy_proxy_healthz_total\{code="503"\} 2/);
  });

  it('prints times like Go', () => {
    expect(goTimeString(Date.UTC(2026, 0, 2, 3, 4, 5, 120))).toBe('2026-01-02 03:04:05.12 +0000 UTC');
    expect(goTimeString(undefined)).toBe('0001-01-01 00:00:00 +0000 UTC');
  });
});

describe('metrics', () => {
  it('serves kube-proxy’s metric names after syncs, and the proxy mode', async () => {
    const metrics = createProxyMetrics();
    const p = createProxier({ logger: silentLogger(), clock: realClock, nft: new FakeNft(), metrics, nodeName: 'n', nodeIPs: [], ipFamilies: ['IPv4'], healthCheckServers: false });
    p.onServiceUpsert(makeService({ name: 'web', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    p.onEndpointSliceUpsert(makeSlice({ service: 'web', ports: [{ port: 8080 }], endpoints: ['10.244.0.2'] }));
    await p.syncNow();
    await p.syncNow();
    const s = await startProxyMetricsServer({ address: '127.0.0.1:0', registry: metrics.registry, mode: p.mode, logger: silentLogger() });
    closers.push(() => s.close());
    const r = await get(`${s.url}/metrics`);
    expect(r.status).toBe(200);
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.001"}',
      'kubeproxy_sync_proxy_rules_duration_seconds_count 2',
      'kubeproxy_sync_full_proxy_rules_duration_seconds_count 1',
      'kubeproxy_sync_partial_proxy_rules_duration_seconds_count 1',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_nftables_sync_failures_total 0',
      'kubeproxy_sync_proxy_rules_service_changes_total 1',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total 1',
      'kubeproxy_network_programming_duration_seconds_bucket',
      'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"} 0',
    ]) {
      expect(r.body).toContain(name);
    }
    expect((await get(`${s.url}/proxyMode`)).body).toBe('nftables');
    expect((await get(`${s.url}/healthz`)).body).toBe('ok');
  });
});

describe('service health checks (healthCheckNodePort)', () => {
  async function lbLocal(hcPort: number, eps: Array<{ ip: string; nodeName: string }>): Promise<Proxier> {
    const p = createProxier({
      logger: silentLogger(),
      clock: realClock,
      nft: new FakeNft(),
      nodeName: 'node-1',
      nodeIPs: ['192.168.1.10'],
      ipFamilies: ['IPv4'],
      healthCheckBindAddresses: () => ['127.0.0.1'],
    });
    closers.push(() => p.stop());
    const svc = makeService({ namespace: 'shop', name: 'front', clusterIP: '10.96.0.10', type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] });
    svc.spec!.externalTrafficPolicy = 'Local';
    svc.spec!.healthCheckNodePort = hcPort;
    p.onServiceUpsert(svc);
    p.onEndpointSliceUpsert(makeSlice({ namespace: 'shop', service: 'front', ports: [{ port: 8080 }], endpoints: eps }));
    await p.syncNow();
    return p;
  }

  it('answers 200 with the local endpoint count while this node has local endpoints, else 503', async () => {
    const port = await freePort();
    const p = await lbLocal(port, [
      { ip: '10.244.0.2', nodeName: 'node-1' },
      { ip: '10.244.0.3', nodeName: 'node-1' },
      { ip: '10.244.1.2', nodeName: 'node-2' },
    ]);
    let r = await get(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.body).toBe(healthCheckBody('shop', 'front', 2, true));
    expect(JSON.parse(r.body)).toEqual({ service: { namespace: 'shop', name: 'front' }, localEndpoints: 2, serviceProxyHealthy: true });
    p.onEndpointSliceUpsert(makeSlice({ namespace: 'shop', service: 'front', ports: [{ port: 8080 }], endpoints: [{ ip: '10.244.1.2', nodeName: 'node-2' }] }));
    await p.syncNow();
    r = await get(`http://127.0.0.1:${port}/any/path`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).localEndpoints).toBe(0);
  });

  it('closes the port when the Service stops needing it', async () => {
    const port = await freePort();
    const p = await lbLocal(port, [{ ip: '10.244.0.2', nodeName: 'node-1' }]);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    p.onServiceDelete(makeService({ namespace: 'shop', name: 'front', clusterIP: '10.96.0.10', ports: [{ port: 80 }] }));
    await p.syncNow();
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
