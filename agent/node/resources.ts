/**
 * Node capacity and allocatable, computed as kubelet does:
 *
 * - capacity (cAdvisor's `CapacityFromMachineInfo` + the MachineInfo setter): `cpu` = cores,
 *   `memory` = MemTotal, `pods` = maxPods, `ephemeral-storage` = size of the filesystem holding
 *   kubelet's root dir, `hugepages-<size>` = pages × page size;
 * - allocatable (`ContainerManager.GetNodeAllocatableReservation`): capacity − kubeReserved −
 *   systemReserved − the hard eviction threshold of the matching signal (`memory.available`
 *   for memory, `nodefs.available` for ephemeral-storage; a percentage is of capacity), then
 *   memory − every hugepage pool; never below zero.
 */
import type { MachineInfo } from './facts.js';
import { InvalidInputError } from '../../lib/errors.js';
import { cpuToMillis, formatBytes, formatMillis, parseQuantity } from '../../lib/units/index.js';

/** A ResourceList as the API writes it (`{ cpu: "2", memory: "24609876Ki" }`). */
export type ResourceList = Record<string, string>;

/** The part of the agent config that shapes resources. */
export interface ResourceConfig {
  maxPods: number;
  kubeReserved: Record<string, string>;
  systemReserved: Record<string, string>;
  evictionHard: Record<string, string>;
}

/** One eviction threshold: an absolute quantity or a fraction of capacity. */
export interface Threshold {
  signal: string;
  /** Absolute value (bytes for memory/fs, a count for inodes and pids). */
  quantity?: number;
  /** Fraction of capacity, 0..1 (`10%` → 0.1). */
  percentage?: number;
}

/** Parses `evictionHard` (`{"memory.available": "100Mi", "nodefs.available": "10%"}`). */
export function parseThresholds(evictionHard: Record<string, string>): Threshold[] {
  const out: Threshold[] = [];
  for (const [signal, raw] of Object.entries(evictionHard ?? {})) {
    const v = String(raw).trim();
    if (v.endsWith('%')) {
      const p = Number(v.slice(0, -1));
      if (!Number.isFinite(p) || p < 0 || p > 100) throw new InvalidInputError(`evictionHard[${signal}]: invalid percentage ${JSON.stringify(v)}`, { field: `evictionHard.${signal}` });
      out.push({ signal, percentage: p / 100 });
    } else {
      out.push({ signal, quantity: parseQuantity(v, `evictionHard.${signal}`) });
    }
  }
  return out;
}

/** The threshold's value against a capacity (truncated to an integer, as kubelet's int64 conversion does). */
export function thresholdValue(t: Threshold, capacity: number): number {
  if (t.percentage !== undefined) return Math.trunc(capacity * t.percentage);
  return t.quantity ?? 0;
}

function reserved(cfg: ResourceConfig, name: string): number {
  let sum = 0;
  for (const list of [cfg.kubeReserved ?? {}, cfg.systemReserved ?? {}]) {
    const v = list[name];
    if (v === undefined) continue;
    sum += name === 'cpu' ? cpuToMillis(v) : parseQuantity(v, name);
  }
  return sum;
}

/** The hugepage resource name of a page size (`hugepages-2Mi`, `hugepages-1Gi`). */
export function hugePageResourceName(pageSizeBytes: number): string {
  return `hugepages-${formatBytes(pageSizeBytes)}`;
}

/** Capacity and allocatable of the node. Throws {@link InvalidInputError} on a bad reservation or threshold. */
export function computeResources(info: MachineInfo, cfg: ResourceConfig): { capacity: ResourceList; allocatable: ResourceList } {
  const thresholds = parseThresholds(cfg.evictionHard);
  const evict = (signal: string, capacity: number): number => {
    const t = thresholds.find((x) => x.signal === signal);
    return t ? thresholdValue(t, capacity) : 0;
  };
  const cpuMillis = info.cpus * 1000;
  const mem = info.memoryCapacityBytes;
  const eph = info.ephemeralStorageCapacityBytes;
  const capacity: ResourceList = {
    cpu: formatMillis(cpuMillis),
    'ephemeral-storage': formatBytes(eph),
    memory: formatBytes(mem),
    pods: String(cfg.maxPods),
  };
  let hugeTotal = 0;
  for (const p of info.hugePages) {
    const bytes = p.pageSizeBytes * p.count;
    capacity[hugePageResourceName(p.pageSizeBytes)] = formatBytes(bytes);
    hugeTotal += bytes;
  }
  const allocatable: ResourceList = {
    cpu: formatMillis(Math.max(0, cpuMillis - reserved(cfg, 'cpu'))),
    'ephemeral-storage': formatBytes(Math.max(0, eph - reserved(cfg, 'ephemeral-storage') - evict('nodefs.available', eph))),
    memory: formatBytes(Math.max(0, mem - reserved(cfg, 'memory') - evict('memory.available', mem) - hugeTotal)),
    pods: String(cfg.maxPods),
  };
  for (const p of info.hugePages) {
    const name = hugePageResourceName(p.pageSizeBytes);
    allocatable[name] = formatBytes(Math.max(0, p.pageSizeBytes * p.count - reserved(cfg, name)));
  }
  return { capacity, allocatable };
}
