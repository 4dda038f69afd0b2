/**
 * `/stats/summary` (the kubelet Summary API, `stats/v1alpha1`): node cpu, memory, network,
 * filesystem, image filesystem and pid figures, and per-pod / per-container cpu and memory.
 *
 * Sources:
 * - node cpu from /proc/stat (usageNanoCores from the delta between two scrapes), memory from
 *   /proc/meminfo (working set = used − inactive file pages, as cAdvisor computes it for the
 *   root cgroup), network from /proc/net/dev (default-route interface), fs from statfs of
 *   kubelet's root dir, pids from /proc/loadavg and pid_max;
 * - image fs from CRI `ImageFsInfo` + statfs of its mountpoint;
 * - pods from the `podStats` provider when given, else CRI `ListPodSandboxStats` (pod cpu,
 *   memory and network from the sandbox's cgroup parent and netns, containers inside); when
 *   that fails — containerd 1.6 fails the whole list as soon as one sandbox is not ready —
 *   `PodSandboxStats` of each ready sandbox; else CRI `ListContainerStats` grouped by the pod
 *   labels, pod figures summed. Exited instances of a container are dropped (kubelet's
 *   `removeTerminatedContainers`); start times come from the pods provider;
 * - per pod, when `podLogsDir`/`rootDir` are given: container `logs` usage (the files under
 *   `<podLogsDir>/<ns>_<name>_<uid>/<container>/`), `volume` usage (a walk of each directory
 *   under `<rootDir>/pods/<uid>/volumes/<plugin>/`, capacity from statfs), and
 *   `ephemeral-storage` = rootfs + logs + the emptyDir volumes on disk, as kubelet sums it.
 *
 * Missing compared to kubelet: `node.systemContainers` (kubelet/runtime/pods cgroups), pod
 * `process_stats`, and accelerator stats.
 */
import { lstat, readdir, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { LABELS, type ContainerStats as CriContainerStats, type CpuUsage, type MemoryUsage, type NetworkUsage, type PodSandboxStats, type Runtime } from '../runtime/index.js';
import { defaultRouteInterface, readNodeUsage, type FactsSource } from '../node/index.js';

/** CPU usage. */
export interface CPUStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}
/** Memory usage. */
export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}
/** One interface's traffic. */
export interface InterfaceStats {
  name: string;
  rxBytes?: number;
  rxErrors?: number;
  txBytes?: number;
  txErrors?: number;
}
/** Network usage: the default interface inline, all of them in `interfaces`. */
export interface NetworkStats extends Partial<InterfaceStats> {
  time: string;
  interfaces?: InterfaceStats[];
}
/** Filesystem usage. */
export interface FsStats {
  time: string;
  availableBytes?: number;
  capacityBytes?: number;
  usedBytes?: number;
  inodesFree?: number;
  inodes?: number;
  inodesUsed?: number;
}
/** Pid usage. */
export interface RlimitStats {
  time: string;
  maxpid?: number;
  curproc?: number;
}
/** The node's part of the summary. */
export interface NodeStats {
  nodeName: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
  network?: NetworkStats;
  fs?: FsStats;
  runtime?: { imageFs?: FsStats };
  rlimit?: RlimitStats;
}
/** One container of a pod. */
export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
  rootfs?: FsStats;
  logs?: FsStats;
}
/** One volume of a pod. */
export interface VolumeStats extends FsStats {
  name: string;
}
/** One pod. */
export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStats[];
  cpu?: CPUStats;
  memory?: MemoryStats;
  network?: NetworkStats;
  volume?: VolumeStats[];
  'ephemeral-storage'?: FsStats;
}
/** `GET /stats/summary`. */
export interface Summary {
  node: NodeStats;
  pods: PodStats[];
}

/** Options of {@link StatsProvider}. */
export interface StatsOptions {
  nodeName: string;
  facts: FactsSource;
  clock: Clock;
  logger: Logger;
  runtime?: Pick<Runtime, 'stats' | 'imageFsInfo'> & Partial<Pick<Runtime, 'listPodSandbox'>>;
  /** The pods the agent runs (for start times). */
  pods?: () => readonly Pod[];
  /** kubelet's podLogsDir (container `logs` usage); omitted: no log stats. */
  podLogsDir?: string;
  /** kubelet's root dir (`pods/<uid>/volumes`); omitted: no volume stats. */
  rootDir?: string;
  /** Largest number of directory entries walked per volume or log dir (default 10000). */
  maxWalkEntries?: number;
  /** Pod stats computed elsewhere; replaces the CRI queries. */
  podStats?: () => Promise<PodStats[]>;
}

const USER_HZ = 100;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses /proc/stat: aggregate cpu time (ns) and boot time (s). */
export function parseProcStat(text: string): { usageNs: number; btime?: number } {
  let usageNs = 0;
  let btime: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal
      const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
      usageNs = (busy * 1e9) / USER_HZ;
    } else if (line.startsWith('btime ')) {
      btime = Number(line.split(/\s+/)[1]);
    }
  }
  return { usageNs, btime };
}

/** Parses /proc/net/dev. */
export function parseNetDev(text: string): InterfaceStats[] {
  const out: InterfaceStats[] = [];
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    if (f.length < 11) continue;
    out.push({ name, rxBytes: f[0], rxErrors: f[2], txBytes: f[8], txErrors: f[10] });
  }
  return out;
}

function nsToIso(ns: number | undefined, fallbackMs: number): string {
  return iso(ns ? Math.floor(ns / 1e6) : fallbackMs);
}

function cpuOf(c: CpuUsage | undefined, nowMs: number): CPUStats | undefined {
  if (!c) return undefined;
  const s: CPUStats = { time: nsToIso(c.timestamp, nowMs) };
  if (c.usageNanoCores) s.usageNanoCores = c.usageNanoCores.value;
  if (c.usageCoreNanoSeconds) s.usageCoreNanoSeconds = c.usageCoreNanoSeconds.value;
  return s;
}

function memOf(m: MemoryUsage | undefined, nowMs: number): MemoryStats | undefined {
  if (!m) return undefined;
  const s: MemoryStats = { time: nsToIso(m.timestamp, nowMs) };
  if (m.availableBytes) s.availableBytes = m.availableBytes.value;
  if (m.usageBytes) s.usageBytes = m.usageBytes.value;
  if (m.workingSetBytes) s.workingSetBytes = m.workingSetBytes.value;
  if (m.rssBytes) s.rssBytes = m.rssBytes.value;
  if (m.pageFaults) s.pageFaults = m.pageFaults.value;
  if (m.majorPageFaults) s.majorPageFaults = m.majorPageFaults.value;
  return s;
}

function netOf(n: NetworkUsage | undefined, nowMs: number): NetworkStats | undefined {
  if (!n) return undefined;
  const iface = (i: NetworkUsage['interfaces'][number]): InterfaceStats => ({ name: i.name, rxBytes: i.rxBytes?.value, rxErrors: i.rxErrors?.value, txBytes: i.txBytes?.value, txErrors: i.txErrors?.value });
  return { time: nsToIso(n.timestamp, nowMs), ...(n.defaultInterface ? iface(n.defaultInterface) : {}), interfaces: (n.interfaces ?? []).map(iface) };
}

/**
 * One stats entry per (pod, container name): a running instance (it has cgroup figures) wins
 * over exited ones, else the highest attempt (kubelet's `removeTerminatedContainers`).
 */
function latestPerName(list: CriContainerStats[]): CriContainerStats[] {
  const best = new Map<string, CriContainerStats>();
  const live = (c: CriContainerStats): boolean => !!(c.cpu || c.memory);
  for (const c of list) {
    const l = c.attributes?.labels ?? {};
    const name = c.attributes?.metadata?.name ?? l[LABELS.containerName] ?? '';
    const key = `${l[LABELS.podUid] ?? ''}/${name}`;
    const prev = best.get(key);
    if (!prev) {
      best.set(key, c);
      continue;
    }
    const better = live(c) !== live(prev) ? live(c) : (c.attributes?.metadata?.attempt ?? 0) > (prev.attributes?.metadata?.attempt ?? 0);
    if (better) best.set(key, c);
  }
  return [...best.values()];
}

/** Computes summaries; keeps the previous cpu sample to derive usageNanoCores. */
export class StatsProvider {
  private lastCpu?: { at: number; usageNs: number };

  constructor(private readonly opts: StatsOptions) {}

  /** The whole summary. Sections that cannot be read are left out (and logged). */
  async summary(): Promise<Summary> {
    const [node, pods] = await Promise.all([this.nodeStats(), this.podStats()]);
    return { node, pods };
  }

  private async text(p: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.opts.facts.root ?? '/', p), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Node-level stats. */
  async nodeStats(): Promise<NodeStats> {
    const now = this.opts.clock.now();
    const time = iso(now);
    const stat = await this.text('proc/stat');
    const parsed = stat ? parseProcStat(stat) : undefined;
    const node: NodeStats = { nodeName: this.opts.nodeName, startTime: iso(parsed?.btime ? parsed.btime * 1000 : now) };
    if (parsed) {
      const cpu: CPUStats = { time, usageCoreNanoSeconds: Math.round(parsed.usageNs) };
      // ns of cpu per ms of wall time × 1000 = ns per s = nanocores.
      if (this.lastCpu && now > this.lastCpu.at) cpu.usageNanoCores = Math.max(0, Math.round(((parsed.usageNs - this.lastCpu.usageNs) / (now - this.lastCpu.at)) * 1e3));
      this.lastCpu = { at: now, usageNs: parsed.usageNs };
      node.cpu = cpu;
    }
    try {
      const u = await readNodeUsage(this.opts.facts);
      const meminfo = (await this.text('proc/meminfo')) ?? '';
      const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
      const used = u.memoryTotalBytes - kb('MemFree');
      const workingSet = Math.max(0, used - kb('Inactive\\(file\\)'));
      node.memory = { time, availableBytes: Math.max(0, u.memoryTotalBytes - workingSet), usageBytes: used, workingSetBytes: workingSet, rssBytes: kb('AnonPages') };
      node.fs = {
        time,
        availableBytes: u.fsAvailableBytes,
        capacityBytes: u.fsCapacityBytes,
        usedBytes: Math.max(0, u.fsCapacityBytes - u.fsAvailableBytes),
        inodesFree: u.fsInodesFree,
        inodes: u.fsInodes,
        inodesUsed: Math.max(0, u.fsInodes - u.fsInodesFree),
      };
      node.rlimit = { time, maxpid: u.pidMax, curproc: u.pidCount };
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, 'cannot read node usage');
    }
    const dev = await this.text('proc/net/dev');
    if (dev) {
      const ifaces = parseNetDev(dev).filter((i) => i.name !== 'lo');
      const route = await this.text('proc/net/route');
      const def = route ? defaultRouteInterface(route) : undefined;
      const d = ifaces.find((i) => i.name === def);
      node.network = { time, ...(d ?? {}), interfaces: ifaces };
    }
    const imageFs = await this.imageFs(time);
    if (imageFs) node.runtime = { imageFs };
    return node;
  }

  private async imageFs(time: string): Promise<FsStats | undefined> {
    if (!this.opts.runtime) return undefined;
    try {
      const fsList = await this.opts.runtime.imageFsInfo();
      const f = fsList[0];
      if (!f) return undefined;
      const out: FsStats = { time };
      if (f.usedBytes) out.usedBytes = f.usedBytes.value;
      if (f.inodesUsed) out.inodesUsed = f.inodesUsed.value;
      if (f.fsId?.mountpoint) {
        try {
          const s = await statfs(f.fsId.mountpoint);
          out.capacityBytes = s.blocks * s.bsize;
          out.availableBytes = s.bavail * s.bsize;
          out.inodes = s.files;
          out.inodesFree = s.ffree;
        } catch {
          // The mountpoint is in another mount namespace: usage only.
        }
      }
      return out;
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, 'cannot get image fs info');
      return undefined;
    }
  }

  /** Per-pod stats. */
  async podStats(): Promise<PodStats[]> {
    let out: PodStats[];
    if (this.opts.podStats) {
      try {
        out = await this.opts.podStats();
      } catch (err) {
        this.opts.logger.warn({ err: errorMessage(err) }, 'pod stats provider failed');
        return [];
      }
    } else {
      out = await this.criPodStats();
    }
    await Promise.all(out.map((p) => this.addStorage(p)));
    return out;
  }

  private async criPodStats(): Promise<PodStats[]> {
    const rt = this.opts.runtime;
    const stats = rt?.stats;
    if (!stats) return [];
    const now = this.opts.clock.now();
    const pods = new Map((this.opts.pods?.() ?? []).map((p) => [p.metadata?.uid ?? '', p]));
    const fromSandboxes = (list: PodSandboxStats[]): PodStats[] => {
      // One entry per pod: a pod with an old, stopped sandbox next to its ready one keeps the one with figures.
      const byUid = new Map<string, PodStats>();
      for (const s of list) {
        const p = this.fromSandbox(s, pods, now);
        if (!p) continue;
        const prev = byUid.get(p.podRef.uid);
        if (!prev || (!prev.cpu && p.cpu)) byUid.set(p.podRef.uid, p);
      }
      return [...byUid.values()];
    };
    try {
      return fromSandboxes(await stats.listPodSandboxStats());
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err) }, 'ListPodSandboxStats failed; asking each ready sandbox');
    }
    if (rt.listPodSandbox) {
      try {
        const ready = await rt.listPodSandbox({ state: 'SANDBOX_READY' });
        const each = await Promise.all(
          ready.map((sb) =>
            stats.podSandboxStats(sb.id).catch((err: unknown) => {
              this.opts.logger.debug({ err: errorMessage(err), sandbox: sb.id }, 'PodSandboxStats failed');
              return undefined;
            }),
          ),
        );
        const got = each.filter((s): s is PodSandboxStats => !!s?.attributes);
        if (got.length > 0 || ready.length === 0) return fromSandboxes(got);
      } catch (err) {
        this.opts.logger.debug({ err: errorMessage(err) }, 'PodSandboxStats per sandbox failed; using ListContainerStats');
      }
    }
    try {
      return this.fromContainers(await stats.listContainerStats(), pods, now);
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'cannot list container stats');
      return [];
    }
  }

  /** Adds container `logs`, pod `volume` and `ephemeral-storage` figures (kubelet's `makePodStorageStats`). */
  private async addStorage(p: PodStats): Promise<void> {
    const { podLogsDir, rootDir } = this.opts;
    if (!podLogsDir && !rootDir) return;
    const time = iso(this.opts.clock.now());
    const ref = p.podRef;
    if (podLogsDir && ref.uid) {
      const podDir = join(podLogsDir, `${ref.namespace}_${ref.name}_${ref.uid}`);
      await Promise.all(
        p.containers.map(async (c) => {
          const u = await this.usage(join(podDir, c.name));
          if (u) c.logs = { time, ...(await this.capacity(podDir)), usedBytes: u.bytes, inodesUsed: u.inodes };
        }),
      );
    }
    let emptyDirBytes = 0;
    let emptyDirInodes = 0;
    if (rootDir && ref.uid) {
      const volDir = join(rootDir, 'pods', ref.uid, 'volumes');
      const volumes: VolumeStats[] = [];
      for (const plugin of await readdir(volDir).catch(() => [] as string[])) {
        for (const name of await readdir(join(volDir, plugin)).catch(() => [] as string[])) {
          const dir = join(volDir, plugin, name);
          const u = await this.usage(dir);
          if (!u) continue;
          volumes.push({ name, time, ...(await this.capacity(dir)), usedBytes: u.bytes, inodesUsed: u.inodes });
          if (plugin === 'kubernetes.io~empty-dir') {
            emptyDirBytes += u.bytes;
            emptyDirInodes += u.inodes;
          }
        }
      }
      if (volumes.length) p.volume = volumes.sort((a, b) => a.name.localeCompare(b.name));
    }
    const rootfs = p.containers.reduce((n, c) => n + (c.rootfs?.usedBytes ?? 0) + (c.logs?.usedBytes ?? 0), 0);
    const inodes = p.containers.reduce((n, c) => n + (c.rootfs?.inodesUsed ?? 0) + (c.logs?.inodesUsed ?? 0), 0);
    p['ephemeral-storage'] = { time, ...(rootDir ? await this.capacity(rootDir) : {}), usedBytes: rootfs + emptyDirBytes, inodesUsed: inodes + emptyDirInodes };
  }

  /** Bytes (allocated blocks) and inodes under `dir`, walking at most `maxWalkEntries` entries; undefined when absent. */
  private async usage(dir: string): Promise<{ bytes: number; inodes: number } | undefined> {
    let budget = this.opts.maxWalkEntries ?? 10_000;
    let bytes = 0;
    let inodes = 0;
    const walk = async (d: string): Promise<boolean> => {
      let st;
      try {
        st = await lstat(d);
      } catch {
        return false;
      }
      inodes++;
      bytes += st.blocks * 512;
      if (!st.isDirectory()) return true;
      for (const e of await readdir(d).catch(() => [] as string[])) {
        if (--budget < 0) break;
        await walk(join(d, e));
      }
      return true;
    };
    return (await walk(dir)) ? { bytes, inodes } : undefined;
  }

  private async capacity(path: string): Promise<Partial<FsStats>> {
    try {
      const s = await statfs(path);
      return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize, inodes: s.files, inodesFree: s.ffree };
    } catch {
      return {};
    }
  }

  private containerStart(pod: Pod | undefined, name: string, nowMs: number): string {
    const cs = [...(pod?.status?.containerStatuses ?? []), ...(pod?.status?.initContainerStatuses ?? [])].find((c) => c.name === name);
    return cs?.state?.running?.startedAt ?? cs?.state?.terminated?.startedAt ?? pod?.status?.startTime ?? iso(nowMs);
  }

  private container(c: CriContainerStats, pod: Pod | undefined, nowMs: number): ContainerStats {
    const name = c.attributes?.metadata?.name ?? c.attributes?.labels?.[LABELS.containerName] ?? '';
    const out: ContainerStats = { name, startTime: this.containerStart(pod, name, nowMs) };
    const cpu = cpuOf(c.cpu, nowMs);
    if (cpu) out.cpu = cpu;
    const mem = memOf(c.memory, nowMs);
    if (mem) out.memory = mem;
    if (c.writableLayer) out.rootfs = { time: nsToIso(c.writableLayer.timestamp, nowMs), usedBytes: c.writableLayer.usedBytes?.value, inodesUsed: c.writableLayer.inodesUsed?.value };
    return out;
  }

  private fromSandbox(s: PodSandboxStats, pods: Map<string, Pod>, nowMs: number): PodStats | undefined {
    const md = s.attributes?.metadata;
    if (!md) return undefined;
    const pod = pods.get(md.uid);
    const out: PodStats = {
      podRef: { name: md.name, namespace: md.namespace, uid: md.uid },
      startTime: pod?.status?.startTime ?? iso(nowMs),
      containers: latestPerName(s.linux?.containers ?? []).map((c) => this.container(c, pod, nowMs)),
    };
    const cpu = cpuOf(s.linux?.cpu, nowMs);
    if (cpu) out.cpu = cpu;
    const mem = memOf(s.linux?.memory, nowMs);
    if (mem) out.memory = mem;
    const net = netOf(s.linux?.network, nowMs);
    if (net) out.network = net;
    return out;
  }

  private fromContainers(list: CriContainerStats[], pods: Map<string, Pod>, nowMs: number): PodStats[] {
    const byPod = new Map<string, PodStats>();
    for (const c of latestPerName(list)) {
      const l = c.attributes?.labels ?? {};
      const uid = l[LABELS.podUid];
      if (!uid) continue;
      const pod = pods.get(uid);
      let p = byPod.get(uid);
      if (!p) {
        p = { podRef: { name: l[LABELS.podName] ?? '', namespace: l[LABELS.podNamespace] ?? '', uid }, startTime: pod?.status?.startTime ?? iso(nowMs), containers: [] };
        byPod.set(uid, p);
      }
      p.containers.push(this.container(c, pod, nowMs));
    }
    for (const p of byPod.values()) {
      const time = iso(nowMs);
      const sum = (f: (c: ContainerStats) => number | undefined): number | undefined => {
        const vals = p.containers.map(f).filter((v): v is number => v !== undefined);
        return vals.length ? vals.reduce((a, b) => a + b, 0) : undefined;
      };
      p.cpu = { time, usageNanoCores: sum((c) => c.cpu?.usageNanoCores), usageCoreNanoSeconds: sum((c) => c.cpu?.usageCoreNanoSeconds) };
      p.memory = { time, workingSetBytes: sum((c) => c.memory?.workingSetBytes), usageBytes: sum((c) => c.memory?.usageBytes), rssBytes: sum((c) => c.memory?.rssBytes) };
    }
    return [...byPod.values()];
  }
}

/** Renders `/metrics/resource` (what metrics-server scrapes) from a summary. */
export function renderResourceMetrics(s: Summary, scrapeError: boolean): string {
  const lines: string[] = [];
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const ts = (t: string | undefined): string => (t ? ` ${Date.parse(t)}` : '');
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: string[]): void => {
    lines.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const cpuSec = (c: CPUStats | undefined): number | undefined => (c?.usageCoreNanoSeconds !== undefined ? c.usageCoreNanoSeconds / 1e9 : undefined);
  const cLabels = (p: PodStats, c: ContainerStats): string => `{container="${esc(c.name)}",namespace="${esc(p.podRef.namespace)}",pod="${esc(p.podRef.name)}"}`;
  const pLabels = (p: PodStats): string => `{namespace="${esc(p.podRef.namespace)}",pod="${esc(p.podRef.name)}"}`;
  const cs: [PodStats, ContainerStats][] = s.pods.flatMap((p) => p.containers.map((c) => [p, c] as [PodStats, ContainerStats]));
  family('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the container in core-seconds', cs.filter(([, c]) => cpuSec(c.cpu) !== undefined).map(([p, c]) => `container_cpu_usage_seconds_total${cLabels(p, c)} ${cpuSec(c.cpu)}${ts(c.cpu?.time)}`));
  family('container_memory_working_set_bytes', 'gauge', 'Current working set of the container in bytes', cs.filter(([, c]) => c.memory?.workingSetBytes !== undefined).map(([p, c]) => `container_memory_working_set_bytes${cLabels(p, c)} ${c.memory!.workingSetBytes}${ts(c.memory?.time)}`));
  family('container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds', cs.map(([p, c]) => `container_start_time_seconds${cLabels(p, c)} ${Date.parse(c.startTime) / 1000}`));
  family('node_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the node in core-seconds', cpuSec(s.node.cpu) !== undefined ? [`node_cpu_usage_seconds_total ${cpuSec(s.node.cpu)}${ts(s.node.cpu?.time)}`] : []);
  family('node_memory_working_set_bytes', 'gauge', 'Current working set of the node in bytes', s.node.memory?.workingSetBytes !== undefined ? [`node_memory_working_set_bytes ${s.node.memory.workingSetBytes}${ts(s.node.memory.time)}`] : []);
  family('pod_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the pod in core-seconds', s.pods.filter((p) => cpuSec(p.cpu) !== undefined).map((p) => `pod_cpu_usage_seconds_total${pLabels(p)} ${cpuSec(p.cpu)}${ts(p.cpu?.time)}`));
  family('pod_memory_working_set_bytes', 'gauge', 'Current working set of the pod in bytes', s.pods.filter((p) => p.memory?.workingSetBytes !== undefined).map((p) => `pod_memory_working_set_bytes${pLabels(p)} ${p.memory!.workingSetBytes}${ts(p.memory?.time)}`));
  family('resource_scrape_error', 'gauge', '1 if there was an error while getting container metrics, 0 otherwise', [`resource_scrape_error ${scrapeError ? 1 : 0}`]);
  return `${lines.join('\n')}\n`;
}
