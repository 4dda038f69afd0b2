/**
 * Finding what a private containerd leaves on the host: shim processes (from `/proc`) and
 * mounts below its state directory (from `/proc/self/mountinfo`).
 */
import { readdir, readFile } from 'node:fs/promises';

/** PIDs of `containerd-shim*` processes started by the containerd serving `address`. */
export async function findShims(address: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (!/containerd-shim/.test(argv[0] ?? '')) continue;
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === address) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

/** Decodes the octal escapes (`\040` for space…) of a mountinfo path. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Mount points at or below `dir`, deepest first (the order to unmount them in), from this
 * process's mount namespace.
 */
export async function mountsUnder(dir: string, mountinfo?: string): Promise<string[]> {
  const text = mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8'));
  const base = dir.replace(/\/+$/, '');
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    const mountPoint = unescapeMountPath(fields[4]);
    if (mountPoint === base || mountPoint.startsWith(`${base}/`)) found.add(mountPoint);
  }
  return [...found].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}
