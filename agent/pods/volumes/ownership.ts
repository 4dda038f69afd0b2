/**
 * fsGroup ownership, as kubelet's `SetVolumeOwnership` (`pkg/volume/volume_linux.go`): every
 * file and directory in the volume gets group `fsGroup`; files gain g+rw (g+r for read-only
 * volumes) and directories also the setgid bit and g+x, so new files inherit the group.
 * Symlinks are re-owned but never chmod-ed.
 */
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

async function changeOne(path: string, fsGroup: number, readOnly: boolean): Promise<boolean> {
  const st = await lstat(path);
  await lchown(path, -1, fsGroup);
  if (st.isSymbolicLink()) return false;
  let mask = readOnly ? RO_MASK : RW_MASK;
  if (st.isDirectory()) mask |= SETGID | EXEC_MASK;
  await chmod(path, (st.mode & 0o7777) | mask);
  return st.isDirectory();
}

/**
 * Applies fsGroup ownership to `dir` and everything below it. With policy `OnRootMismatch`,
 * nothing is done when the root already has the group, the setgid bit and the permissions.
 */
export async function setVolumeOwnership(dir: string, fsGroup: number, readOnly: boolean, policy?: string): Promise<void> {
  if (policy === 'OnRootMismatch') {
    const st = await lstat(dir);
    const mask = (readOnly ? RO_MASK : RW_MASK) | SETGID | EXEC_MASK;
    if (st.gid === fsGroup && (st.mode & mask) === mask) return;
  }
  const walk = async (p: string): Promise<void> => {
    if (!(await changeOne(p, fsGroup, readOnly))) return;
    for (const name of await readdir(p)) await walk(join(p, name));
  };
  await walk(dir);
}
