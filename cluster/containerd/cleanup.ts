/**
 * Force-cleaning what a private containerd leaves behind, for `skiff down` and for tests
 * that fail half-way: pods and containers (through CRI, then `ctr`, then runc directly),
 * the daemon itself, shim processes, and mounts below the state directory.
 *
 * Each step tolerates the failure of the previous one, so a dead containerd, a stuck shim
 * or a half-removed sandbox still ends in a clean host.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { realClock, type Clock } from '../../lib/clock.js';
import { createCriRuntime, isNotFound } from '../../agent/runtime/index.js';
import { containerdPaths } from './config.js';
import { ContainerdError, probeCri } from './process.js';
import { findShims, mountsUnder } from './procs.js';

/** Options of {@link cleanupContainerdState}. */
export interface CleanupOptions {
  logger?: Logger;
  /** The socket; default `<stateDir>/containerd.sock`. */
  address?: string;
  /** Stop the containerd recorded in `<stateDir>/containerd.pid` after removing pods; default true. */
  stopDaemon?: boolean;
  /** Delete the whole state directory at the end (only when nothing is mounted below it); default false. */
  removeState?: boolean;
  clock?: Clock;
}

/** What {@link cleanupContainerdState} did. */
export interface CleanupReport {
  /** CRI sandboxes stopped and removed. */
  sandboxesRemoved: string[];
  /** CRI containers stopped and removed. */
  containersRemoved: string[];
  /** `namespace/id` of containerd tasks killed and deleted through `ctr`. */
  tasksKilled: string[];
  /** `namespace/id` of runc containers force-deleted directly. */
  runcDeleted: string[];
  /** PID of the containerd that was stopped, if any. */
  daemonStopped?: number;
  /** Shim processes killed. */
  shimsKilled: number[];
  /** Mount points unmounted. */
  unmounted: string[];
  /** Non-fatal problems met on the way. */
  warnings: string[];
}

interface CmdResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], timeoutMs = 30_000): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (e) => resolve({ code: null, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes every pod, container and task of the containerd under `stateDir`, stops the
 * daemon (unless `stopDaemon: false`), kills leftover shims, and unmounts everything below
 * `stateDir`. Safe to run when containerd is not running, and to run twice.
 * Throws {@link ContainerdError} only when `removeState` was asked for and mounts remain.
 */
export async function cleanupContainerdState(stateDir: string, opts: CleanupOptions = {}): Promise<CleanupReport> {
  const clock = opts.clock ?? realClock;
  const paths = containerdPaths(stateDir);
  const address = opts.address ?? paths.address;
  const log = opts.logger;
  const report: CleanupReport = { sandboxesRemoved: [], containersRemoved: [], tasksKilled: [], runcDeleted: [], shimsKilled: [], unmounted: [], warnings: [] };
  const warn = (msg: string): void => {
    report.warnings.push(msg);
    log?.warn({ stateDir }, msg);
  };

  // 1. Through CRI: containers (killed at once), then sandboxes (which releases pod IPs).
  const probe = await probeCri(address);
  if (probe === 'ready') {
    const cri = createCriRuntime({ endpoint: address, timeoutMs: 30_000 });
    try {
      for (const c of await cri.listContainers()) {
        try {
          await cri.stopContainer(c.id, 0);
          await cri.removeContainer(c.id);
          report.containersRemoved.push(c.id);
        } catch (err) {
          if (!isNotFound(err)) warn(`removing container ${c.id}: ${errorMessage(err)}`);
        }
      }
      for (const s of await cri.listPodSandbox()) {
        try {
          await cri.stopPodSandbox(s.id);
          await cri.removePodSandbox(s.id);
          report.sandboxesRemoved.push(s.id);
        } catch (err) {
          if (!isNotFound(err)) warn(`removing sandbox ${s.id}: ${errorMessage(err)}`);
        }
      }
    } catch (err) {
      warn(`listing CRI objects: ${errorMessage(err)}`);
    } finally {
      cri.close();
    }
  }

  // 2. Through ctr (when the daemon answers at all): tasks of any namespace that CRI did not
  // account for.
  if (probe !== 'down') {
    const nss = await exec('ctr', ['--address', address, 'namespaces', 'ls', '-q']);
    for (const ns of nss.code === 0 ? lines(nss.stdout) : []) {
      const tasks = await exec('ctr', ['--address', address, '-n', ns, 'tasks', 'ls', '-q']);
      for (const id of tasks.code === 0 ? lines(tasks.stdout) : []) {
        await exec('ctr', ['--address', address, '-n', ns, 'tasks', 'kill', '--all', '--signal', 'SIGKILL', id]);
        const del = await exec('ctr', ['--address', address, '-n', ns, 'tasks', 'delete', '--force', id]);
        if (del.code === 0) report.tasksKilled.push(`${ns}/${id}`);
        else warn(`ctr tasks delete ${ns}/${id}: ${del.stderr.trim()}`);
      }
      const containers = await exec('ctr', ['--address', address, '-n', ns, 'containers', 'ls', '-q']);
      for (const id of containers.code === 0 ? lines(containers.stdout) : []) {
        await exec('ctr', ['--address', address, '-n', ns, 'containers', 'rm', id]);
      }
    }
  }

  // 3. The daemon, if we started it (its pid file names a containerd using our config).
  if (opts.stopDaemon ?? true) {
    const pid = Number((await readFile(paths.pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 0 && (await pidAlive(pid))) {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (cmdline.some((a) => /containerd$/.test(a)) && cmdline.includes(paths.config)) {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && (await pidAlive(pid)); i++) await clock.sleep(100);
        if (await pidAlive(pid)) process.kill(pid, 'SIGKILL');
        report.daemonStopped = pid;
      } else {
        warn(`pid file names ${pid}, which is not our containerd; left alone`);
      }
    }
    await rm(paths.pidFile, { force: true });
  }

  // 4. runc directly: containers whose shim or daemon is gone.
  const runcNamespaces = await readdir(paths.runcRoot).catch(() => [] as string[]);
  for (const ns of runcNamespaces) {
    const root = join(paths.runcRoot, ns);
    const list = await exec('runc', ['--root', root, 'list', '-q']);
    for (const id of list.code === 0 ? lines(list.stdout) : []) {
      await exec('runc', ['--root', root, 'kill', '--all', id, 'KILL']);
      const del = await exec('runc', ['--root', root, 'delete', '--force', id]);
      if (del.code === 0) report.runcDeleted.push(`${ns}/${id}`);
      else warn(`runc delete ${ns}/${id}: ${del.stderr.trim()}`);
    }
  }

  // 5. Shims still serving our address.
  for (const pid of await findShims(address)) {
    try {
      process.kill(pid, 'SIGKILL');
      report.shimsKilled.push(pid);
    } catch {
      // already gone
    }
  }

  // 6. Mounts below the state dir, deepest first; lazily, so a busy mount cannot block us.
  for (const mp of await mountsUnder(stateDir)) {
    const r = await exec('umount', ['-l', mp]);
    if (r.code === 0) report.unmounted.push(mp);
    else warn(`umount ${mp}: ${r.stderr.trim()}`);
  }

  if (opts.removeState) {
    const left = await mountsUnder(stateDir);
    if (left.length > 0) {
      throw new ContainerdError(`not removing ${stateDir}: still mounted below it: ${left.join(', ')}`);
    }
    await rm(stateDir, { recursive: true, force: true });
  }
  log?.info(
    {
      stateDir,
      sandboxes: report.sandboxesRemoved.length,
      containers: report.containersRemoved.length,
      tasks: report.tasksKilled.length,
      runc: report.runcDeleted.length,
      shims: report.shimsKilled.length,
      unmounted: report.unmounted.length,
    },
    'containerd state cleaned up',
  );
  return report;
}
