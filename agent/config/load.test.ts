import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAgentConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const base = ['--kubeconfig=/etc/kubernetes/kubelet.conf'];

describe('loadAgentConfig', () => {
  it('applies the v1beta1 config-file defaults', () => {
    const { config } = loadAgentConfig(base, { hostname: 'Node-A' });
    expect(config.nodeName).toBe('node-a');
    expect(config.server.port).toBe(10250);
    expect(config.server.healthzPort).toBe(10248);
    expect(config.server.authentication.anonymousEnabled).toBe(false);
    expect(config.server.authorization.mode).toBe('Webhook');
    expect(config.nodeStatusUpdateFrequencyMs).toBe(10_000);
    expect(config.nodeLeaseDurationSeconds).toBe(40);
    expect(config.runtimeRequestTimeoutMs).toBe(120_000);
    expect(config.maxPods).toBe(110);
    expect(config.containerRuntimeEndpoint).toBe('unix:///run/containerd/containerd.sock');
    expect(config.podLogsDir).toBe('/var/log/pods');
    expect(config.certDir).toBe('/var/lib/kubelet/pki');
  });

  it('reads the file, resolves relative paths, and lets flags override it', () => {
    const cfg = file(
      'config.yaml',
      [
        'apiVersion: kubelet.config.k8s.io/v1beta1',
        'kind: KubeletConfiguration',
        'maxPods: 50',
        'syncFrequency: 30s',
        'clusterDNS: [10.96.0.10]',
        'clusterDomain: cluster.local',
        'authentication:',
        '  x509: {clientCAFile: pki/ca.crt}',
        '  anonymous: {enabled: false}',
        'registerWithTaints: [{key: dedicated, value: infra, effect: NoSchedule}]',
        'featureGates: {Foo: true}',
        'cpuManagerPolicy: none',
      ].join('\n'),
    );
    const { config, warnings } = loadAgentConfig([...base, `--config=${cfg}`, '--max-pods', '20', '--node-labels=a=b,c=d', '--hostname-override=n1']);
    expect(config.maxPods).toBe(20);
    expect(config.syncFrequencyMs).toBe(30_000);
    expect(config.clusterDNS).toEqual(['10.96.0.10']);
    expect(config.server.authentication.clientCAFile).toBe(join(dir, 'pki/ca.crt'));
    expect(config.registerWithTaints).toEqual([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]);
    expect(config.nodeLabels).toEqual({ a: 'b', c: 'd' });
    expect(config.featureGates).toEqual({ Foo: true });
    expect(config.nodeName).toBe('n1');
    expect(warnings).toEqual([]);
  });

  it('reads the proxy flags; the proxy keeps its rules on exit unless told otherwise', () => {
    expect(loadAgentConfig(base, { hostname: 'n' }).config.proxy).toEqual({ enabled: true, cleanupOnExit: false });
    const { config } = loadAgentConfig(
      [...base, '--proxy-mode=iptables', '--proxy-kubeconfig=/etc/kubernetes/proxy.conf', '--cluster-cidr=10.244.0.0/16', '--proxy-cleanup-on-exit'],
      { hostname: 'n' },
    );
    expect(config.proxy).toEqual({
      enabled: true,
      mode: 'iptables',
      kubeconfig: '/etc/kubernetes/proxy.conf',
      clusterCIDR: '10.244.0.0/16',
      cleanupOnExit: true,
    });
    expect(loadAgentConfig([...base, '--disable-proxy'], { hostname: 'n' }).config.proxy.enabled).toBe(false);
  });

  it('refuses --node-labels that NodeRestriction would refuse, as kubelet does', () => {
    const ok = loadAgentConfig([...base, '--node-labels=a=b,node.kubernetes.io/pool=x,example.kubelet.kubernetes.io/y=z,topology.kubernetes.io/zone=z1,example.com/k=v']);
    expect(Object.keys(ok.config.nodeLabels)).toHaveLength(5);
    expect(() => loadAgentConfig([...base, '--node-labels=node-role.kubernetes.io/worker=,node-restriction.kubernetes.io/x=y,a=b'])).toThrow(
      /unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: \[node-restriction\.kubernetes\.io\/x node-role\.kubernetes\.io\/worker\]/,
    );
    expect(() => loadAgentConfig([...base, '--node-labels=k8s.io/x=y'])).toThrow(/--node-labels/);
  });

  it('merges --config-dir drop-ins in lexical order', () => {
    const d = join(dir, 'drop');
    mkdirSync(d);
    writeFileSync(join(d, '20-b.conf'), 'maxPods: 30\n');
    writeFileSync(join(d, '10-a.conf'), 'maxPods: 10\nport: 11250\n');
    writeFileSync(join(d, 'ignored.yaml'), 'maxPods: 99\n');
    const { config } = loadAgentConfig([...base, `--config-dir=${d}`]);
    expect(config.maxPods).toBe(30);
    expect(config.server.port).toBe(11250);
  });

  it('names the field of a malformed config', () => {
    const bad = file('bad.yaml', 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nsyncFrequency: ten seconds\n');
    expect(() => loadAgentConfig([...base, `--config=${bad}`])).toThrow(/field "syncFrequency": invalid duration "ten seconds"/);
    const bad2 = file('bad2.yaml', 'maxPods: lots\n');
    expect(() => loadAgentConfig([...base, `--config=${bad2}`])).toThrow(/field "maxPods": expected an integer/);
    const bad3 = file('bad3.yaml', 'authorization: {mode: Maybe}\n');
    try {
      loadAgentConfig([...base, `--config=${bad3}`]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('authorization.mode');
      expect((err as Error).message).toMatch(/must be one of "AlwaysAllow", "Webhook"/);
    }
    const bad4 = file('bad4.yaml', 'kind: Pod\n');
    expect(() => loadAgentConfig([...base, `--config=${bad4}`])).toThrow(/field "kind" must be "KubeletConfiguration"/);
    const bad5 = file('bad5.yaml', 'maxPods: [1\n');
    expect(() => loadAgentConfig([...base, `--config=${bad5}`])).toThrow(/not valid YAML/);
  });

  it('warns on unknown fields and deprecated flags, rejects unknown flags', () => {
    const f = file('unk.yaml', 'maxPodz: 3\n');
    const { warnings } = loadAgentConfig([...base, `--config=${f}`, '--pod-infra-container-image=x']);
    expect(warnings.map((w) => w.field)).toEqual(['maxPodz', 'pod-infra-container-image']);
    expect(() => loadAgentConfig([...base, '--no-such-flag=1'])).toThrow(/unknown flag: --no-such-flag/);
    expect(() => loadAgentConfig([])).toThrow(/--kubeconfig is required/);
  });
});
