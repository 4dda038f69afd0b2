import { lstat, mkdtemp, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigMap, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { ConfigMaps, Secrets, type KubeClient } from '../../../lib/kube/index.js';
import type { Logger } from '../../../lib/log.js';
import { createApi, type Api } from '../../../controlplane/index.js';
import { VolumeError, createVolumeManager, type MountInfo, type Mounter, type VolumeManager } from './index.js';

/** Records tmpfs mounts without mounting anything. */
class FakeMounter implements Mounter {
  mounts: { dir: string; options: string[] }[] = [];
  calls: string[] = [];
  async mountTmpfs(dir: string, options: string[]): Promise<void> {
    this.calls.push(`mount ${dir} ${options.join(',')}`);
    this.mounts.push({ dir, options });
  }
  async unmount(dir: string): Promise<void> {
    this.calls.push(`umount ${dir}`);
    const i = this.mounts.findIndex((m) => m.dir === dir);
    if (i < 0) throw new Error(`not mounted: ${dir}`);
    this.mounts.splice(i, 1);
  }
  async mountPointsUnder(dir: string): Promise<MountInfo[]> {
    return this.mounts
      .filter((m) => m.dir === dir || m.dir.startsWith(dir + '/'))
      .map((m) => ({ mountPoint: m.dir, fsType: 'tmpfs', source: 'tmpfs' }))
      .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  }
}

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

const UID = '0b1c2d3e-0000-4000-8000-000000000001';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function mkPod(volumes: Volume[], extra: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return {
    metadata: { name: 'web-0', namespace: 'default', uid: UID, ...meta },
    spec: { containers: [{ name: 'web', image: 'x' }], volumes, ...extra },
  };
}

describe('volume manager', () => {
  let root: string;
  let api: Api;
  let client: KubeClient;
  let mounter: FakeMounter;
  let clock: FakeClock;
  let vm: VolumeManager;
  let log: ReturnType<typeof capturingLogger>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'skiff-vol-'));
    api = await createApi();
    client = api.client;
    mounter = new FakeMounter();
    clock = new FakeClock();
    log = capturingLogger();
    vm = createVolumeManager({
      rootDir: root,
      client,
      nodeName: 'node-1',
      logger: log.logger,
      clock,
      mounter,
      nodeAllocatable: () => ({ cpu: '2', memory: '4Gi', 'ephemeral-storage': '10Gi' }),
    });
  });
  afterEach(async () => {
    await api.close();
    await rm(root, { recursive: true, force: true });
  });

  const volDir = (plugin: string, name: string): string => join(root, 'pods', UID, 'volumes', plugin, name);

  async function putConfigMap(name: string, data: Record<string, string>, binaryData?: Record<string, string>): Promise<void> {
    const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data, binaryData };
    try {
      const cur = await client.get<ConfigMap>(ConfigMaps, 'default', name);
      await client.update(ConfigMaps, { ...cm, metadata: { ...cm.metadata, resourceVersion: cur.metadata?.resourceVersion } });
    } catch {
      await client.create(ConfigMaps, cm);
    }
  }

  async function putSecret(name: string, data: Record<string, string>): Promise<void> {
    const s: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
    await client.create(Secrets, s);
  }

  it('creates emptyDir volumes with mode 0777 and tmpfs for medium Memory, idempotently', async () => {
    const pod = mkPod([{ name: 'scratch', emptyDir: {} }, { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }]);
    const vols = await vm.setUp(pod);
    expect(vols.get('scratch')).toEqual({ hostPath: volDir('kubernetes.io~empty-dir', 'scratch'), readOnly: false, isDir: true });
    expect((await stat(volDir('kubernetes.io~empty-dir', 'scratch'))).mode & 0o7777).toBe(0o777);
    const shm = volDir('kubernetes.io~empty-dir', 'shm');
    expect(mounter.mounts).toEqual([{ dir: shm, options: [`size=${64 * 1024 * 1024}`] }]);
    await vm.setUp(pod);
    expect(mounter.mounts).toHaveLength(1);
  });

  it('sizes a memory emptyDir by the pod memory limit when it is below node allocatable', async () => {
    const pod = mkPod([{ name: 'shm', emptyDir: { medium: 'Memory' } }]);
    pod.spec!.containers[0].resources = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
    await vm.setUp(pod);
    expect(mounter.mounts[0].options).toEqual([`size=${1024 ** 3}`]);
  });

  it('projects a configMap with the ..data indirection and updates it atomically', async () => {
    await putConfigMap('app-config', { 'a.conf': 'one', b: 'two' }, { bin: b64('\x00\x01') });
    const pod = mkPod([{ name: 'cfg', configMap: { name: 'app-config' } }]);
    const vols = await vm.setUp(pod);
    const dir = volDir('kubernetes.io~configmap', 'cfg');
    expect(vols.get('cfg')).toEqual({ hostPath: dir, readOnly: true, isDir: true });
    expect(mounter.mounts).toEqual([]); // configMap volumes live on disk
    expect((await stat(dir)).mode & 0o7777).toBe(0o777);
    expect(await readlink(join(dir, 'a.conf'))).toBe('..data/a.conf');
    const ts1 = await readlink(join(dir, '..data'));
    expect(ts1).toMatch(/^\.\.2026_01_01_00_00_00\.[0-9a-f]+$/);
    expect(await readFile(join(dir, 'a.conf'), 'utf8')).toBe('one');
    expect(await readFile(join(dir, 'bin'))).toEqual(Buffer.from([0, 1]));
    expect((await stat(join(dir, 'b'))).mode & 0o777).toBe(0o644);

    // Unchanged content: nothing is rewritten.
    await vm.setUp(pod);
    expect(await readlink(join(dir, '..data'))).toBe(ts1);

    // Changed content: a new timestamped dir is swapped in, a dropped key disappears.
    await putConfigMap('app-config', { 'a.conf': 'uno' });
    await clock.advance(2000);
    await vm.setUp(pod);
    const ts2 = await readlink(join(dir, '..data'));
    expect(ts2).not.toBe(ts1);
    expect(await readFile(join(dir, 'a.conf'), 'utf8')).toBe('uno');
    await expect(lstat(join(dir, 'b'))).rejects.toThrow(/ENOENT/);
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(['..data', ts2, 'a.conf'].sort());
  });

  it('maps items to paths with modes, defaultMode and nested directories', async () => {
    await putConfigMap('app-config', { k1: 'v1', k2: 'v2', k3: 'v3' });
    const pod = mkPod([
      {
        name: 'cfg',
        configMap: { name: 'app-config', defaultMode: 0o440, items: [{ key: 'k1', path: 'one' }, { key: 'k2', path: 'sub/dir/two', mode: 0o600 }] },
      },
    ]);
    await vm.setUp(pod);
    const dir = volDir('kubernetes.io~configmap', 'cfg');
    expect((await readdir(dir)).filter((n) => !n.startsWith('..')).sort()).toEqual(['one', 'sub']);
    expect(await readFile(join(dir, 'sub/dir/two'), 'utf8')).toBe('v2');
    expect((await stat(join(dir, 'one'))).mode & 0o777).toBe(0o440);
    expect((await stat(join(dir, 'sub/dir/two'))).mode & 0o777).toBe(0o600);
  });

  it('reports a missing configMap with kubelet FailedMount text, and tolerates an optional one', async () => {
    const pod = mkPod([{ name: 'cfg', configMap: { name: 'app-config' } }]);
    const err = await vm.setUp(pod).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VolumeError);
    const ve = err as VolumeError;
    expect(ve.code).toBe('SKIFF_VOLUME');
    expect(ve.reason).toBe('FailedMount');
    expect(ve.volumeName).toBe('cfg');
    expect(ve.message).toBe('MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found');

    const opt = mkPod([{ name: 'cfg', configMap: { name: 'app-config', optional: true } }]);
    const vols = await vm.setUp(opt);
    const dir = vols.get('cfg')!.hostPath;
    expect((await readdir(dir)).filter((n) => !n.startsWith('..'))).toEqual([]);
  });

  it('reports a missing key unless optional', async () => {
    await putConfigMap('app-config', { present: 'x' });
    const pod = mkPod([{ name: 'cfg', configMap: { name: 'app-config', items: [{ key: 'absent', path: 'a' }] } }]);
    await expect(vm.setUp(pod)).rejects.toThrow('MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: absent');
    const opt = mkPod([{ name: 'cfg', configMap: { name: 'app-config', optional: true, items: [{ key: 'absent', path: 'a' }, { key: 'present', path: 'p' }] } }]);
    const vols = await vm.setUp(opt);
    expect(await readFile(join(vols.get('cfg')!.hostPath, 'p'), 'utf8')).toBe('x');
  });

  it('projects secrets on tmpfs and never leaks their values into errors or logs', async () => {
    const SECRET = 'hunter2-very-secret-value';
    await putSecret('db', { password: SECRET, user: 'admin' });
    const pod = mkPod([{ name: 'creds', secret: { secretName: 'db', items: [{ key: 'password', path: 'pw', mode: 0o400 }] } }]);
    const vols = await vm.setUp(pod);
    const dir = volDir('kubernetes.io~secret', 'creds');
    expect(mounter.mounts.map((m) => m.dir)).toEqual([dir]);
    expect(await readFile(join(dir, 'pw'), 'utf8')).toBe(SECRET);
    expect((await stat(join(dir, 'pw'))).mode & 0o777).toBe(0o400);
    expect(vols.get('creds')!.readOnly).toBe(true);

    const bad = mkPod([{ name: 'creds', secret: { secretName: 'db', items: [{ key: 'nope', path: 'x' }] } }, { name: 'other', secret: { secretName: 'missing' } }]);
    const err = (await vm.setUp(bad).catch((e: unknown) => e)) as VolumeError;
    expect(err.message).toBe('MountVolume.SetUp failed for volume "creds" : references non-existent secret key: nope');
    expect(err.errors.map((e) => e.message)).toEqual([
      'MountVolume.SetUp failed for volume "creds" : references non-existent secret key: nope',
      'MountVolume.SetUp failed for volume "other" : secret "missing" not found',
    ]);
    for (const e of err.errors) expect(e.message).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(b64(SECRET));
  });

  it('writes downwardAPI files like kubelet', async () => {
    const pod = mkPod(
      [
        {
          name: 'info',
          downwardAPI: {
            items: [
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
              { path: 'app', fieldRef: { fieldPath: "metadata.labels['app']" } },
              { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
              { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } },
              { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } },
              { path: 'mem', resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } },
              { path: 'cpu', resourceFieldRef: { containerName: 'web', resource: 'limits.cpu', divisor: '1m' } },
              { path: 'cpureq', resourceFieldRef: { containerName: 'web', resource: 'requests.cpu' } },
            ],
          },
        },
      ],
      {},
      { labels: { app: 'web', tier: 'front' }, annotations: { note: 'say "hi"\nbye' } },
    );
    pod.spec!.containers[0].resources = { requests: { cpu: '250m' }, limits: { memory: '128Mi' } };
    const vols = await vm.setUp(pod);
    const dir = vols.get('info')!.hostPath;
    const f = (n: string): Promise<string> => readFile(join(dir, n), 'utf8');
    expect(await f('labels')).toBe('app="web"\ntier="front"');
    expect(await f('annotations')).toBe('note="say \\"hi\\"\\nbye"');
    expect(await f('app')).toBe('web');
    expect(await f('name')).toBe('web-0');
    expect(await f('ns')).toBe('default');
    expect(await f('uid')).toBe(UID);
    expect(await f('mem')).toBe('128');
    expect(await f('cpu')).toBe('2000'); // no limit: node allocatable
    expect(await f('cpureq')).toBe('1'); // 250m / 1, rounded up
    expect(mounter.mounts.map((m) => m.dir)).toEqual([dir]);

    // Labels change: the next sync rewrites the file.
    pod.metadata!.labels = { app: 'web2' };
    await vm.setUp(pod);
    expect(await f('labels')).toBe('app="web2"');
  });

  it('merges projected sources and rejects serviceAccountToken clearly', async () => {
    await putConfigMap('cm', { a: 'A' });
    await putSecret('sec', { b: 'B' });
    const pod = mkPod([
      {
        name: 'all',
        projected: {
          defaultMode: 0o444,
          sources: [{ configMap: { name: 'cm' } }, { secret: { name: 'sec' } }, { downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'metadata.name' } }] } }],
        },
      },
    ]);
    const vols = await vm.setUp(pod);
    const dir = volDir('kubernetes.io~projected', 'all');
    expect(vols.get('all')!.hostPath).toBe(dir);
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('A');
    expect(await readFile(join(dir, 'b'), 'utf8')).toBe('B');
    expect(await readFile(join(dir, 'n'), 'utf8')).toBe('web-0');
    expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o444);

    const sa = mkPod([{ name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } }]);
    await expect(vm.setUp(sa)).rejects.toThrow('MountVolume.SetUp failed for volume "token" : serviceAccountToken projection is not supported by this node');
    const both = mkPod([{ name: 'x', projected: { sources: [{ configMap: { name: 'nope' } }, { secret: { name: 'nada' } }] } }]);
    await expect(vm.setUp(both)).rejects.toThrow('MountVolume.SetUp failed for volume "x" : [configmap "nope" not found, secret "nada" not found]');
  });

  it('checks hostPath types', async () => {
    const host = join(root, 'host');
    await mkdir(host);
    await writeFile(join(host, 'file'), 'x');
    const hp = (name: string, path: string, type?: string): Volume => ({ name, hostPath: { path, type } });
    const ok = await vm.setUp(
      mkPod([
        hp('any', join(host, 'missing')),
        hp('dir', host, 'Directory'),
        hp('mkdir', join(host, 'made/deep'), 'DirectoryOrCreate'),
        hp('file', join(host, 'file'), 'File'),
        hp('touch', join(host, 'touched'), 'FileOrCreate'),
        hp('null', '/dev/null', 'CharDevice'),
      ]),
    );
    expect(ok.get('any')).toEqual({ hostPath: join(host, 'missing'), readOnly: false, isDir: true });
    expect(ok.get('file')!.isDir).toBe(false);
    expect((await stat(join(host, 'made/deep'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(host, 'touched'))).isFile()).toBe(true);

    const fails: [Volume, string][] = [
      [hp('v', join(host, 'file'), 'Directory'), `hostPath type check failed: ${join(host, 'file')} is not a directory`],
      [hp('v', host, 'File'), `hostPath type check failed: ${host} is not a file`],
      [hp('v', join(host, 'file'), 'Socket'), `hostPath type check failed: ${join(host, 'file')} is not a socket file`],
      [hp('v', join(host, 'file'), 'BlockDevice'), `hostPath type check failed: ${join(host, 'file')} is not a block device`],
      [hp('v', join(host, 'file'), 'CharDevice'), `hostPath type check failed: ${join(host, 'file')} is not a character device`],
      [hp('v', join(host, 'nope'), 'Directory'), `hostPath type check failed: ${join(host, 'nope')} is not a directory`],
      [hp('v', join(host, 'file'), 'DirectoryOrCreate'), `hostPath type check failed: ${join(host, 'file')} is not a directory`],
      [hp('v', join(host, 'x'), 'Weird'), 'Weird is an invalid volume type'],
    ];
    for (const [v, msg] of fails) {
      await expect(vm.setUp(mkPod([v]))).rejects.toThrow(`MountVolume.SetUp failed for volume "v" : ${msg}`);
    }
  });

  it('fails unsupported volume types', async () => {
    const pod = mkPod([{ name: 'data', persistentVolumeClaim: { claimName: 'pvc' } }]);
    const err = (await vm.setUp(pod).catch((e: unknown) => e)) as VolumeError;
    expect(err.message).toBe('MountVolume.SetUp failed for volume "data" : unsupported volume type "persistentVolumeClaim"');
    expect(err.reason).toBe('FailedMount');
  });

  it('treats a volume without a source as an emptyDir', async () => {
    const vols = await vm.setUp(mkPod([{ name: 'plain' }]));
    expect(vols.get('plain')!.hostPath).toBe(volDir('kubernetes.io~empty-dir', 'plain'));
  });

  it('applies fsGroup ownership', async () => {
    if (process.getuid?.() !== 0) return;
    await putConfigMap('cm', { a: 'A' });
    const pod = mkPod([{ name: 'e', emptyDir: {} }, { name: 'c', configMap: { name: 'cm' } }], { securityContext: { fsGroup: 2345 } });
    const vols = await vm.setUp(pod);
    const e = await stat(vols.get('e')!.hostPath);
    expect(e.gid).toBe(2345);
    expect(e.mode & 0o2000).toBe(0o2000);
    const file = await stat(join(vols.get('c')!.hostPath, 'a'));
    expect(file.gid).toBe(2345);
    expect(file.mode & 0o777).toBe(0o644);
  });

  it('times out a hanging API read with the injected clock', async () => {
    const hanging: KubeClient = { ...client, get: () => new Promise(() => undefined) } as KubeClient;
    const slow = createVolumeManager({ rootDir: root, client: hanging, nodeName: 'n', logger: log.logger, clock, mounter, apiTimeoutMs: 5000 });
    const p = slow.setUp(mkPod([{ name: 'cfg', configMap: { name: 'x' } }])).catch((e: unknown) => e);
    await clock.advance(5000);
    const err = (await p) as VolumeError;
    expect(err.message).toBe('MountVolume.SetUp failed for volume "cfg" : failed to sync configmap cache: timed out waiting for the condition');
  });

  it('rejects with AbortedError when the caller aborts', async () => {
    const hanging: KubeClient = { ...client, get: () => new Promise(() => undefined) } as KubeClient;
    const slow = createVolumeManager({ rootDir: root, client: hanging, nodeName: 'n', logger: log.logger, clock, mounter });
    const ac = new AbortController();
    const p = slow.setUp(mkPod([{ name: 'cfg', configMap: { name: 'x' } }]), ac.signal).catch((e: unknown) => e);
    ac.abort();
    const err = (await p) as Error;
    expect(err).not.toBeInstanceOf(VolumeError);
    expect((err as { code?: string }).code).toBe('SKIFF_ABORTED');
  });

  it('tears down: unmounts deepest first, removes the pod dir, and is safe twice', async () => {
    await putSecret('s', { k: 'v' });
    await vm.setUp(mkPod([{ name: 's', secret: { secretName: 's' } }, { name: 'm', emptyDir: { medium: 'Memory' } }]));
    // A stray nested mount, as after a crash.
    const nested = join(volDir('kubernetes.io~empty-dir', 'm'), 'inner');
    await mkdir(nested);
    await mounter.mountTmpfs(nested, []);
    expect(await vm.listPodDirs()).toEqual([UID]);
    mounter.calls = [];
    await vm.tearDown(UID);
    expect(mounter.calls[0]).toBe(`umount ${nested}`);
    expect(mounter.mounts).toEqual([]);
    await expect(stat(join(root, 'pods', UID))).rejects.toThrow(/ENOENT/);
    expect(await vm.listPodDirs()).toEqual([]);
    await vm.tearDown(UID);
  });

  it('keeps the pod directory when a mount will not go away', async () => {
    await vm.setUp(mkPod([{ name: 'm', emptyDir: { medium: 'Memory' } }]));
    mounter.unmount = async () => {
      throw new Error('device or resource busy');
    };
    await expect(vm.tearDown(UID)).rejects.toMatchObject({ code: 'SKIFF_VOLUME_TEARDOWN' });
    expect((await stat(join(root, 'pods', UID))).isDirectory()).toBe(true);
  });

  it('refuses unsafe pod UIDs', () => {
    expect(() => vm.podDir('../etc')).toThrow(/invalid pod UID/);
    expect(vm.podDir(UID)).toBe(join(root, 'pods', UID));
  });

  it('cleans up a stale ..data_tmp left by a crash', async () => {
    await putConfigMap('cm', { a: 'A' });
    const pod = mkPod([{ name: 'c', configMap: { name: 'cm' } }]);
    const vols = await vm.setUp(pod);
    const dir = vols.get('c')!.hostPath;
    await symlink('..nowhere', join(dir, '..data_tmp'));
    await putConfigMap('cm', { a: 'B' });
    await vm.setUp(pod);
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('B');
  });
});
