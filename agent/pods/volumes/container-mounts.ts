/**
 * A container's `volumeMounts` as CRI mounts (kubelet `makeMounts`): the volume's host path
 * (plus `subPath` / `subPathExpr`), read-only when the mount or the volume says so, the
 * mount propagation, and the managed `/etc/hosts` unless the container mounts its own.
 */
import { chmodSync, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Container, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { Mount, MountPropagation } from '../../runtime/index.js';
import { ContainerMountError } from './errors.js';
import { ETC_HOSTS_PATH, etcHostsMount } from './etc-hosts.js';
import { expandVars } from './expansion.js';
import { isAtOrBelow } from './mounter.js';
import type { MountedVolume } from './types.js';

/** Options of {@link containerMounts}. */
export interface ContainerMountsOptions {
  /** The pod's hosts file (from `writeEtcHosts`); mounted at /etc/hosts unless a volumeMount is. */
  etcHostsPath?: string;
  /** The container's resolved environment, for `subPathExpr`. */
  env?: Record<string, string>;
}

function propagation(m: VolumeMount, container: Container): MountPropagation {
  switch (m.mountPropagation ?? 'None') {
    case 'None':
      return 'PROPAGATION_PRIVATE';
    case 'HostToContainer':
      return 'PROPAGATION_HOST_TO_CONTAINER';
    case 'Bidirectional':
      if (!container.securityContext?.privileged) {
        throw new ContainerMountError(`Bidirectional mount propagation is available only to privileged containers`, {
          volumeName: m.name,
          containerName: container.name,
        });
      }
      return 'PROPAGATION_BIDIRECTIONAL';
    default:
      throw new ContainerMountError(`invalid MountPropagation mode: "${m.mountPropagation}"`, { volumeName: m.name, containerName: container.name });
  }
}

function resolveSubPath(m: VolumeMount, container: Container, env: Record<string, string> | undefined): string {
  if (m.subPathExpr) {
    const missing = new Set<string>();
    const out = expandVars(m.subPathExpr, (k) => {
      const v = env?.[k];
      if (!v) missing.add(k);
      return v ?? '';
    });
    if (missing.size) {
      throw new ContainerMountError(`missing value for ${[...missing].sort().join(', ')}`, { volumeName: m.name, containerName: container.name });
    }
    return out;
  }
  return m.subPath ?? '';
}

/**
 * Builds the CRI mounts of `container` from the pod's set-up volumes. Throws
 * {@link ContainerMountError} (kubelet's `CreateContainerConfigError` text) when a volumeMount
 * names no volume or its subPath is unusable. Missing subPath directories are created with the
 * volume root's permissions; a subPath resolving (through symlinks) outside its volume is refused.
 */
export function containerMounts(container: Container, volumes: ReadonlyMap<string, MountedVolume>, opts: ContainerMountsOptions = {}): Mount[] {
  const mounts: Mount[] = [];
  let mountHosts = opts.etcHostsPath !== undefined;
  for (const m of container.volumeMounts ?? []) {
    const vol = volumes.get(m.name);
    if (!vol) {
      throw new ContainerMountError(`cannot find volume "${m.name}" to mount into container "${container.name}"`, {
        volumeName: m.name,
        containerName: container.name,
      });
    }
    if (m.mountPath === ETC_HOSTS_PATH) mountHosts = false;
    let hostPath = vol.hostPath;
    const subPath = resolveSubPath(m, container, opts.env);
    if (subPath) {
      if (isAbsolute(subPath)) {
        throw new ContainerMountError(`error SubPath \`${subPath}\` must not be an absolute path`, { volumeName: m.name, containerName: container.name });
      }
      if (subPath.split('/').includes('..')) {
        throw new ContainerMountError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`, {
          volumeName: m.name,
          containerName: container.name,
        });
      }
      hostPath = prepareSubPath(vol.hostPath, subPath, m, container);
    }
    mounts.push({
      containerPath: m.mountPath,
      hostPath,
      readonly: !!m.readOnly || vol.readOnly,
      propagation: propagation(m, container),
    });
  }
  if (mountHosts && opts.etcHostsPath) mounts.push(etcHostsMount(opts.etcHostsPath));
  return mounts;
}

/**
 * kubelet's SafeMakeDir + PrepareSafeSubpath, minus the bind mount: the subPath is created
 * when missing (with the volume root's mode), and its real path must stay inside the volume.
 * Deviation: kubelet bind-mounts the resolved subPath to pin it against later symlink swaps;
 * Skiff hands the runtime the resolved path, checked at container creation time.
 */
function prepareSubPath(volumePath: string, subPath: string, m: VolumeMount, container: Container): string {
  const ids = { volumeName: m.name, containerName: container.name };
  const full = join(volumePath, subPath);
  let volReal: string;
  try {
    volReal = realpathSync(volumePath);
  } catch (err) {
    throw new ContainerMountError(`failed to prepare subPath for volumeMount "${m.name}" of container "${container.name}"`, { ...ids, cause: err });
  }
  let exists = true;
  try {
    statSync(full);
  } catch {
    exists = false;
  }
  if (!exists) {
    try {
      const mode = statSync(volReal).mode & 0o7777;
      // Refuse to create anything through a symlink that leaves the volume.
      let anc = dirname(full);
      while (!existsSync(anc) && anc.length > volumePath.length) anc = dirname(anc);
      if (!isAtOrBelow(realpathSync(anc), volReal)) throw new Error(`subpath ${full} escapes volume ${volReal}`);
      mkdirSync(full, { recursive: true, mode });
      chmodSync(full, mode);
    } catch (err) {
      throw new ContainerMountError(`failed to create subPath directory for volumeMount "${m.name}" of container "${container.name}"`, {
        ...ids,
        cause: err,
      });
    }
  }
  let real: string;
  try {
    real = realpathSync(full);
  } catch (err) {
    throw new ContainerMountError(`failed to prepare subPath for volumeMount "${m.name}" of container "${container.name}"`, { ...ids, cause: err });
  }
  if (!isAtOrBelow(real, volReal)) {
    throw new ContainerMountError(`failed to prepare subPath for volumeMount "${m.name}" of container "${container.name}"`, {
      ...ids,
      cause: new Error(`subpath ${real} not within volume path ${volReal}`),
    });
  }
  return real;
}
