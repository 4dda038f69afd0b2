/**
 * Node facts read straight from the kernel and the OS, without shelling out: what cAdvisor's
 * `MachineInfo` and `VersionInfo` give kubelet (cpu count, memory, machine-id, system UUID,
 * boot id, kernel version, OS image, hugepages), filesystem and pid usage for the pressure
 * conditions, and the node's addresses.
 *
 * Every path is resolved under an injectable `root` (default `/`), so tests point it at a
 * fixture directory holding `proc/meminfo`, `etc/os-release`, … .
 */
import { availableParallelism, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { readFile, readdir, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isIP, isIPv4 } from 'node:net';
import type { NodeAddress } from 'kubernetes-types/core/v1.js';
import { InvalidInputError, SkiffError } from '../../lib/errors.js';

/** Facts could not be read (a required file is missing or malformed). */
export class NodeFactsError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_NODE_FACTS', message, options);
  }
}

/** One hugepage pool: page size and how many pages are reserved. */
export interface HugePagePool {
  /** Page size in bytes. */
  pageSizeBytes: number;
  /** `nr_hugepages`. */
  count: number;
}

/** Static facts about the machine (cAdvisor's MachineInfo + VersionInfo). */
export interface MachineInfo {
  cpus: number;
  /** MemTotal, in bytes. */
  memoryCapacityBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  /** PRETTY_NAME of os-release, or `Linux`. */
  osImage: string;
  hugePages: HugePagePool[];
  /** Size of the filesystem holding kubelet's root dir, in bytes. */
  ephemeralStorageCapacityBytes: number;
}

/** Usage figures sampled for the pressure conditions and `/stats/summary`. */
export interface NodeUsage {
  memoryTotalBytes: number;
  /** MemAvailable, in bytes. */
  memoryAvailableBytes: number;
  fsCapacityBytes: number;
  fsAvailableBytes: number;
  fsInodes: number;
  fsInodesFree: number;
  /** min(pid_max, threads-max): the most pids the node can hold. */
  pidMax: number;
  /** Scheduling entities in existence now (4th field of /proc/loadavg). */
  pidCount: number;
}

/** Where and how facts are read. */
export interface FactsSource {
  /** Prefix of `/proc`, `/sys`, `/etc`; default `/`. */
  root?: string;
  /** A path on the filesystem whose size is the node's ephemeral storage (kubelet's root dir). */
  fsPath?: string;
  /** Overrides `os.availableParallelism()`. */
  cpus?: number;
  /** Overrides `os.networkInterfaces()`. */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

function at(src: FactsSource, p: string): string {
  return join(src.root ?? '/', p);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EINVAL') return undefined;
    throw new NodeFactsError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function readFirst(src: FactsSource, paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    const t = (await readText(at(src, p)))?.trim();
    if (t) return t;
  }
  return undefined;
}

/** Parses /proc/meminfo into bytes per key (`MemTotal`, `MemAvailable`, …). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(?:\s+(kB))?/.exec(line);
    if (m) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

/** Parses os-release; returns PRETTY_NAME, or undefined. */
export function parseOsRelease(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[1].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    return v.replace(/\\(["'$`\\])/g, '$1');
  }
  return undefined;
}

async function readMeminfo(src: FactsSource): Promise<Map<string, number>> {
  const text = await readText(at(src, 'proc/meminfo'));
  if (!text) throw new NodeFactsError(`cannot read ${at(src, 'proc/meminfo')}`);
  const m = parseMeminfo(text);
  if (!m.has('MemTotal')) throw new NodeFactsError(`${at(src, 'proc/meminfo')} has no MemTotal`);
  return m;
}

async function readHugePages(src: FactsSource): Promise<HugePagePool[]> {
  const dir = at(src, 'sys/kernel/mm/hugepages');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const pools: HugePagePool[] = [];
  for (const e of entries.sort()) {
    const m = /^hugepages-(\d+)kB$/.exec(e);
    if (!m) continue;
    const count = Number((await readText(join(dir, e, 'nr_hugepages')))?.trim() ?? '0');
    pools.push({ pageSizeBytes: Number(m[1]) * 1024, count: Number.isFinite(count) ? count : 0 });
  }
  return pools.sort((a, b) => a.pageSizeBytes - b.pageSizeBytes);
}

/** statfs of `path`, or of its nearest existing parent (the root dir may not exist yet). */
async function statfsNearest(path: string): Promise<{ capacity: number; available: number; inodes: number; inodesFree: number }> {
  let p = path;
  for (;;) {
    try {
      const s = await statfs(p);
      return { capacity: s.blocks * s.bsize, available: s.bavail * s.bsize, inodes: s.files, inodesFree: s.ffree };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(p);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== p) {
        p = parent;
        continue;
      }
      throw new NodeFactsError(`statfs ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Reads the machine's static facts. Throws {@link NodeFactsError} when /proc/meminfo is unreadable. */
export async function readMachineInfo(src: FactsSource = {}): Promise<MachineInfo> {
  const mem = await readMeminfo(src);
  const machineID = (await readFirst(src, ['etc/machine-id', 'var/lib/dbus/machine-id'])) ?? '';
  const productUuid = await readFirst(src, ['sys/class/dmi/id/product_uuid']);
  const fs = await statfsNearest(src.fsPath ?? src.root ?? '/');
  const osRelease = (await readText(at(src, 'etc/os-release'))) ?? (await readText(at(src, 'usr/lib/os-release')));
  return {
    cpus: src.cpus ?? availableParallelism(),
    memoryCapacityBytes: mem.get('MemTotal')!,
    machineID,
    systemUUID: productUuid ?? machineID,
    bootID: (await readFirst(src, ['proc/sys/kernel/random/boot_id'])) ?? '',
    kernelVersion: (await readFirst(src, ['proc/sys/kernel/osrelease'])) ?? '',
    osImage: (osRelease && parseOsRelease(osRelease)) || 'Linux',
    hugePages: await readHugePages(src),
    ephemeralStorageCapacityBytes: fs.capacity,
  };
}

/** Samples memory, filesystem and pid usage. */
export async function readNodeUsage(src: FactsSource = {}): Promise<NodeUsage> {
  const mem = await readMeminfo(src);
  const fs = await statfsNearest(src.fsPath ?? src.root ?? '/');
  const pidMaxRaw = Number((await readFirst(src, ['proc/sys/kernel/pid_max'])) ?? '32768');
  const threadsMax = Number((await readFirst(src, ['proc/sys/kernel/threads-max'])) ?? 'NaN');
  const loadavg = (await readFirst(src, ['proc/loadavg'])) ?? '';
  const procs = /\s\d+\/(\d+)\s/.exec(` ${loadavg} `);
  const total = mem.get('MemTotal')!;
  return {
    memoryTotalBytes: total,
    // MemAvailable exists since Linux 3.14; older kernels: free + cached, as `free` did.
    memoryAvailableBytes: mem.get('MemAvailable') ?? (mem.get('MemFree') ?? 0) + (mem.get('Cached') ?? 0),
    fsCapacityBytes: fs.capacity,
    fsAvailableBytes: fs.available,
    fsInodes: fs.inodes,
    fsInodesFree: fs.inodesFree,
    pidMax: Number.isFinite(threadsMax) ? Math.min(pidMaxRaw, threadsMax) : pidMaxRaw,
    pidCount: procs ? Number(procs[1]) : 0,
  };
}

/** The interface of the IPv4 default route with the lowest metric, from /proc/net/route. */
export function defaultRouteInterface(routeTable: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of routeTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, , flags, , , metric, mask] = f;
    // RTF_UP = 0x1; a default route has destination and mask 0.
    if (dest !== '00000000' || mask !== '00000000' || (parseInt(flags, 16) & 0x1) === 0) continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

function isV4(info: NetworkInterfaceInfo): boolean {
  // Node 18.0–18.3 reported the family as a number.
  return info.family === 'IPv4' || (info.family as unknown) === 4;
}

function isGlobalUnicastV4(ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const [a, b] = ip.split('.').map(Number);
  if (a === 127 || a === 0 || a >= 224) return false;
  if (a === 169 && b === 254) return false;
  return true;
}

/** Rejects addresses kubelet's `validateNodeIP` rejects; returns an error message or undefined. */
function nodeIPProblem(ip: string, ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  const v4 = isIPv4(ip);
  if (v4) {
    const [a, b] = ip.split('.').map(Number);
    if (a === 127) return "nodeIP can't be loopback address";
    if (a >= 224 && a < 240) return "nodeIP can't be a multicast address";
    if (a === 169 && b === 254) return "nodeIP can't be a link-local unicast address";
    if (ip === '0.0.0.0') return "nodeIP can't be an all zeros address";
  } else {
    const l = ip.toLowerCase();
    if (l === '::1') return "nodeIP can't be loopback address";
    if (l.startsWith('ff')) return "nodeIP can't be a multicast address";
    if (l.startsWith('fe8') || l.startsWith('fe9') || l.startsWith('fea') || l.startsWith('feb')) return "nodeIP can't be a link-local unicast address";
    if (l === '::') return "nodeIP can't be an all zeros address";
  }
  for (const list of Object.values(ifaces)) for (const i of list ?? []) if (i.address.toLowerCase() === ip.toLowerCase()) return undefined;
  return `node IP: "${ip}" not found in the host's network interfaces`;
}

/**
 * The node's addresses, as kubelet's NodeAddress setter builds them without a cloud provider:
 * `InternalIP` (each `--node-ip`; else the hostname when it is an IP; else the IPv4 of the
 * default-route interface; else the first global IPv4 of any interface; else 127.0.0.1),
 * then `Hostname`.
 *
 * Deviation: kubelet also tries a DNS lookup of the node name before looking at interfaces;
 * Skiff skips DNS (slow and often wrong on test hosts) and goes straight to the interfaces.
 * Throws {@link InvalidInputError} for a `--node-ip` kubelet would reject.
 */
export async function detectNodeAddresses(src: FactsSource & { nodeIPs?: readonly string[]; hostname: string }): Promise<NodeAddress[]> {
  const ifaces = (src.interfaces ?? networkInterfaces)();
  const hostnameAddr: NodeAddress = { type: 'Hostname', address: src.hostname };
  if (src.nodeIPs && src.nodeIPs.length > 0) {
    const out: NodeAddress[] = [];
    for (const ip of src.nodeIPs) {
      if (!isIP(ip)) throw new InvalidInputError(`failed to validate nodeIP: invalid IP address ${JSON.stringify(ip)}`, { field: 'node-ip' });
      const problem = nodeIPProblem(ip, ifaces);
      if (problem) throw new InvalidInputError(`failed to validate nodeIP: ${problem}`, { field: 'node-ip' });
      out.push({ type: 'InternalIP', address: ip });
    }
    return [...out, hostnameAddr];
  }
  if (isIP(src.hostname)) return [{ type: 'InternalIP', address: src.hostname }, hostnameAddr];
  let ip: string | undefined;
  const routes = await readText(at(src, 'proc/net/route'));
  const iface = routes ? defaultRouteInterface(routes) : undefined;
  if (iface) ip = (ifaces[iface] ?? []).find((i) => isV4(i) && isGlobalUnicastV4(i.address))?.address;
  if (!ip) {
    for (const name of Object.keys(ifaces)) {
      const hit = (ifaces[name] ?? []).find((i) => isV4(i) && !i.internal && isGlobalUnicastV4(i.address));
      if (hit) {
        ip = hit.address;
        break;
      }
    }
  }
  return [{ type: 'InternalIP', address: ip ?? '127.0.0.1' }, hostnameAddr];
}
