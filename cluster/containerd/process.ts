/**
 * Running a private containerd: write its config, start it (optionally inside a network
 * namespace), wait until its CRI answers, and stop it.
 *
 * Network namespaces: containerd is started with `nsenter --net=<netns> containerd …`, which
 * changes only the network namespace. This deviates on purpose from `ip netns exec`, which
 * also unshares the mount namespace: then every mount containerd makes (container rootfs,
 * sandbox netns bind mounts) lives in a private mount namespace that dies with the process,
 * and a containerd restarted by a second `ip netns exec` no longer sees the mounts of the
 * pods that survived the restart (their netns files read as plain files, so CNI DEL is
 * skipped). With `nsenter --net` the mounts stay in the host's mount namespace, as for a
 * containerd run by systemd, and `cleanupContainerdState` can see and undo them. The bridge
 * plugin, iptables (portmap) and `/proc/sys/net` all act in the process's network
 * namespace, which is what keeps pod networking off the host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { realClock, type Clock } from '../../lib/clock.js';
import { createCriRuntime, isUnimplemented } from '../../agent/runtime/index.js';
import { containerdPaths, renderContainerdConfig, type ContainerdConfigOptions, type ContainerdPaths } from './config.js';
import { findShims } from './procs.js';

/** containerd could not be started, or did not become ready. */
export class ContainerdError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_CONTAINERD', message, options);
  }
}

/** Options of {@link startContainerd}. */
export interface StartContainerdOptions {
  /** Everything goes below this directory (see `containerdPaths`). Keep it short. */
  stateDir: string;
  /** Run inside this network namespace: a name under `/run/netns`, or a path to a netns file. */
  netns?: string;
  logger?: Logger;
  /** The containerd binary; default `containerd` from PATH. */
  containerdPath?: string;
  /** How long to wait for CRI `Version` to answer; default 30 s. */
  startTimeoutMs?: number;
  /** Config overrides (sandbox image, CNI dirs, log level…). */
  config?: Omit<ContainerdConfigOptions, 'paths'>;
  clock?: Clock;
}

/** Result of {@link ContainerdHandle.stop}. */
export interface StopResult {
  /** Shim processes still serving this containerd after it stopped (pods not removed). */
  leftoverShims: number[];
}

/** A running containerd. */
export interface ContainerdHandle {
  /** containerd's socket path. */
  readonly address: string;
  /** The CRI endpoint (`unix://` + address). */
  readonly endpoint: string;
  /** PID of the containerd process. */
  readonly pid: number;
  /** The directory layout in use. */
  readonly paths: ContainerdPaths;
  /** Resolves when the process exits (also when killed from outside). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, then SIGKILL after `timeoutMs` (default 10 s); resolves once the process is
   * gone. Shims of pods that were not removed keep running (as with any containerd); they
   * are reported in the result and logged. Idempotent.
   */
  stop(opts?: { timeoutMs?: number }): Promise<StopResult>;
}

/** Resolves a netns name or path to the file to enter. */
export function netnsPath(netns: string): string {
  return isAbsolute(netns) ? netns : join('/run/netns', netns);
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** What a CRI probe found: `ready`, nothing answering (`down`), or a containerd without CRI (`no-cri`). */
export type CriProbe = 'ready' | 'down' | 'no-cri';

/** Calls CRI `Version` on `address` with a short deadline and classifies the answer. */
export async function probeCri(address: string, timeoutMs = 2000): Promise<CriProbe> {
  if (!existsSync(address)) return 'down';
  const client = createCriRuntime({ endpoint: address, timeoutMs, statusTimeoutMs: timeoutMs });
  try {
    await client.version();
    return 'ready';
  } catch (err) {
    // The socket answers but runtime.v1 is not served: the CRI plugin failed to load.
    return isUnimplemented(err) ? 'no-cri' : 'down';
  } finally {
    client.close();
  }
}

/** True when a CRI `Version` call to `address` answers within `timeoutMs`. */
export async function criAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  return (await probeCri(address, timeoutMs)) === 'ready';
}

/**
 * Writes the config and starts containerd, resolving once CRI `Version` answers on its
 * socket. Fails with {@link ContainerdError} (with the end of containerd's log) when the
 * process exits early or does not answer in time; the process is killed in that case.
 * Refuses to start a second containerd on a socket that already answers.
 */
export async function startContainerd(opts: StartContainerdOptions): Promise<ContainerdHandle> {
  const clock = opts.clock ?? realClock;
  const paths = containerdPaths(opts.stateDir);
  const logger = opts.logger;
  if (Buffer.byteLength(paths.address) + '.ttrpc'.length >= 108) {
    throw new ContainerdError(`state dir ${opts.stateDir} is too long: socket path ${paths.address} exceeds the unix socket limit`);
  }
  if ((await probeCri(paths.address, 1000)) !== 'down') {
    throw new ContainerdError(`a containerd already serves ${paths.address}; stop it first`);
  }
  await Promise.all([paths.root, paths.state, paths.cniConfDir, paths.cniDataDir].map((d) => mkdir(d, { recursive: true, mode: 0o711 })));
  // A socket left by a crashed containerd would make the new one fail to listen.
  await rm(paths.address, { force: true });
  await rm(`${paths.address}.ttrpc`, { force: true });
  await writeFile(paths.config, renderContainerdConfig({ ...opts.config, paths }), { mode: 0o644 });

  const containerd = opts.containerdPath ?? 'containerd';
  const args = ['--config', paths.config];
  let cmd = containerd;
  let argv = args;
  if (opts.netns) {
    const ns = netnsPath(opts.netns);
    if (!existsSync(ns)) throw new ContainerdError(`network namespace ${ns} does not exist`);
    cmd = 'nsenter';
    argv = [`--net=${ns}`, '--', containerd, ...args];
  }
  const logFd = openSync(paths.log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, {
      stdio: ['ignore', logFd, logFd],
      // Its own process group: a terminal's Ctrl-C (or `timeout`) signals the caller's group;
      // the caller decides when containerd stops, after the pods are gone.
      detached: true,
      // runc lives in /usr/sbin on Debian; a login shell's PATH may lack it.
      env: { ...process.env, PATH: withSbin(process.env.PATH) },
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (exitInfo = e));
  let failure: Error | undefined;
  void spawnError.then((e) => (failure = e));

  const started = clock.now();
  const deadline = started + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (failure) {
      throw new ContainerdError(`cannot run ${cmd}: ${failure.message}`, { cause: failure });
    }
    if (exitInfo) {
      throw new ContainerdError(
        `containerd exited during start-up (${exitInfo.signal ?? `status ${exitInfo.code}`}); end of ${paths.log}:\n${await tail(paths.log)}`,
      );
    }
    const probe = await probeCri(paths.address, 1000);
    if (probe === 'ready') break;
    if (probe === 'no-cri') {
      child.kill('SIGKILL');
      await exited;
      const why = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').filter((l) => /failed to load plugin io\.containerd\.grpc\.v1\.cri/.test(l));
      throw new ContainerdError(`containerd started without its CRI plugin; ${why.length ? why.join('\n') : `see ${paths.log}`}`);
    }
    if (clock.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new ContainerdError(`containerd did not answer CRI Version on ${paths.address} in time; end of ${paths.log}:\n${await tail(paths.log)}`);
    }
    await clock.sleep(50);
  }
  const pid = child.pid ?? -1;
  await writeFile(paths.pidFile, `${pid}\n`);
  logger?.info({ pid, address: paths.address, netns: opts.netns, ms: clock.now() - started }, 'containerd is up');

  let stopping: Promise<StopResult> | undefined;
  const stop = (stopOpts?: { timeoutMs?: number }): Promise<StopResult> => {
    stopping ??= (async () => {
      if (!exitInfo) {
        child.kill('SIGTERM');
        const cancel = new AbortController();
        const timedOut = await Promise.race([
          exited.then(() => false),
          clock.sleep(stopOpts?.timeoutMs ?? 10_000, cancel.signal).then(
            () => true,
            () => false,
          ),
        ]);
        cancel.abort();
        if (timedOut) {
          logger?.warn({ pid }, 'containerd ignored SIGTERM; killing it');
          child.kill('SIGKILL');
          await exited;
        }
      }
      await rm(paths.pidFile, { force: true });
      const leftoverShims = await findShims(paths.address);
      if (leftoverShims.length > 0) {
        logger?.warn({ shims: leftoverShims, address: paths.address }, 'containerd stopped with pods still running; their shims keep running (cleanupContainerdState removes them)');
      }
      return { leftoverShims };
    })();
    return stopping;
  };

  return { address: paths.address, endpoint: `unix://${paths.address}`, pid, paths, exited, stop };
}

function withSbin(path: string | undefined): string {
  const parts = (path ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!parts.includes(d)) parts.push(d);
  return parts.join(':');
}
