/**
 * The containerd process manager and the forced cleanup, against real containerd 1.6 in
 * network namespaces this file creates. Every test disposes of its namespace and state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_IMAGE, importImages } from '../../images/index.js';
import type { PodSandboxConfig } from '../../agent/runtime/index.js';
import {
  cleanupContainerdState,
  containerdTestSkipReason,
  ContainerdError,
  findShims,
  mountsUnder,
  startContainerd,
  startTestContainerd,
  type TestContainerd,
} from './index.js';

const skipReason = containerdTestSkipReason();
if (skipReason) console.warn(`skipping containerd integration tests: ${skipReason}`);

const sandbox = (name: string): PodSandboxConfig => ({
  metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
  hostname: name,
  labels: { app: name },
  linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
});

/** Starts a sandbox with one long-running busybox container; returns their ids. */
async function runPod(env: TestContainerd, name: string): Promise<{ sandboxId: string; containerId: string }> {
  const cfg = sandbox(name);
  const sandboxId = await env.cri.runPodSandbox(cfg);
  const containerId = await env.cri.createContainer(
    sandboxId,
    { metadata: { name: 'sleeper', attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command: ['sleep', '3600'] },
    cfg,
  );
  await env.cri.startContainer(containerId);
  return { sandboxId, containerId };
}

describe.skipIf(skipReason !== undefined)('private containerd', () => {
  const envs: TestContainerd[] = [];
  afterEach(async () => {
    for (const env of envs.splice(0)) await env.dispose();
  });

  it('starts in a netns with our config, and refuses a second daemon on the same state dir', async () => {
    const env = await startTestContainerd();
    envs.push(env);
    const config = readFileSync(env.containerd.paths.config, 'utf8');
    expect(config).toContain('restrict_oom_score_adj = true');
    expect(readFileSync(env.containerd.paths.pidFile, 'utf8').trim()).toBe(String(env.containerd.pid));
    // containerd's network namespace is the test's, not the host's.
    expect(readlinkNs(env.containerd.pid)).not.toBe(readlinkNs(process.pid));
    await expect(startContainerd({ stateDir: env.stateDir, netns: env.netns })).rejects.toBeInstanceOf(ContainerdError);
  });

  it('imports the images twice without harm', async () => {
    const env = await startTestContainerd();
    envs.push(env);
    const before = await env.cri.imageStatus({ image: BUSYBOX_IMAGE });
    await importImages({ address: env.containerd.address });
    await importImages({ address: env.containerd.address });
    const after = await env.cri.imageStatus({ image: BUSYBOX_IMAGE });
    expect(after?.id).toBe(before?.id);
    expect((await env.cri.listImages()).filter((i) => i.repoTags.includes(BUSYBOX_IMAGE))).toHaveLength(1);
  });

  it('fails clearly when containerd cannot start', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'skiff-ctd-'));
    try {
      await expect(startContainerd({ stateDir, containerdPath: '/nonexistent/containerd' })).rejects.toThrow(ContainerdError);
      await expect(startContainerd({ stateDir, netns: 'skiff-t-does-not-exist' })).rejects.toThrow(/does not exist/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('cleanupContainerdState removes running pods through CRI, other tasks through ctr, and stops the daemon', async () => {
    const env = await startTestContainerd();
    envs.push(env);
    const { sandboxId, containerId } = await runPod(env, 'live');
    const { address, pid } = env.containerd;
    // And a task CRI does not know about, in another containerd namespace.
    await importImages({ address, namespace: 'default', images: ['busybox'] });
    const ctr = spawnSync('ctr', ['--address', address, '-n', 'default', 'run', '-d', '--net-host', BUSYBOX_IMAGE, 'skiff-plain', 'sleep', '3600'], {
      encoding: 'utf8',
    });
    expect(ctr.stderr).toBe('');
    expect(await findShims(address)).not.toEqual([]);
    const report = await cleanupContainerdState(env.stateDir);
    expect(report.sandboxesRemoved).toEqual([sandboxId]);
    expect(report.containersRemoved).toEqual([containerId]);
    expect(report.tasksKilled).toEqual(['default/skiff-plain']);
    expect(report.daemonStopped).toBe(pid);
    expect(report.warnings).toEqual([]);
    await env.containerd.exited;
    expect(await findShims(address)).toEqual([]);
    expect(await mountsUnder(env.stateDir)).toEqual([]);
  });

  it('stop() reports shims of pods left running; cleanup then kills them and unmounts without containerd', async () => {
    const env = await startTestContainerd();
    envs.push(env);
    await runPod(env, 'orphan');
    const { address } = env.containerd;
    expect((await mountsUnder(env.stateDir)).length).toBeGreaterThan(0);
    const stopped = await env.containerd.stop();
    expect(stopped.leftoverShims.length).toBeGreaterThan(0);

    const report = await cleanupContainerdState(env.stateDir, { removeState: true });
    expect(report.runcDeleted).toHaveLength(2); // the sandbox's pause and the sleeper
    expect(report.shimsKilled.sort()).toEqual(stopped.leftoverShims.sort());
    expect(report.unmounted.some((m) => m.endsWith('/rootfs'))).toBe(true);
    expect(report.unmounted.some((m) => m.includes('/netns/cni-'))).toBe(true);
    expect(await findShims(address)).toEqual([]);
    expect(existsSync(env.stateDir)).toBe(false);
  });
});

function readlinkNs(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}
