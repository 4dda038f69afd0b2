/**
 * The pod cgroup manager against the real cgroup filesystem, under a test-only root
 * (`/skiff-test-<random>`) that is removed from every hierarchy afterwards, also on failure.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { silentLogger } from '../../../lib/log.js';
import { createPodCgroupManager } from './index.js';

const MOUNT = '/sys/fs/cgroup';
const isRoot = process.getuid?.() === 0;
const v2 = existsSync(join(MOUNT, 'cgroup.controllers'));
const v1 = !v2 && existsSync(join(MOUNT, 'cpu', 'cpu.shares')) && existsSync(join(MOUNT, 'memory', 'memory.limit_in_bytes'));
const skipReason = !isRoot ? 'needs root' : !v1 && !v2 ? 'no cgroup v1 cpu+memory or v2 hierarchy' : '';

const TEST_ROOT = `skiff-test-${randomBytes(4).toString('hex')}`;
const UID = `${randomBytes(4).toString('hex')}-1111-2222-3333-444444444444`;

/** Every hierarchy directory under /sys/fs/cgroup (or the v2 root). */
function hierarchies(): string[] {
  if (v2) return [MOUNT];
  return readdirSync(MOUNT)
    .map((n) => join(MOUNT, n))
    .filter((d) => {
      try {
        return statSync(d).isDirectory() && existsSync(join(d, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
}

function rmTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // Left for the assertion below to report.
  }
}

function leftovers(): string[] {
  return hierarchies()
    .map((h) => join(h, TEST_ROOT))
    .filter((d) => existsSync(d));
}

function mkPod(res: { requests?: Record<string, string>; limits?: Record<string, string> }): Pod {
  return { metadata: { name: 'int', namespace: 'default', uid: UID }, spec: { containers: [{ name: 'c', image: 'x', resources: res }] } };
}

describe.skipIf(!!skipReason)(`pod cgroups on the real ${v2 ? 'v2' : 'v1'} hierarchy${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  afterAll(() => {
    for (const h of hierarchies()) rmTree(join(h, TEST_ROOT));
    expect(leftovers()).toEqual([]);
  });

  const m = createPodCgroupManager({ driver: 'cgroupfs', cgroupRoot: `/${TEST_ROOT}`, enabled: true, logger: silentLogger() });

  it('creates a Burstable pod cgroup with kubelet values in every hierarchy and removes it', async () => {
    await m.init();
    const parent = await m.ensurePod(mkPod({ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } }));
    expect(parent).toBe(`/${TEST_ROOT}/kubepods/burstable/pod${UID}`);
    if (v1) {
      expect(readFileSync(join(MOUNT, 'cpu', parent, 'cpu.shares'), 'utf8').trim()).toBe('256');
      expect(readFileSync(join(MOUNT, 'cpu', parent, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
      expect(readFileSync(join(MOUNT, 'cpu', parent, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      expect(readFileSync(join(MOUNT, 'memory', parent, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(128 * 1024 * 1024));
      expect(readFileSync(join(MOUNT, 'cpu', TEST_ROOT, 'kubepods/besteffort/cpu.shares'), 'utf8').trim()).toBe('2');
      expect(readFileSync(join(MOUNT, 'cpu', TEST_ROOT, 'kubepods/burstable/cpu.shares'), 'utf8').trim()).toBe('256');
      if (existsSync(join(MOUNT, 'cpuset', 'cpuset.cpus'))) {
        expect(readFileSync(join(MOUNT, 'cpuset', parent, 'cpuset.cpus'), 'utf8').trim()).not.toBe('');
      }
    } else {
      expect(readFileSync(join(MOUNT, parent, 'cpu.max'), 'utf8').trim()).toBe('50000 100000');
      expect(readFileSync(join(MOUNT, parent, 'memory.max'), 'utf8').trim()).toBe(String(128 * 1024 * 1024));
    }
    for (const h of hierarchies()) expect(existsSync(join(h, parent)), h).toBe(true);
    expect(await m.listPods()).toContain(UID);

    await m.removePod(UID);
    for (const h of hierarchies()) expect(existsSync(join(h, parent)), h).toBe(false);
    expect(await m.listPods()).not.toContain(UID);
  });

  it('kills processes left in the pod cgroup before removing it', async () => {
    const parent = await m.ensurePod(mkPod({}));
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig ? 1 : 0)));
    try {
      const procs = v2 ? join(MOUNT, parent, 'cgroup.procs') : join(MOUNT, existsSync(join(MOUNT, 'pids')) ? 'pids' : 'cpu', parent, 'cgroup.procs');
      writeFileSync(procs, String(child.pid));
      await m.removePod(UID, 'BestEffort');
      await exited;
      for (const h of hierarchies()) expect(existsSync(join(h, parent)), h).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
