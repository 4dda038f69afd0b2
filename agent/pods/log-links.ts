/**
 * The legacy container log symlinks kubelet keeps for log shippers (fluent-bit, promtail):
 * `/var/log/containers/<pod>_<namespace>_<container>-<containerID>.log` pointing at the
 * container's log file under `/var/log/pods/`.
 */
import { lstat, readdir, readlink, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** kubelet caps the name before `.log` at 251 characters. */
const MAX_NAME = 251;

/** The symlink path for a container (`legacyLogSymlink`). */
export function legacyLogSymlink(containerLogsDir: string, podName: string, namespace: string, containerName: string, containerId: string): string {
  const name = `${podName}_${namespace}_${containerName}-${containerId}`.slice(0, MAX_NAME);
  return join(containerLogsDir, `${name}.log`);
}

/** The container id a symlink name ends with, or undefined for foreign files. */
export function containerIdOfSymlink(fileName: string): string | undefined {
  const m = /-([0-9a-f]{64})\.log$/.exec(fileName);
  return m?.[1];
}

/** Creates the symlink when the log file exists (a dangling link helps nobody). Returns true when a link exists afterwards. */
export async function ensureLogSymlink(link: string, target: string): Promise<boolean> {
  try {
    await stat(target);
  } catch {
    return false;
  }
  try {
    const current = await readlink(link);
    if (current === target) return true;
    await unlink(link);
  } catch {
    // absent: create it
  }
  try {
    await symlink(target, link);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return true;
    throw err;
  }
}

/** Removes symlinks in `dir` whose container is not in `keep`, and dangling ones. Returns how many went. */
export async function pruneLogSymlinks(dir: string, keep: ReadonlySet<string>): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const id = containerIdOfSymlink(name);
    if (!id) continue;
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!st.isSymbolicLink()) continue;
    } catch {
      continue;
    }
    let dangling = false;
    try {
      await stat(path);
    } catch {
      dangling = true;
    }
    if (!keep.has(id) || dangling) {
      try {
        await unlink(path);
        removed++;
      } catch {
        // gone already
      }
    }
  }
  return removed;
}
