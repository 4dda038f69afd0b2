import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../lib/log.js';
import { parseControlPlaneConfig, runControlPlane } from './main.js';
import { ensureControlPlanePki } from './server/index.js';

describe('skiff control-plane flags', () => {
  it('has upstream defaults', () => {
    const c = parseControlPlaneConfig(['--advertise-address', '192.0.2.1']);
    expect(c).toEqual({
      stateDir: '/var/lib/skiff/control-plane',
      bindAddress: '0.0.0.0',
      securePort: 6443,
      advertiseAddress: '192.0.2.1',
      serviceClusterIPRange: '10.96.0.0/16',
      clusterCidr: '10.244.0.0/16',
      nodeCidrMaskSize: 24,
      storage: 'memory',
      snapshotFile: '/var/lib/skiff/control-plane/store.json',
    });
  });

  it('takes --flag=value and rejects unknown flags, bad values and other storages', () => {
    expect(parseControlPlaneConfig(['--secure-port=7443', '--state-dir=/x']).securePort).toBe(7443);
    expect(() => parseControlPlaneConfig(['--nope'])).toThrow(/unknown flag: --nope/);
    expect(() => parseControlPlaneConfig(['--secure-port', 'abc'])).toThrow(/secure-port/);
    expect(() => parseControlPlaneConfig(['--service-cluster-ip-range', '10.96.0.0'])).toThrow(/CIDR/);
    expect(() => parseControlPlaneConfig(['--storage', 'etcd'])).toThrow(/not supported yet/);
  });
});

describe('skiff control-plane kubeconfig', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes a node kubeconfig for system:node:<name> in system:nodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cp-main-'));
    dirs.push(dir);
    ensureControlPlanePki(dir, { advertiseAddress: '127.0.0.1', serviceIP: '10.96.0.1' });
    const out = join(dir, 'n1.conf');
    const code = await runControlPlane(['kubeconfig', '--node', 'n1', '--out', out, '--state-dir', dir, '--server', 'https://127.0.0.1:6443'], { logger: silentLogger() });
    expect(code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const kc = parseYaml(readFileSync(out, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { 'client-certificate-data': string } }[];
    };
    expect(kc.clusters[0].cluster.server).toBe('https://127.0.0.1:6443');
    const cert = new X509Certificate(Buffer.from(kc.users[0].user['client-certificate-data'], 'base64'));
    expect(cert.subject.split('\n')).toEqual(['O=system:nodes', 'CN=system:node:n1']);
  });

  it('fails with exit code 2 without --node, and 1 without a CA', async () => {
    expect(await runControlPlane(['kubeconfig', '--out', '/dev/null'], { logger: silentLogger() })).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cp-main-'));
    dirs.push(dir);
    expect(await runControlPlane(['kubeconfig', '--node', 'n', '--state-dir', dir], { logger: silentLogger() })).toBe(1);
  });

  it('reuses the PKI and reissues the serving certificate when the advertise address changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cp-main-'));
    dirs.push(dir);
    const a = ensureControlPlanePki(dir, { advertiseAddress: '127.0.0.1', serviceIP: '10.96.0.1' });
    const b = ensureControlPlanePki(dir, { advertiseAddress: '127.0.0.1', serviceIP: '10.96.0.1' });
    expect(b.ca.certPem).toBe(a.ca.certPem);
    expect(b.apiserver.certPem).toBe(a.apiserver.certPem);
    const c = ensureControlPlanePki(dir, { advertiseAddress: '192.0.2.9', serviceIP: '10.96.0.1' });
    expect(c.ca.certPem).toBe(a.ca.certPem);
    expect(c.apiserver.certPem).not.toBe(a.apiserver.certPem);
    expect(new X509Certificate(c.apiserver.certPem).checkIP('192.0.2.9')).toBe('192.0.2.9');
    expect(new X509Certificate(c.apiserver.certPem).checkHost('kubernetes.default.svc.cluster.local')).toBeDefined();
  });
});
