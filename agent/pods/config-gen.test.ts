import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseResolvConf, podDnsConfig } from './dns.js';
import { EnvError, fieldRefValue, makeEnvironment, resourceFieldRefValue, type ConfigSource } from './env.js';
import { expand, mappingFuncFor } from './expansion.js';
import { podHostname } from './sandbox-config.js';
import { serviceEnvMap } from './service-env.js';
import { tailLogMessages } from './termination-message.js';
import { formatGoDuration } from './images/index.js';

const host = parseResolvConf('# comment\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch a.example b.example.\noptions ndots:2 timeout:1\n');

function mkPod(spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return { metadata: { name: 'web-0', namespace: 'prod', uid: 'uid-1', labels: { app: 'web', tier: 'fe' }, annotations: { a: '1' }, ...meta }, spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [{ name: 'c' }], ...spec } };
}

describe('DNS', () => {
  it('parses resolv.conf like kubelet', () => {
    expect(host).toEqual({ servers: ['1.1.1.1', '8.8.8.8'], searches: ['a.example', 'b.example'], options: ['ndots:2', 'timeout:1'] });
  });

  it('forms the config for each dnsPolicy', () => {
    const base = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host };
    expect(podDnsConfig({ ...base, pod: mkPod() }).config).toEqual({
      servers: ['10.96.0.10'],
      searches: ['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'a.example', 'b.example'],
      options: ['ndots:5'],
    });
    expect(podDnsConfig({ ...base, pod: mkPod({ dnsPolicy: 'Default' }) }).config).toEqual(host);
    expect(podDnsConfig({ ...base, pod: mkPod({ hostNetwork: true }) }).config).toEqual(host);
    expect(podDnsConfig({ ...base, pod: mkPod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }) }).config.servers).toEqual(['10.96.0.10']);
    expect(
      podDnsConfig({ ...base, pod: mkPod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: ['x.y'], options: [{ name: 'ndots', value: '1' }, { name: 'edns0' }] } }) }).config,
    ).toEqual({ servers: ['9.9.9.9'], searches: ['x.y'], options: ['ndots:1', 'edns0'] });
    const merged = podDnsConfig({ ...base, pod: mkPod({ dnsConfig: { options: [{ name: 'ndots', value: '2' }], searches: ['svc.cluster.local', 'extra'] } }) }).config;
    expect(merged.options).toEqual(['ndots:2']);
    expect(merged.searches).toEqual(['prod.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'a.example', 'b.example', 'extra']);
  });

  it('falls back to the host config without clusterDNS, with kubelet warning', () => {
    const r = podDnsConfig({ clusterDNS: [], clusterDomain: 'cluster.local', host, pod: mkPod() });
    expect(r.config).toEqual(host);
    expect(r.warning?.reason).toBe('MissingClusterDNS');
    expect(r.warning?.message).toContain('kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.');
    expect(podDnsConfig({ clusterDNS: [], clusterDomain: 'c', host: undefined, pod: mkPod({ dnsPolicy: 'Default' }) }).config).toEqual({ servers: ['127.0.0.1'], searches: ['.'], options: [] });
  });

  it('trims to the resolver limits', () => {
    const r = podDnsConfig({ clusterDNS: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'], clusterDomain: 'cluster.local', host, pod: mkPod() });
    expect(r.config.servers).toEqual(['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    expect(r.warning?.reason).toBe('DNSConfigForming');
  });
});

describe('hostname', () => {
  it('truncates to 63 characters without a trailing dash or dot', () => {
    expect(podHostname(mkPod({}, { name: `${'a'.repeat(62)}-bbbb` }))).toBe('a'.repeat(62));
    expect(podHostname(mkPod({ hostname: 'h' }))).toBe('h');
  });
});

describe('expansion', () => {
  it('follows kubelet rules', () => {
    const m = mappingFuncFor(new Map([['A', 'x'], ['B', '$(A)']]));
    expect(expand('$(A)-$(B)-$(C)-$$(A)-$$-$-$(', m)).toBe('x-$(A)-$(C)-$(A)-$-$-$(');
    expect(expand('$A $', m)).toBe('$A $');
  });
});

describe('environment', () => {
  const source = (cms: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>> = {}): ConfigSource => ({
    configMap: async (_ns, name) => (cms[name] ? { data: cms[name] } : undefined),
    secret: async (_ns, name) => (secrets[name] ? { data: Object.fromEntries(Object.entries(secrets[name]).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : undefined),
  });

  it('resolves field, resource, ConfigMap and Secret references, envFrom with prefix, and service variables', async () => {
    const pod = mkPod({
      containers: [
        {
          name: 'c',
          resources: { limits: { memory: '128Mi' }, requests: { cpu: '250m' } },
          envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'missing', optional: true } }],
          env: [
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
            { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
            { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
            { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope', optional: true } } },
            { name: 'REF', value: '$(CM_k)/$(POD)/$(KUBERNETES_SERVICE_HOST)' },
          ],
        },
      ],
    });
    const env = await makeEnvironment({
      pod,
      container: pod.spec!.containers[0],
      podIPs: ['10.0.0.5', 'fd00::5'],
      hostIPs: ['192.168.1.10'],
      serviceEnv: serviceEnvMap([{ metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } }], 'prod', true),
      nodeAllocatable: { cpu: '3500m', memory: '8Gi' },
      source: source({ cm: { k: 'v' } }, { s: { password: 'hunter2' } }),
    });
    const m = Object.fromEntries(env.map((e) => [e.key, e.value]));
    expect(m).toMatchObject({
      CM_k: 'v',
      POD: 'web-0',
      APP: 'web',
      IPS: '10.0.0.5,fd00::5',
      HOST: '192.168.1.10',
      MEM: '128',
      CPU: '250',
      CPU_LIMIT: '4',
      PASS: 'hunter2',
      REF: 'v/web-0/10.96.0.1',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
    });
    expect(m.OPT).toBeUndefined();
    expect(env.map((e) => e.key).indexOf('CM_k')).toBe(0);
  });

  it('fails with kubelet messages', async () => {
    const pod = mkPod({ containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }] }] });
    const run = (p: Pod, svc: Map<string, string> | undefined) =>
      makeEnvironment({ pod: p, container: p.spec!.containers[0], podIPs: [], hostIPs: [], serviceEnv: svc, source: source({}, { have: {} }) });
    await expect(run(pod, new Map())).rejects.toThrow(new EnvError('secret "gone" not found'));
    const p2 = mkPod({ containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'have', key: 'k' } } }] }] });
    await expect(run(p2, new Map())).rejects.toThrow("couldn't find key k in Secret prod/have");
    await expect(run(p2, undefined)).rejects.toThrow('services have not yet been read at least once, cannot construct envvars');
  });

  it('formats whole label maps and rejects unknown field paths', () => {
    expect(fieldRefValue({ fieldPath: 'metadata.labels' }, mkPod(), [], [])).toBe('app="web"\ntier="fe"');
    expect(() => fieldRefValue({ fieldPath: 'spec.nope' }, mkPod(), [], [])).toThrow('unsupported fieldPath: spec.nope');
    expect(resourceFieldRefValue({ resource: 'limits.memory' }, mkPod(), { name: 'c' }, { memory: '1Gi' })).toBe(String(1024 ** 3));
  });
});

describe('small formats', () => {
  it('prints Go durations', () => {
    expect([0, 5, 999, 1000, 1200, 10_000, 80_000, 300_000, 3_600_000, 3_723_500].map(formatGoDuration)).toEqual([
      '0s', '5ms', '999ms', '1s', '1.2s', '10s', '1m20s', '5m0s', '1h0m0s', '1h2m3.5s',
    ]);
  });

  it('tails CRI log lines, joining partial ones', () => {
    const log = ['2026-01-01T00:00:00.000000000Z stdout F one', '2026-01-01T00:00:00.000000000Z stderr P tw', '2026-01-01T00:00:00.000000000Z stderr F o', '2026-01-01T00:00:00.000000000Z stdout F three', ''].join('\n');
    expect(tailLogMessages(log, 2)).toBe('two\nthree\n');
  });
});
