import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { createPodCgroupManager } from './index.js';

const UID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

function mkPod(uid: string, res: { requests?: Record<string, string>; limits?: Record<string, string> }): Pod {
  return { metadata: { name: 'p', namespace: 'default', uid }, spec: { containers: [{ name: 'c', image: 'x', resources: res }] } };
}

async function exists(p: string): Promise<boolean> {
  try {
    await readdir(p);
    return true;
  } catch {
    return false;
  }
}

const read = async (p: string): Promise<string> => (await readFile(p, 'utf8')).trim();

describe('pod cgroup manager on a fake cgroup v1 tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'skiff-cg-'));
    for (const ctrl of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'systemd']) {
      await mkdir(join(root, ctrl));
      await writeFile(join(root, ctrl, 'cgroup.procs'), '');
    }
    await writeFile(join(root, 'cpuset', 'cpuset.cpus'), '0-1\n');
    await writeFile(join(root, 'cpuset', 'cpuset.mems'), '0\n');
    await mkdir(join(root, 'unified'));
    await writeFile(join(root, 'unified', 'cgroup.procs'), '');
    await writeFile(join(root, 'unified', 'cgroup.controllers'), '');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the QoS tree and a Burstable pod with kubelet values, in every hierarchy', async () => {
    const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: '/', enabled: true, mountRoot: root, logger: silentLogger(), nodeAllocatable: { cpuMilli: 2000, memoryBytes: 1 << 30 } });
    await m.init();
    expect(await read(join(root, 'cpu/kubepods/cpu.shares'))).toBe('2048');
    expect(await read(join(root, 'memory/kubepods/memory.limit_in_bytes'))).toBe(String(1 << 30));
    expect(await read(join(root, 'cpu/kubepods/besteffort/cpu.shares'))).toBe('2');
    expect(await read(join(root, 'cpu/kubepods/burstable/cpu.shares'))).toBe('2');

    const parent = await m.ensurePod(mkPod(UID, { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } }));
    expect(parent).toBe(`/kubepods/burstable/pod${UID}`);
    const dir = (ctrl: string): string => join(root, ctrl, 'kubepods/burstable', `pod${UID}`);
    expect(await read(join(dir('cpu'), 'cpu.shares'))).toBe('256');
    expect(await read(join(dir('cpu'), 'cpu.cfs_period_us'))).toBe('100000');
    expect(await read(join(dir('cpu'), 'cpu.cfs_quota_us'))).toBe('50000');
    expect(await read(join(dir('memory'), 'memory.limit_in_bytes'))).toBe(String(128 * 1024 * 1024));
    // cpuset.cpus/mems are copied down every level.
    expect(await read(join(dir('cpuset'), 'cpuset.cpus'))).toBe('0-1');
    expect(await read(join(dir('cpuset'), 'cpuset.mems'))).toBe('0');
    for (const ctrl of ['cpuacct', 'pids', 'systemd', 'unified']) expect(await exists(dir(ctrl))).toBe(true);
    // The burstable QoS cgroup follows the sum of Burstable requests.
    expect(await read(join(root, 'cpu/kubepods/burstable/cpu.shares'))).toBe('256');

    expect(await m.listPods()).toEqual([UID]);
    await m.removePod(UID);
    for (const ctrl of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'systemd', 'unified']) expect(await exists(dir(ctrl))).toBe(false);
    expect(await read(join(root, 'cpu/kubepods/burstable/cpu.shares'))).toBe('2');
    expect(await m.listPods()).toEqual([]);
    // Already gone: fine.
    await m.removePod(UID, 'Burstable');
  });

  it('places Guaranteed pods under kubepods and BestEffort under besteffort', async () => {
    const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: '/t', enabled: true, mountRoot: root, logger: silentLogger() });
    const g = await m.ensurePod(mkPod('g', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }));
    expect(g).toBe('/t/kubepods/podg');
    expect(await read(join(root, 'cpu/t/kubepods/podg/cpu.cfs_quota_us'))).toBe('100000');
    const b = await m.ensurePod(mkPod('b', {}));
    expect(b).toBe('/t/kubepods/besteffort/podb');
    expect(await read(join(root, 'cpu/t/kubepods/besteffort/podb/cpu.shares'))).toBe('2');
    expect(await m.listPods()).toEqual(['b', 'g']);
  });

  it('uses systemd slice names with the systemd driver', async () => {
    const m = createPodCgroupManager({ driver: 'systemd', cgroupRoot: '/', enabled: true, mountRoot: root, logger: silentLogger(), podPidsLimit: 1024 });
    const parent = await m.ensurePod(mkPod(UID, { requests: { cpu: '100m' } }));
    const u = UID.replace(/-/g, '_');
    expect(parent).toBe(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`);
    expect(await read(join(root, 'cpu', parent, 'cpu.shares'))).toBe('102');
    expect(await read(join(root, 'pids', parent, 'pids.max'))).toBe('1024');
    expect(await m.listPods()).toEqual([UID]);
    await m.removePod(UID, 'Burstable');
    expect(await exists(join(root, 'cpu', parent))).toBe(false);
  });

  it('refuses pod UIDs that would leave the QoS directories', async () => {
    const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: '/', enabled: true, mountRoot: root, logger: silentLogger() });
    await expect(m.removePod('../../x')).rejects.toMatchObject({ code: 'SKIFF_CGROUP' });
    await expect(m.ensurePod(mkPod('a/b', {}))).rejects.toMatchObject({ code: 'SKIFF_CGROUP' });
  });

  it('does nothing when cgroupsPerQOS is off', async () => {
    const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: '/', enabled: false, mountRoot: root, logger: silentLogger(), clock: new FakeClock() });
    await m.init();
    expect(await m.ensurePod(mkPod(UID, {}))).toBe('');
    expect(await exists(join(root, 'cpu/kubepods'))).toBe(false);
    expect(await m.listPods()).toEqual([]);
  });
});

describe('pod cgroup manager on a fake cgroup v2 tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'skiff-cg2-'));
    await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    await writeFile(join(root, 'cgroup.subtree_control'), '');
    await writeFile(join(root, 'cgroup.procs'), '');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes v2 files and enables controllers', async () => {
    const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: '/', enabled: true, mountRoot: root, logger: silentLogger() });
    const parent = await m.ensurePod(mkPod(UID, { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }));
    expect(parent).toBe(`/kubepods/pod${UID}`);
    expect(await read(join(root, parent, 'cpu.weight'))).toBe('39');
    expect(await read(join(root, parent, 'cpu.max'))).toBe('100000 100000');
    expect(await read(join(root, parent, 'memory.max'))).toBe(String(1024 ** 3));
    // The fake file keeps the last write; a real one accumulates.
    expect(await read(join(root, 'cgroup.subtree_control'))).toMatch(/^\+/);
    await m.removePod(UID);
    expect(await exists(join(root, parent))).toBe(false);
  });
});
