/**
 * Node pressure from the hard eviction thresholds, as kubelet's eviction manager reports it
 * to the node status setters (`IsUnderMemoryPressure`, `IsUnderDiskPressure`,
 * `IsUnderPIDPressure`): a signal is under pressure while its observed value is below its
 * threshold, and the pressure is reported for `evictionPressureTransitionPeriod` (5 min) after
 * the threshold was last met, so conditions do not flap.
 *
 * Signals and their observations:
 * - `memory.available` = MemAvailable of /proc/meminfo. Deviation: kubelet uses
 *   capacity − working set of the root cgroup; MemAvailable is the kernel's own estimate of
 *   the same quantity and needs no cgroup walk.
 * - `nodefs.available` / `nodefs.inodesFree` = statfs of kubelet's root dir.
 * - `imagefs.available` / `imagefs.inodesFree` = the same filesystem (the runtime's image
 *   store is on the root filesystem in every supported layout; kubelet does the same when the
 *   two are one device).
 * - `pid.available` = min(pid_max, threads-max) − current entities.
 */
import type { NodeUsage } from './facts.js';
import { thresholdValue, type Threshold } from './resources.js';

/** Which pressures hold now. */
export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

const DISK_SIGNALS = new Set(['nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree']);

/** Is `signal` under its threshold for these usage figures? */
export function thresholdMet(t: Threshold, u: NodeUsage): boolean {
  switch (t.signal) {
    case 'memory.available':
      return u.memoryAvailableBytes < thresholdValue(t, u.memoryTotalBytes);
    case 'nodefs.available':
    case 'imagefs.available':
      return u.fsAvailableBytes < thresholdValue(t, u.fsCapacityBytes);
    case 'nodefs.inodesFree':
    case 'imagefs.inodesFree':
      return u.fsInodes > 0 && u.fsInodesFree < thresholdValue(t, u.fsInodes);
    case 'pid.available':
      return u.pidMax - u.pidCount < thresholdValue(t, u.pidMax);
    default:
      return false;
  }
}

/** Tracks pressure with a transition period. */
export class PressureTracker {
  private lastMet: { memory?: number; disk?: number; pid?: number } = {};

  constructor(
    private readonly thresholds: readonly Threshold[],
    private readonly transitionPeriodMs: number = 5 * 60_000,
  ) {}

  /** Records an observation taken at `now` (ms) and returns the pressures to report. */
  observe(usage: NodeUsage, now: number): Pressure {
    const met = { memory: false, disk: false, pid: false };
    for (const t of this.thresholds) {
      if (!thresholdMet(t, usage)) continue;
      if (t.signal === 'memory.available') met.memory = true;
      else if (DISK_SIGNALS.has(t.signal)) met.disk = true;
      else if (t.signal === 'pid.available') met.pid = true;
    }
    const out: Pressure = { memory: false, disk: false, pid: false };
    for (const k of ['memory', 'disk', 'pid'] as const) {
      if (met[k]) this.lastMet[k] = now;
      const last = this.lastMet[k];
      out[k] = last !== undefined && now - last < this.transitionPeriodMs;
      if (met[k]) out[k] = true;
    }
    return out;
  }
}
