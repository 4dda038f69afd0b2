import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildKubeconfig, loadKubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-kc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubeconfig', () => {
  it('round-trips embedded credentials through buildKubeconfig', () => {
    const p = join(dir, 'a.conf');
    writeFileSync(p, buildKubeconfig({ server: 'https://127.0.0.1:6443/', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', namespace: 'team' }));
    const c = loadKubeconfig(p);
    expect(c.server).toBe('https://127.0.0.1:6443');
    expect(c.ca?.toString()).toBe('CA');
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
    expect(c.namespace).toBe('team');
  });

  it('resolves file paths relative to the kubeconfig and picks the named context', () => {
    writeFileSync(join(dir, 'ca.crt'), 'FILECA');
    writeFileSync(join(dir, 'tok'), 'sekret\n');
    const p = join(dir, 'b.conf');
    writeFileSync(
      p,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c1',
        '  cluster: {server: "https://one:6443", certificate-authority: ca.crt}',
        '- name: c2',
        '  cluster: {server: "https://two:6443", insecure-skip-tls-verify: true}',
        'users:',
        '- name: u1',
        '  user: {tokenFile: tok}',
        'contexts:',
        '- {name: x, context: {cluster: c1, user: u1}}',
        '- {name: y, context: {cluster: c2, user: u1}}',
        'current-context: x',
      ].join('\n'),
    );
    const x = loadKubeconfig(p);
    expect(x.server).toBe('https://one:6443');
    expect(x.ca?.toString()).toBe('FILECA');
    expect(x.token).toBe('sekret');
    const y = loadKubeconfig(p, 'y');
    expect(y.server).toBe('https://two:6443');
    expect(y.insecureSkipTlsVerify).toBe(true);
  });

  it('names the missing piece in its errors', () => {
    const p = join(dir, 'c.conf');
    writeFileSync(p, 'clusters: []\ncontexts: [{name: a, context: {cluster: nope, user: u}}]\ncurrent-context: a\n');
    expect(() => loadKubeconfig(p)).toThrow(/cluster "nope" not found/);
    expect(() => loadKubeconfig(join(dir, 'missing.conf'))).toThrow(/cannot read kubeconfig/);
  });
});
