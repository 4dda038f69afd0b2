/**
 * Cgroup names, as kubelet's `cm.CgroupName`: a list of components such as
 * `["kubepods", "burstable", "pod<uid>"]`, rendered per driver:
 *
 * - cgroupfs: `/kubepods/burstable/pod<uid>`
 * - systemd:  `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice`
 *
 * Both renderings are paths relative to a hierarchy's mount point.
 */
import type { QOSClass } from './resources.js';

/** A cgroup name as its components. */
export type CgroupName = readonly string[];

/** The cgroup driver. */
export type CgroupDriver = 'cgroupfs' | 'systemd';

const SYSTEMD_SUFFIX = '.slice';

function escapeSystemd(part: string): string {
  return part.replace(/-/g, '_');
}

function unescapeSystemd(part: string): string {
  return part.replace(/_/g, '-');
}

/** `ExpandSlice`: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`. */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(SYSTEMD_SUFFIX) || slice.length <= SYSTEMD_SUFFIX.length || slice.includes('/')) {
    throw new Error(`invalid slice name: ${slice}`);
  }
  const name = slice.slice(0, -SYSTEMD_SUFFIX.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (part === '') throw new Error(`invalid slice name: ${slice}`);
    path += `/${prefix}${part}${SYSTEMD_SUFFIX}`;
    prefix += `${part}-`;
  }
  return path;
}

/** `CgroupName.ToCgroupfs`. */
export function toCgroupfs(name: CgroupName): string {
  return '/' + name.filter((p) => p !== '').join('/');
}

/** `CgroupName.ToSystemd`: always the expanded (cgroupfs-shaped) form. */
export function toSystemd(name: CgroupName): string {
  const parts = name.filter((p) => p !== '');
  if (parts.length === 0) return '/';
  return expandSlice(parts.map(escapeSystemd).join('-') + SYSTEMD_SUFFIX);
}

/** The driver's rendering of a name (kubelet `cgroupManager.Name`). */
export function renderName(driver: CgroupDriver, name: CgroupName): string {
  return driver === 'systemd' ? toSystemd(name) : toCgroupfs(name);
}

/**
 * Parses `--cgroup-root` into a name: a cgroupfs path (`/`, `/skiff-test`), or for the
 * systemd driver a slice (`foo-bar.slice` or its expanded path) whose last element is split
 * on `-` (kubelet's `ParseSystemdToCgroupName`).
 */
export function parseCgroupRoot(driver: CgroupDriver, root: string): CgroupName {
  const trimmed = root.trim();
  if (driver === 'systemd' && trimmed.endsWith(SYSTEMD_SUFFIX)) {
    const base = trimmed.split('/').filter(Boolean).pop() ?? '';
    return base.slice(0, -SYSTEMD_SUFFIX.length).split('-').filter(Boolean).map(unescapeSystemd);
  }
  return trimmed.split('/').filter(Boolean);
}

/** kubelet's `CgroupKubePods` node-allocatable cgroup component. */
export const KUBEPODS = 'kubepods';

/** The parent of a pod cgroup for a QoS class, under `root`. */
export function qosCgroupName(root: CgroupName, qos: QOSClass): CgroupName {
  if (qos === 'Guaranteed') return [...root, KUBEPODS];
  return [...root, KUBEPODS, qos.toLowerCase()];
}

/** The pod's cgroup name: `<qos parent>/pod<uid>`. */
export function podCgroupName(root: CgroupName, qos: QOSClass, podUid: string): CgroupName {
  return [...qosCgroupName(root, qos), `pod${podUid}`];
}

/**
 * The pod UID of a pod cgroup directory's base name (`pod<uid>` for cgroupfs,
 * `kubepods-burstable-pod<uid_>.slice` for systemd), or undefined for anything else.
 */
export function podUidFromDirName(driver: CgroupDriver, base: string): string | undefined {
  if (driver === 'systemd') {
    if (!base.endsWith(SYSTEMD_SUFFIX)) return undefined;
    const last = base.slice(0, -SYSTEMD_SUFFIX.length).split('-').pop() ?? '';
    if (!last.startsWith('pod') || last.length <= 3) return undefined;
    return unescapeSystemd(last.slice(3));
  }
  if (!base.startsWith('pod') || base.length <= 3) return undefined;
  return base.slice(3);
}
