/**
 * Real tmpfs mounts for emptyDir (medium: Memory) and secret volumes, and their teardown.
 * Needs root and mount(8); everything lives under a temp directory that is unmounted and
 * removed afterwards, also on failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { realClock } from '../../../lib/clock.js';
import { Secrets } from '../../../lib/kube/index.js';
import { silentLogger } from '../../../lib/log.js';
import { createApi, type Api } from '../../../controlplane/index.js';
import { createVolumeManager, parseMountInfo, type VolumeManager } from './index.js';

const isRoot = process.getuid?.() === 0;
const hasMount = ['/bin/mount', '/usr/bin/mount', '/sbin/mount'].some((p) => existsSync(p));
const skipReason = !isRoot ? 'needs root' : !hasMount ? 'needs mount(8)' : '';

function mountsUnder(dir: string): { mountPoint: string; fsType: string; options: string }[] {
  const out: { mountPoint: string; fsType: string; options: string }[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const [m] = parseMountInfo(line);
    if (!m || !(m.mountPoint === dir || m.mountPoint.startsWith(dir + '/'))) continue;
    const superOptions = line.split(' - ')[1]?.split(' ')[2] ?? '';
    out.push({ mountPoint: m.mountPoint, fsType: m.fsType, options: superOptions });
  }
  return out;
}

describe.skipIf(!!skipReason)(`tmpfs volumes for real${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let root: string;
  let api: Api;
  let vm: VolumeManager;
  const UID = 'feedface-0000-4000-8000-00000000beef';

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'skiff-vol-int-')));
    api = await createApi();
    await api.client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { password: Buffer.from('s3cr3t').toString('base64') } });
    vm = createVolumeManager({ rootDir: root, client: api.client, nodeName: 'n', logger: silentLogger(), clock: realClock, nodeAllocatable: () => ({ memory: '1Gi' }) });
  });

  afterAll(async () => {
    // Whatever happened, leave no mount and no directory behind.
    for (let i = 0; i < 10; i++) {
      const left = mountsUnder(root).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
      if (!left.length) break;
      for (const m of left) {
        try {
          execFileSync('umount', [m.mountPoint]);
        } catch {
          // retried
        }
      }
    }
    expect(mountsUnder(root)).toEqual([]);
    await rm(root, { recursive: true, force: true });
    await api.close();
  });

  it('mounts tmpfs for a memory emptyDir and a secret, and tears both down', async () => {
    const pod: Pod = {
      metadata: { name: 'p', namespace: 'default', uid: UID },
      spec: {
        containers: [{ name: 'c', image: 'x' }],
        volumes: [
          { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
          { name: 'creds', secret: { secretName: 'db' } },
        ],
      },
    };
    const vols = await vm.setUp(pod);
    const shm = vols.get('shm')!.hostPath;
    const creds = vols.get('creds')!.hostPath;
    const mounts = mountsUnder(root);
    const shmMount = mounts.find((m) => m.mountPoint === shm);
    expect(shmMount?.fsType).toBe('tmpfs');
    expect(shmMount?.options).toMatch(/size=16384k/);
    const credMount = mounts.find((m) => m.mountPoint === creds);
    expect(credMount?.fsType).toBe('tmpfs');
    expect(credMount?.options).toMatch(/size=1048576k/); // node allocatable memory
    expect(await readFile(join(creds, 'password'), 'utf8')).toBe('s3cr3t');

    // Idempotent: no second mount on resync.
    await vm.setUp(pod);
    expect(mountsUnder(root)).toHaveLength(2);

    await vm.tearDown(UID);
    expect(mountsUnder(root)).toEqual([]);
    expect(existsSync(join(root, 'pods', UID))).toBe(false);
    await vm.tearDown(UID);
  });
});
