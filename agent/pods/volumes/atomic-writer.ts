/**
 * kubelet's AtomicWriter (`pkg/volume/util/atomic_writer.go`): projects a set of files into a
 * volume directory so that running containers see each update all at once.
 *
 * ```
 * <dir>/key               -> ..data/key            (user-visible symlinks, created once)
 * <dir>/sub               -> ..data/sub
 * <dir>/..data            -> ..2026_01_01_00_00_00.ab12cd   (swapped by rename(2))
 * <dir>/..2026_01_01_00_00_00.ab12cd/key, sub/file         (the real files)
 * ```
 *
 * A write builds a new timestamped directory, points `..data_tmp` at it and renames that over
 * `..data` (atomic), then prunes user-visible paths that left the payload and the old
 * directory. A payload equal to what is on disk writes nothing. Names starting with `..` are
 * reserved.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';

/** One file of a payload. */
export interface FileProjection {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** Relative path → content. */
export type Payload = Map<string, FileProjection>;

const DATA_DIR = '..data';
const NEW_DATA_DIR = '..data_tmp';
const MAX_FILE_NAME = 255;
const MAX_PATH = 4096;

/** kubelet's `validatePath`: relative, no `..` element, not starting with `..`, bounded lengths. */
export function validatePayloadPath(p: string): string | undefined {
  if (p === '') return `invalid path: must not be empty: ""`;
  if (p.startsWith('/')) return `invalid path: must be relative path: ${p}`;
  if (p.length > MAX_PATH) return `invalid path: must be less than or equal to ${MAX_PATH} characters`;
  const items = p.split('/');
  for (const item of items) {
    if (item === '..') return `invalid path: must not contain '..': ${p}`;
    if (item.length > MAX_FILE_NAME) return `invalid path: filenames must be less than or equal to ${MAX_FILE_NAME} characters`;
  }
  if (items[0].startsWith('..') && items[0].length > 2) return `invalid path: must not start with '..': ${p}`;
  return undefined;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's `..2006_01_02_15_04_05.` prefix for `now` (UTC). */
function tsPrefix(now: number): string {
  const d = new Date(now);
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.`;
}

async function walkFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT') return out;
    throw err;
  }
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await walkFiles(root, p)));
  }
  return out;
}

/** Options of {@link writeAtomic}. */
export interface AtomicWriteOptions {
  /** Wall-clock time for the timestamped directory's name. */
  now: () => number;
  /** Called after the new data is written and before it becomes visible (ownership changes). */
  setPerms?: (tsDir: string) => Promise<void>;
}

/**
 * Projects `payload` into `targetDir` (which must exist). Returns true when something was
 * written, false when the volume already held exactly this payload. Throws a plain Error
 * with kubelet's text on an invalid payload path.
 */
export async function writeAtomic(targetDir: string, payload: Payload, opts: AtomicWriteOptions): Promise<boolean> {
  const clean = new Map<string, FileProjection>();
  for (const [k, v] of payload) {
    const invalid = validatePayloadPath(k);
    if (invalid) throw new Error(invalid);
    clean.set(normalize(k).replace(/\/+$/, ''), v);
  }

  const dataDirPath = join(targetDir, DATA_DIR);
  let oldTsDir = '';
  try {
    oldTsDir = await readlink(dataDirPath);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
  const oldTsPath = oldTsDir ? join(targetDir, oldTsDir) : '';

  let toRemove = new Set<string>();
  if (oldTsDir) {
    toRemove = await pathsToRemove(clean, oldTsPath);
    if (!(await shouldWrite(clean, oldTsPath)) && toRemove.size === 0) return false;
  }
  await removeStale(targetDir, oldTsDir);

  // (5) A new timestamped directory, 0755 whatever the umask.
  const tsDir = join(targetDir, `${tsPrefix(opts.now())}${randomBytes(5).toString('hex')}`);
  await mkdir(tsDir, { mode: 0o755 });
  await chmod(tsDir, 0o755);
  const tsName = tsDir.slice(targetDir.length + 1);
  try {
    // (6) The payload.
    for (const [rel, fp] of clean) {
      const full = join(tsDir, rel);
      await mkdir(dirname(full), { recursive: true, mode: 0o755 });
      await writeFile(full, fp.data, { mode: fp.mode });
      await chmod(full, fp.mode);
    }
    if (opts.setPerms) await opts.setPerms(tsDir);
    // (7) User-visible symlinks for new top-level names.
    for (const rel of clean.keys()) {
      const first = rel.split('/')[0];
      const visible = join(targetDir, first);
      try {
        await lstat(visible);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
        await symlink(join(DATA_DIR, first), visible);
      }
    }
    // (8)+(9) The atomic swap.
    const tmpLink = join(targetDir, NEW_DATA_DIR);
    await symlink(tsName, tmpLink);
    try {
      await rename(tmpLink, dataDirPath);
    } catch (err) {
      await unlink(tmpLink).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    await rm(tsDir, { recursive: true, force: true });
    throw err;
  }
  // (10) Prune top-level visible paths that left the payload; (11) the old data.
  for (const p of toRemove) {
    if (p.includes('/')) continue;
    await rm(join(targetDir, p), { force: true });
  }
  if (oldTsDir) await rm(oldTsPath, { recursive: true, force: true });
  return true;
}

/** True when any payload file differs from (or is missing in) the current data directory. */
async function shouldWrite(payload: Map<string, FileProjection>, oldTsPath: string): Promise<boolean> {
  for (const [rel, fp] of payload) {
    let onDisk: Buffer;
    try {
      onDisk = await readFile(join(oldTsPath, rel));
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR' || errno(err) === 'EISDIR') return true;
      throw err;
    }
    if (!onDisk.equals(fp.data)) return true;
  }
  return false;
}

/** Paths in the current data directory that the new payload no longer has (with their parents kept). */
async function pathsToRemove(payload: Map<string, FileProjection>, oldTsPath: string): Promise<Set<string>> {
  const current = await walkFiles(oldTsPath);
  const wanted = new Set<string>();
  for (const rel of payload.keys()) {
    let p = rel;
    while (p) {
      wanted.add(p);
      const i = p.lastIndexOf('/');
      p = i < 0 ? '' : p.slice(0, i);
    }
  }
  return new Set(current.filter((p) => !wanted.has(p)));
}

/**
 * Removes leftovers of an interrupted write: a `..data_tmp` link and timestamped directories
 * that `..data` does not point at. (kubelet would fail on a stale `..data_tmp` forever.)
 */
async function removeStale(targetDir: string, currentTs: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(targetDir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith('..') || n === DATA_DIR || n === currentTs) continue;
    await rm(join(targetDir, n), { recursive: true, force: true });
  }
}
