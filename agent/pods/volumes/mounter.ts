/**
 * Mounting tmpfs volumes and finding mounts, through `mount(8)`/`umount(8)` and
 * `/proc/self/mountinfo` (kubelet uses `k8s.io/mount-utils` the same way).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { SkiffError } from '../../../lib/errors.js';

const execFileP = promisify(execFile);

/** A mount or unmount failed (code `SKIFF_MOUNT`). */
export class MountError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_MOUNT', message, options);
  }
}

/** One line of `/proc/self/mountinfo`. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** The mount operations the volume manager needs; tests inject a fake. */
export interface Mounter {
  /** Mounts a tmpfs at `dir` with the given `-o` options (e.g. `size=67108864`). */
  mountTmpfs(dir: string, options: string[]): Promise<void>;
  /** Unmounts `dir`. */
  unmount(dir: string): Promise<void>;
  /** Every mount point at or below `dir` (a canonical path), deepest first. */
  mountPointsUnder(dir: string): Promise<MountInfo[]>;
}

/** Decodes the octal escapes (`\040`) mountinfo uses for spaces, tabs, newlines and backslashes. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses `/proc/<pid>/mountinfo`. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields.length < sep + 3 || fields.length < 5) continue;
    out.push({ mountPoint: unescapeMountPath(fields[4]), fsType: fields[sep + 1], source: unescapeMountPath(fields[sep + 2]) });
  }
  return out;
}

/** True when `p` is `dir` or lies below it. */
export function isAtOrBelow(p: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return p === d || p.startsWith(d + '/');
}

/** The host's mounter: `mount -t tmpfs`, `umount`, and `/proc/self/mountinfo`. */
export function hostMounter(opts: { timeoutMs?: number } = {}): Mounter {
  const timeout = opts.timeoutMs ?? 60_000;
  return {
    async mountTmpfs(dir, options) {
      const args = ['-t', 'tmpfs'];
      if (options.length) args.push('-o', options.join(','));
      args.push('tmpfs', dir);
      try {
        await execFileP('mount', args, { timeout });
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        throw new MountError(`mount failed: ${(err as Error).message.split('\n')[0]}${stderr ? `\nOutput: ${stderr}` : ''}`, { cause: err });
      }
    },
    async unmount(dir) {
      try {
        await execFileP('umount', [dir], { timeout });
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        throw new MountError(`unmount failed: ${stderr || (err as Error).message}`, { cause: err });
      }
    },
    async mountPointsUnder(dir) {
      const text = await readFile('/proc/self/mountinfo', 'utf8');
      return parseMountInfo(text)
        .filter((m) => isAtOrBelow(m.mountPoint, dir))
        .sort((a, b) => b.mountPoint.length - a.mountPoint.length);
    },
  };
}
