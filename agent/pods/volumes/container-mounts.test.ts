import { mkdtemp, mkdir, readFile, realpath, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import {
  ContainerMountError,
  containerMounts,
  expandVars,
  goQuote,
  managedHostsFileContent,
  parseMountInfo,
  podHostnameAndDomain,
  writeAtomic,
  writeEtcHosts,
  type MountedVolume,
} from './index.js';

describe('containerMounts', () => {
  let root: string;
  let vols: Map<string, MountedVolume>;
  beforeEach(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'skiff-mnt-')));
    await mkdir(join(root, 'data'));
    await chmod(join(root, 'data'), 0o777);
    await mkdir(join(root, 'cfg'));
    await writeAtomic(join(root, 'cfg'), new Map([['app.conf', { data: Buffer.from('x'), mode: 0o644 }]]), { now: () => 0 });
    vols = new Map<string, MountedVolume>([
      ['data', { hostPath: join(root, 'data'), readOnly: false, isDir: true }],
      ['cfg', { hostPath: join(root, 'cfg'), readOnly: true, isDir: true }],
    ]);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const c = (mounts: Container['volumeMounts'], extra: Partial<Container> = {}): Container => ({ name: 'web', image: 'x', volumeMounts: mounts, ...extra });

  it('maps volumeMounts, read-only flags and propagation', () => {
    const mounts = containerMounts(
      c([
        { name: 'data', mountPath: '/data' },
        { name: 'data', mountPath: '/ro', readOnly: true, mountPropagation: 'HostToContainer' },
        { name: 'cfg', mountPath: '/etc/app' },
      ]),
      vols,
      { etcHostsPath: join(root, 'etc-hosts') },
    );
    expect(mounts).toEqual([
      { containerPath: '/data', hostPath: join(root, 'data'), readonly: false, propagation: 'PROPAGATION_PRIVATE' },
      { containerPath: '/ro', hostPath: join(root, 'data'), readonly: true, propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
      { containerPath: '/etc/app', hostPath: join(root, 'cfg'), readonly: true, propagation: 'PROPAGATION_PRIVATE' },
      { containerPath: '/etc/hosts', hostPath: join(root, 'etc-hosts'), readonly: false, selinuxRelabel: true },
    ]);
  });

  it('does not add /etc/hosts when the container mounts its own', () => {
    const mounts = containerMounts(c([{ name: 'data', mountPath: '/etc/hosts', subPath: 'hosts' }]), vols, { etcHostsPath: '/x/etc-hosts' });
    expect(mounts.map((m) => m.containerPath)).toEqual(['/etc/hosts']);
  });

  it('names the missing volume', () => {
    expect(() => containerMounts(c([{ name: 'nope', mountPath: '/x' }]), vols)).toThrow(ContainerMountError);
    expect(() => containerMounts(c([{ name: 'nope', mountPath: '/x' }]), vols)).toThrow('cannot find volume "nope" to mount into container "web"');
  });

  it('allows Bidirectional only for privileged containers', () => {
    const m = [{ name: 'data', mountPath: '/d', mountPropagation: 'Bidirectional' }];
    expect(() => containerMounts(c(m), vols)).toThrow(/Bidirectional mount propagation is available only to privileged containers/);
    expect(containerMounts(c(m, { securityContext: { privileged: true } }), vols)[0].propagation).toBe('PROPAGATION_BIDIRECTIONAL');
  });

  it('creates a missing subPath with the volume mode and resolves configMap keys', async () => {
    const [m] = containerMounts(c([{ name: 'data', mountPath: '/logs', subPath: 'logs/web' }]), vols);
    expect(m.hostPath).toBe(join(root, 'data/logs/web'));
    expect((await stat(m.hostPath)).mode & 0o777).toBe(0o777);
    const [k] = containerMounts(c([{ name: 'cfg', mountPath: '/etc/app.conf', subPath: 'app.conf' }]), vols);
    expect(await readFile(k.hostPath, 'utf8')).toBe('x');
    expect(k.hostPath).toMatch(/\/cfg\/\.\.[0-9_]+\.[0-9a-f]+\/app\.conf$/);
    expect(k.readonly).toBe(true);
  });

  it('rejects absolute, back-stepping and escaping subPaths', async () => {
    expect(() => containerMounts(c([{ name: 'data', mountPath: '/x', subPath: '/etc' }]), vols)).toThrow('error SubPath `/etc` must not be an absolute path');
    expect(() => containerMounts(c([{ name: 'data', mountPath: '/x', subPath: 'a/../../b' }]), vols)).toThrow("unable to provision SubPath `a/../../b`: must not contain '..'");
    await symlink('/etc', join(root, 'data', 'evil'));
    expect(() => containerMounts(c([{ name: 'data', mountPath: '/x', subPath: 'evil' }]), vols)).toThrow('failed to prepare subPath for volumeMount "data" of container "web"');
    expect(() => containerMounts(c([{ name: 'data', mountPath: '/x', subPath: 'evil/new' }]), vols)).toThrow(
      'failed to create subPath directory for volumeMount "data" of container "web"',
    );
  });

  it('expands subPathExpr from the environment', () => {
    const [m] = containerMounts(c([{ name: 'data', mountPath: '/x', subPathExpr: '$(POD_NAME)/logs' }]), vols, { env: { POD_NAME: 'web-0' } });
    expect(m.hostPath).toBe(join(root, 'data/web-0/logs'));
    expect(() => containerMounts(c([{ name: 'data', mountPath: '/x', subPathExpr: '$(NOPE)' }]), vols, { env: {} })).toThrow('missing value for NOPE');
  });
});

describe('etc hosts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-hosts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const pod = (spec: Partial<NonNullable<Pod['spec']>>): Pod => ({ metadata: { name: 'web-0', namespace: 'shop', uid: 'u' }, spec: { containers: [], ...spec } });

  it('writes kubelet’s managed hosts file', async () => {
    const p = pod({ hostname: 'web-0', subdomain: 'web', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] });
    const file = await writeEtcHosts(p, ['10.244.0.5', 'fd00::5'], dir);
    expect(file).toBe(join(dir, 'etc-hosts'));
    expect(await readFile(file, 'utf8')).toBe(
      [
        '# Kubernetes-managed hosts file.',
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'fe00::0\tip6-mcastprefix',
        'fe00::1\tip6-allnodes',
        'fe00::2\tip6-allrouters',
        '10.244.0.5\tweb-0.web.shop.svc.cluster.local\tweb-0',
        'fd00::5\tweb-0.web.shop.svc.cluster.local\tweb-0',
        '',
        '# Entries added by HostAliases.',
        '10.1.2.3\tfoo.local\tbar.local',
        '',
      ].join('\n'),
    );
    expect((await stat(file)).mode & 0o777).toBe(0o644);
  });

  it('uses the pod name without subdomain, truncated to 63 characters', () => {
    expect(managedHostsFileContent(['10.0.0.1'], 'web', '')).toContain('10.0.0.1\tweb\n');
    const long = pod({});
    long.metadata!.name = `${'a'.repeat(62)}-b-c`;
    expect(podHostnameAndDomain(long, 'cluster.local').hostname).toBe('a'.repeat(62));
  });

  it('copies the node hosts file for hostNetwork pods', async () => {
    await writeFile(join(dir, 'node-hosts'), '127.0.0.1 localhost\n10.0.0.9 node-1\n');
    const file = await writeEtcHosts(pod({ hostNetwork: true, hostAliases: [{ ip: '1.2.3.4', hostnames: ['x'] }] }), ['10.0.0.9'], dir, {
      nodeHostsFile: join(dir, 'node-hosts'),
    });
    expect(await readFile(file, 'utf8')).toBe(
      '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n10.0.0.9 node-1\n\n# Entries added by HostAliases.\n1.2.3.4\tx\n',
    );
  });
});

describe('helpers', () => {
  it('parses mountinfo with escaped paths', () => {
    const text = [
      '36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      '41 31 0:38 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~secret/s rw,relatime - tmpfs tmpfs rw,size=1024k',
    ].join('\n');
    expect(parseMountInfo(text)).toEqual([
      { mountPoint: '/mnt/with space', fsType: 'ext3', source: '/dev/root' },
      { mountPoint: '/var/lib/kubelet/pods/u/volumes/kubernetes.io~secret/s', fsType: 'tmpfs', source: 'tmpfs' },
    ]);
  });

  it('expands $(VAR) like Kubernetes', () => {
    const env: Record<string, string> = { A: 'x', B: '' };
    const m = (k: string): string | undefined => env[k];
    expect(expandVars('$(A)-$(B)-$(C)', m)).toBe('x--$(C)');
    expect(expandVars('$$(A) $$ $x $(A', m)).toBe('$(A) $ $x $(A');
    expect(expandVars('a$', m)).toBe('a$');
  });
  it('quotes like Go %q', () => {
    expect(goQuote('say "hi"\n\ttab\\')).toBe('"say \\"hi\\"\\n\\ttab\\\\"');
    expect(goQuote('é\u0001')).toBe('"é\\x01"');
    expect(goQuote(Buffer.from([0xff, 0x41]))).toBe('"\\xffA"');
  });
});
