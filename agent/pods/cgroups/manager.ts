/**
 * The pod cgroup manager: kubelet's QoS cgroup hierarchy and per-pod cgroups
 * (`pkg/kubelet/cm/qos_container_manager_linux.go`, `pod_container_manager_linux.go`),
 * written straight to the cgroup filesystem.
 *
 * ```
 * <cgroupRoot>/kubepods                      node allocatable; Guaranteed pods live here
 * <cgroupRoot>/kubepods/burstable            cpu.shares = sum of Burstable pods' CPU requests
 * <cgroupRoot>/kubepods/besteffort           cpu.shares = 2
 * <qos parent>/pod<uid>                      the pod: shares / quota / memory limit
 * ```
 *
 * cgroup v1 (controllers mounted separately under `<mountRoot>/<ctrl>`, with cgroup2 at
 * `<mountRoot>/unified` in hybrid mode) and v2 (unified at `<mountRoot>`) are both handled.
 * As libcontainer's fs manager (which kubelet's cgroupfs driver uses), the cgroup is created
 * in every mounted hierarchy — including `name=systemd` and, in hybrid mode, the unified
 * one — and cpuset.cpus/mems are copied from the parent on v1.
 *
 * Deviation: with the systemd driver kubelet asks systemd (over D-Bus) to create the slices;
 * Skiff creates the same slice directories directly in the cgroup filesystem, so systemd
 * does not know these units. The `cgroup_parent` handed to the runtime is the same string.
 */
import { constants as fsc } from 'node:fs';
import { access, mkdir, readFile, readdir, realpath, rm, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { CgroupError } from './errors.js';
import {
  KUBEPODS,
  parseCgroupRoot,
  podCgroupName,
  podUidFromDirName,
  qosCgroupName,
  renderName,
  type CgroupDriver,
  type CgroupName,
} from './names.js';
import {
  MIN_SHARES,
  milliCpuToShares,
  podRequests,
  podResourceConfig,
  qosClass,
  sharesToWeight,
  type PodResourceConfig,
  type QOSClass,
} from './resources.js';

/** Creates, configures, lists and removes pod cgroups. */
export interface PodCgroupManager {
  /**
   * Creates the pod-level cgroup (kubelet's QoS hierarchy under cgroupRoot: `kubepods` for
   * Guaranteed, `kubepods/burstable`, `kubepods/besteffort`, each pod in `pod<uid>`), sets
   * pod-level cpu.shares / cfs quota / memory limit from the pod's resources like kubelet,
   * and returns the `cgroup_parent` for `LinuxPodSandboxConfig`: with cgroupfs an absolute
   * path such as `/kubepods/burstable/pod<uid>`; with systemd kubelet's expanded slice path
   * `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice` (runtimes
   * take its last element). Returns `''` when cgroupsPerQOS is off, as kubelet does.
   */
  ensurePod(pod: Pod): Promise<string>;
  /**
   * Removes the pod cgroup in every hierarchy, after its containers are gone: processes left
   * in it are SIGKILLed first (as kubelet's `Destroy`). Tolerates an already-gone cgroup.
   * Without `qosClass`, all three QoS parents are tried.
   */
  removePod(podUid: string, qosClass?: string): Promise<void>;
  /** Pod UIDs with a cgroup on disk (orphan cleanup). */
  listPods(): Promise<string[]>;
  /** Creates the QoS top-level cgroups at startup. */
  init(): Promise<void>;
}

/** Options of {@link createPodCgroupManager}. */
export interface PodCgroupManagerOptions {
  driver: CgroupDriver;
  /** `--cgroup-root`, e.g. `/`. */
  cgroupRoot: string;
  /** `cgroupsPerQOS`; when false, nothing is created and `ensurePod` returns `''`. */
  enabled: boolean;
  /** Where the cgroup filesystems are mounted; default `/sys/fs/cgroup` (tests pass a temp dir). */
  mountRoot?: string;
  logger: Logger;
  /** For the waits between removal attempts; default the wall clock. */
  clock?: Clock;
  /** Node allocatable (capacity minus reservations) applied to the `kubepods` cgroup, when known. */
  nodeAllocatable?: { cpuMilli?: number; memoryBytes?: number };
  /** `podPidsLimit`; applied to pod cgroups when positive. */
  podPidsLimit?: number;
  /** `cpuCFSQuota` (default true). */
  cpuCfsQuota?: boolean;
  /** `cpuCFSQuotaPeriod` in µs (default 100000). */
  cpuCfsQuotaPeriodUs?: number;
}

interface Hierarchy {
  /** Absolute mount directory. */
  dir: string;
  /** `v1` controller hierarchy, `v2` unified (the only one in v2 mode, or hybrid's `unified`). */
  kind: 'v1' | 'v2';
  controllers: Set<string>;
  /** Resource files are written here (false for name=systemd and hybrid's unified). */
  resources: boolean;
}

interface Layout {
  mode: 'v1' | 'v2';
  hierarchies: Hierarchy[];
}

const QOS_CLASSES: readonly QOSClass[] = ['Guaranteed', 'Burstable', 'BestEffort'];

/** Pod UIDs end up in paths (and processes in those cgroups get killed): no separators, no `..`. */
function checkUid(uid: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(uid)) throw new CgroupError(`invalid pod UID ${JSON.stringify(uid)}`);
  return uid;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Creates a {@link PodCgroupManager}. */
export function createPodCgroupManager(opts: PodCgroupManagerOptions): PodCgroupManager {
  return new CgroupFsManager(opts);
}

class CgroupFsManager implements PodCgroupManager {
  private readonly mountRoot: string;
  private readonly root: CgroupName;
  private readonly clock: Clock;
  private layout?: Promise<Layout>;
  private initDone?: Promise<void>;
  /** Burstable pods' CPU requests (millicores), for the burstable QoS cgroup's shares. */
  private readonly burstable = new Map<string, number>();
  /** Last config written per pod, so a resync does not rewrite identical files. */
  private readonly applied = new Map<string, string>();
  private lastBurstableShares?: number;

  constructor(private readonly opts: PodCgroupManagerOptions) {
    this.mountRoot = opts.mountRoot ?? '/sys/fs/cgroup';
    this.root = parseCgroupRoot(opts.driver, opts.cgroupRoot);
    this.clock = opts.clock ?? realClock;
  }

  init(): Promise<void> {
    if (!this.opts.enabled) return Promise.resolve();
    this.initDone ??= this.doInit().catch((err) => {
      this.initDone = undefined;
      throw err;
    });
    return this.initDone;
  }

  async ensurePod(pod: Pod): Promise<string> {
    if (!this.opts.enabled) return '';
    const uid = checkUid(pod.metadata?.uid ?? '');
    await this.init();
    const layout = await this.getLayout();
    const qos = qosClass(pod);
    const rel = renderName(this.opts.driver, podCgroupName(this.root, qos, uid));
    for (const h of layout.hierarchies) await this.ensureDir(h, rel);
    const cfg = podResourceConfig(pod, { enforceCpuLimits: this.opts.cpuCfsQuota !== false, cpuPeriodUs: this.opts.cpuCfsQuotaPeriodUs });
    if (this.opts.podPidsLimit && this.opts.podPidsLimit > 0) cfg.pidsLimit = this.opts.podPidsLimit;
    const key = `${rel}\u0000${JSON.stringify(cfg)}`;
    if (this.applied.get(uid) !== key) {
      for (const h of layout.hierarchies) if (h.resources) await this.applyConfig(h, rel, cfg);
      this.applied.set(uid, key);
      this.opts.logger.debug({ podUid: uid, cgroup: rel, qos, config: cfg }, 'pod cgroup configured');
    }
    if (qos === 'Burstable') this.burstable.set(uid, podRequests(pod).cpu ?? 0);
    else this.burstable.delete(uid);
    await this.updateBurstableShares(layout);
    return rel;
  }

  async removePod(podUid: string, qos?: string): Promise<void> {
    if (!this.opts.enabled) return;
    checkUid(podUid);
    const layout = await this.getLayout();
    const classes = QOS_CLASSES.filter((q) => !qos || q === qos);
    const rels = classes.map((q) => renderName(this.opts.driver, podCgroupName(this.root, q, podUid)));
    const present: { h: Hierarchy; path: string }[] = [];
    for (const rel of rels) {
      for (const h of layout.hierarchies) {
        const path = join(h.dir, rel);
        if (await exists(path)) present.push({ h, path });
      }
    }
    this.applied.delete(podUid);
    this.burstable.delete(podUid);
    if (present.length) {
      let lastErr: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        await this.killProcesses(present.map((p) => p.path));
        lastErr = undefined;
        for (const { path } of present) {
          try {
            await removeTree(path);
          } catch (err) {
            lastErr = err;
          }
        }
        if (!lastErr) break;
        await this.clock.sleep(100 * (attempt + 1));
      }
      if (lastErr) throw new CgroupError(`failed to remove cgroup of pod ${podUid}: ${errorMessage(lastErr)}`, { cause: lastErr });
      this.opts.logger.debug({ podUid }, 'pod cgroup removed');
    }
    await this.updateBurstableShares(layout);
  }

  async listPods(): Promise<string[]> {
    if (!this.opts.enabled) return [];
    const layout = await this.getLayout();
    const h = pickPrimary(layout);
    if (!h) return [];
    const uids = new Set<string>();
    for (const q of QOS_CLASSES) {
      const dir = join(h.dir, renderName(this.opts.driver, qosCgroupName(this.root, q)));
      let entries: string[];
      try {
        entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        continue;
      }
      for (const e of entries) {
        const uid = podUidFromDirName(this.opts.driver, e);
        if (uid) uids.add(uid);
      }
    }
    return [...uids].sort();
  }

  private getLayout(): Promise<Layout> {
    this.layout ??= detectLayout(this.mountRoot).catch((err) => {
      this.layout = undefined;
      throw new CgroupError(`cannot read cgroup hierarchies under ${this.mountRoot}: ${errorMessage(err)}`, { cause: err });
    });
    return this.layout;
  }

  private async doInit(): Promise<void> {
    const layout = await this.getLayout();
    if (!layout.hierarchies.length) throw new CgroupError(`no cgroup hierarchy is mounted under ${this.mountRoot}`);
    const kubepods = renderName(this.opts.driver, [...this.root, KUBEPODS]);
    const burstable = renderName(this.opts.driver, qosCgroupName(this.root, 'Burstable'));
    const besteffort = renderName(this.opts.driver, qosCgroupName(this.root, 'BestEffort'));
    for (const h of layout.hierarchies) {
      await this.ensureDir(h, kubepods);
      await this.ensureDir(h, burstable);
      await this.ensureDir(h, besteffort);
    }
    const alloc = this.opts.nodeAllocatable;
    const top: PodResourceConfig = {};
    if (alloc?.cpuMilli !== undefined) top.cpuShares = milliCpuToShares(alloc.cpuMilli);
    if (alloc?.memoryBytes !== undefined && alloc.memoryBytes > 0) top.memoryLimit = alloc.memoryBytes;
    for (const h of layout.hierarchies) {
      if (!h.resources) continue;
      await this.applyConfig(h, kubepods, top);
      await this.applyConfig(h, besteffort, { cpuShares: MIN_SHARES });
    }
    this.lastBurstableShares = undefined;
    await this.updateBurstableShares(layout);
    this.opts.logger.info({ cgroupRoot: this.opts.cgroupRoot, driver: this.opts.driver, mode: layout.mode }, 'QoS cgroups ready');
  }

  private async updateBurstableShares(layout: Layout): Promise<void> {
    let sum = 0;
    for (const v of this.burstable.values()) sum += v;
    const shares = milliCpuToShares(sum);
    if (shares === this.lastBurstableShares) return;
    const rel = renderName(this.opts.driver, qosCgroupName(this.root, 'Burstable'));
    for (const h of layout.hierarchies) {
      if (!h.resources) continue;
      if (!(await exists(join(h.dir, rel)))) continue;
      await this.applyConfig(h, rel, { cpuShares: shares });
    }
    this.lastBurstableShares = shares;
  }

  /** Creates `rel` in one hierarchy level by level, initialising cpuset and v2 controllers. */
  private async ensureDir(h: Hierarchy, rel: string): Promise<void> {
    let cur = h.dir;
    for (const part of rel.split('/').filter(Boolean)) {
      const next = join(cur, part);
      if (h.kind === 'v2' && h.resources) await enableControllers(cur);
      try {
        await mkdir(next);
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') {
          throw new CgroupError(`failed to create cgroup ${next}: ${errorMessage(err)}`, { cause: err });
        }
      }
      if (h.kind === 'v1' && h.controllers.has('cpuset')) await initCpuset(cur, next);
      cur = next;
    }
  }

  private async applyConfig(h: Hierarchy, rel: string, cfg: PodResourceConfig): Promise<void> {
    const dir = join(h.dir, rel);
    const w = async (file: string, value: string | number): Promise<void> => {
      try {
        await writeFile(join(dir, file), String(value));
      } catch (err) {
        throw new CgroupError(`failed to write ${value} to ${join(dir, file)}: ${errorMessage(err)}`, { cause: err });
      }
    };
    if (h.kind === 'v1') {
      if (h.controllers.has('cpu')) {
        if (cfg.cpuShares !== undefined) await w('cpu.shares', cfg.cpuShares);
        await writeCfs(cfg, w);
      }
      if (h.controllers.has('memory') && cfg.memoryLimit !== undefined && cfg.memoryLimit > 0) {
        await w('memory.limit_in_bytes', cfg.memoryLimit);
      }
      if (h.controllers.has('pids') && cfg.pidsLimit !== undefined && cfg.pidsLimit > 0) await w('pids.max', cfg.pidsLimit);
      return;
    }
    // cgroup v2: the same values in their v2 files, converted as runc does.
    if (h.controllers.has('cpu')) {
      if (cfg.cpuShares !== undefined) await w('cpu.weight', sharesToWeight(cfg.cpuShares));
      if (cfg.cpuQuota !== undefined || cfg.cpuPeriod !== undefined) {
        const quota = cfg.cpuQuota === undefined || cfg.cpuQuota <= 0 ? 'max' : String(cfg.cpuQuota);
        await w('cpu.max', cfg.cpuPeriod ? `${quota} ${cfg.cpuPeriod}` : quota);
      }
    }
    if (h.controllers.has('memory') && cfg.memoryLimit !== undefined && cfg.memoryLimit > 0) await w('memory.max', cfg.memoryLimit);
    if (h.controllers.has('pids') && cfg.pidsLimit !== undefined && cfg.pidsLimit > 0) await w('pids.max', cfg.pidsLimit);
  }

  /** Sends SIGKILL to every process left in the given cgroups (and their children). */
  private async killProcesses(paths: string[]): Promise<void> {
    const pids = new Set<number>();
    for (const p of paths) for (const pid of await collectPids(p)) pids.add(pid);
    pids.delete(process.pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        this.opts.logger.info({ pid }, 'killed process left in pod cgroup');
      } catch {
        // Already gone.
      }
    }
  }
}

/** libcontainer's cpu.cfs_period_us / cpu.cfs_quota_us ordering: period first, quota first on EINVAL. */
async function writeCfs(cfg: PodResourceConfig, w: (file: string, v: string | number) => Promise<void>): Promise<void> {
  const period = cfg.cpuPeriod;
  const quota = cfg.cpuQuota;
  if (!period && (quota === undefined || quota === 0)) return;
  try {
    if (period) await w('cpu.cfs_period_us', period);
    if (quota !== undefined && quota !== 0) await w('cpu.cfs_quota_us', quota);
  } catch (err) {
    if (!period || quota === undefined || quota === 0) throw err;
    await w('cpu.cfs_quota_us', quota);
    await w('cpu.cfs_period_us', period);
  }
}

async function initCpuset(parent: string, child: string): Promise<void> {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const cur = await readText(join(child, f));
    if (cur) continue;
    const fromParent = await readText(join(parent, f));
    if (fromParent === undefined || fromParent === '') continue;
    try {
      await writeFile(join(child, f), fromParent);
    } catch (err) {
      throw new CgroupError(`failed to initialise ${join(child, f)}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

async function enableControllers(dir: string): Promise<void> {
  const available = (await readText(join(dir, 'cgroup.controllers')))?.split(/\s+/).filter(Boolean) ?? [];
  const enabled = new Set((await readText(join(dir, 'cgroup.subtree_control')))?.split(/\s+/).filter(Boolean) ?? []);
  for (const c of ['cpu', 'memory', 'pids', 'cpuset', 'io', 'hugetlb']) {
    if (!available.includes(c) || enabled.has(c)) continue;
    try {
      await writeFile(join(dir, 'cgroup.subtree_control'), `+${c}`);
    } catch {
      // Some controllers cannot be enabled in some places (threaded subtrees); runc copes.
    }
  }
}

async function collectPids(dir: string): Promise<number[]> {
  const out: number[] = [];
  const procs = await readText(join(dir, 'cgroup.procs'));
  for (const line of procs?.split('\n') ?? []) {
    const n = Number(line.trim());
    if (Number.isInteger(n) && n > 0) out.push(n);
  }
  let entries: string[] = [];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return out;
  }
  for (const e of entries) out.push(...(await collectPids(join(dir, e))));
  return out;
}

/**
 * rmdir depth-first. On a cgroup filesystem rmdir takes the control files along; a plain
 * directory tree (a test's fake mount root) holds regular files and is removed recursively.
 */
async function removeTree(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) await removeTree(join(dir, e));
  try {
    await rmdir(dir);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return;
    if (code === 'ENOTEMPTY' && !(await isCgroupFs(dir))) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    throw err;
  }
}

/** True when `dir` is on a real cgroup filesystem (v1 or v2). */
async function isCgroupFs(dir: string): Promise<boolean> {
  try {
    const s = await statfs(dir);
    // CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC.
    return s.type === 0x27e0eb || s.type === 0x63677270;
  } catch {
    return false;
  }
}

async function detectLayout(mountRoot: string): Promise<Layout> {
  if (await exists(join(mountRoot, 'cgroup.controllers'))) {
    const ctrls = (await readText(join(mountRoot, 'cgroup.controllers')))?.split(/\s+/).filter(Boolean) ?? [];
    return { mode: 'v2', hierarchies: [{ dir: mountRoot, kind: 'v2', controllers: new Set(ctrls), resources: true }] };
  }
  const seen = new Set<string>();
  const hierarchies: Hierarchy[] = [];
  const entries = await readdir(mountRoot);
  for (const name of entries.sort()) {
    const dir = join(mountRoot, name);
    let real: string;
    try {
      real = await realpath(dir);
      if (!(await stat(real)).isDirectory()) continue;
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    if (!(await exists(join(real, 'cgroup.procs')))) continue;
    seen.add(real);
    const base = basename(real);
    if (await exists(join(real, 'cgroup.controllers'))) {
      // Hybrid mode's unified hierarchy: created like libcontainer does, never configured.
      hierarchies.push({ dir: real, kind: 'v2', controllers: new Set(), resources: false });
      continue;
    }
    const controllers = new Set(base.split(','));
    const named = base === 'systemd' || base.startsWith('name=');
    hierarchies.push({ dir: real, kind: 'v1', controllers, resources: !named });
  }
  return { mode: 'v1', hierarchies };
}

function pickPrimary(layout: Layout): Hierarchy | undefined {
  return (
    layout.hierarchies.find((h) => h.kind === 'v1' && h.controllers.has('memory')) ??
    layout.hierarchies.find((h) => h.kind === 'v1' && h.controllers.has('cpu')) ??
    layout.hierarchies.find((h) => h.resources) ??
    layout.hierarchies[0]
  );
}
