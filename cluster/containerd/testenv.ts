/**
 * A throwaway containerd for integration tests: a fresh network namespace with only `lo`
 * (so pod traffic cannot leave the machine, per MACHINE.md), a private containerd inside it
 * with a temporary state dir, Skiff's images imported, and a bridge conflist for a pod CIDR.
 * `dispose()` undoes all of it, and is safe to call after a half-finished start.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { createCriRuntime, type CriRuntime } from '../../agent/runtime/index.js';
import { buildConflist, writeConflist } from '../../cni/index.js';
import { importImages } from '../../images/index.js';
import { cleanupContainerdState } from './cleanup.js';
import { probeCniBinDir } from './config.js';
import { startContainerd, type ContainerdHandle } from './process.js';

/** Binaries a containerd integration test needs. */
const REQUIRED_BINARIES = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'ip', 'nsenter', 'umount', 'umoci', 'skopeo', 'gcc'];

/**
 * Why a containerd integration test cannot run here (not root, a binary or the CNI plugins
 * missing), or `undefined` when it can.
 */
export function containerdTestSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'containerd tests need Linux';
  if (process.getuid?.() !== 0) return 'containerd tests need root';
  const path = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
  const missing = REQUIRED_BINARIES.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`], { env: { ...process.env, PATH: path } }).status !== 0);
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
  if (!existsSync(join(probeCniBinDir(), 'bridge'))) missing.push('CNI plugins (containernetworking-plugins)');
  return missing.length > 0 ? `missing: ${missing.join(', ')}` : undefined;
}

/** Options of {@link startTestContainerd}. */
export interface TestContainerdOptions {
  /** Pod CIDR of the conflist; default `10.88.0.0/24`. */
  podCidr?: string;
  logger?: Logger;
  /** CRI client deadline; default 60 s. */
  timeoutMs?: number;
  /** Image cache dir; default the builder's. */
  imageCacheDir?: string;
}

/** A running test containerd. */
export interface TestContainerd {
  /** Name of the network namespace (under /run/netns). */
  readonly netns: string;
  /** The temporary state dir. */
  readonly stateDir: string;
  /** The current containerd process (replaced by {@link TestContainerd.restart}). */
  readonly containerd: ContainerdHandle;
  /** A CRI client on the containerd's socket; survives restarts. */
  readonly cri: CriRuntime;
  readonly podCidr: string;
  /** How long the start took, by step, in ms. */
  readonly timings: { containerd: number; images: number; total: number };
  /** Runs `cmd` inside the namespace (`ip netns exec`); resolves with status and output. */
  execInNetns(cmd: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  /** Starts containerd again on the same state (after a stop or a kill). */
  restart(): Promise<ContainerdHandle>;
  /** Removes pods, stops containerd, unmounts, deletes the namespace and the state dir. */
  dispose(): Promise<void>;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * Creates a network namespace `skiff-t-<random>` with `lo` up, starts a private containerd
 * in it, imports busybox and pause, and writes a conflist for `podCidr`. On failure
 * everything created so far is removed before the error is rethrown.
 */
export async function startTestContainerd(opts: TestContainerdOptions = {}): Promise<TestContainerd> {
  const podCidr = opts.podCidr ?? '10.88.0.0/24';
  const netns = `skiff-t-${randomBytes(4).toString('hex')}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'skiff-ctd-'));
  const logger = opts.logger;
  let handle: ContainerdHandle | undefined;
  let cri: CriRuntime | undefined;
  let netnsCreated = false;

  const dispose = async (): Promise<void> => {
    cri?.close();
    try {
      await cleanupContainerdState(stateDir, { logger, removeState: false });
    } catch (err) {
      logger?.warn({ err: errorMessage(err) }, 'test containerd cleanup failed');
    }
    if (handle) await handle.stop({ timeoutMs: 5000 }).catch(() => undefined);
    if (netnsCreated) spawnSync('ip', ['netns', 'del', netns]);
    await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    const t0 = Date.now();
    ip(['netns', 'add', netns]);
    netnsCreated = true;
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    handle = await startContainerd({ stateDir, netns, logger });
    const t1 = Date.now();
    await writeConflist(handle.paths.cniConfDir, buildConflist({ podCidr, dataDir: handle.paths.cniDataDir }));
    await importImages({ address: handle.address, cacheDir: opts.imageCacheDir, logger });
    const t2 = Date.now();
    cri = createCriRuntime({ endpoint: handle.endpoint, timeoutMs: opts.timeoutMs ?? 60_000, logger });
    const client = cri;
    const env: TestContainerd = {
      netns,
      stateDir,
      get containerd() {
        return handle as ContainerdHandle;
      },
      cri: client,
      podCidr,
      timings: { containerd: t1 - t0, images: t2 - t1, total: t2 - t0 },
      execInNetns(cmd, timeoutMs = 15_000) {
        const r = spawnSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8', timeout: timeoutMs });
        return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
      },
      async restart() {
        await handle?.stop({ timeoutMs: 5000 });
        handle = await startContainerd({ stateDir, netns, logger });
        return handle;
      },
      dispose,
    };
    return env;
  } catch (err) {
    await dispose();
    throw err;
  }
}
