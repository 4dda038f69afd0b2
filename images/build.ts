/**
 * Building Skiff's two images offline, without a registry:
 * - `docker.io/library/busybox:1.29`: busybox-static plus an applet symlink per command,
 *   `/etc/passwd` and `/etc/group` with root and nobody, `/tmp`, `/var/www`, `/root`;
 *   `Cmd ["sh"]` and a PATH.
 * - `registry.k8s.io/pause:3.6`, the sandbox image containerd expects: our own static
 *   `pause` (`images/pause/pause.c`) at `/pause`, `Entrypoint ["/pause"]`, user 65535 as
 *   upstream's pause image runs.
 *
 * The pipeline is `umoci init/new/unpack` → fill the rootfs → normalise it → `umoci repack`
 * → `umoci config` → `skopeo copy oci:DIR:TAG docker-archive:FILE:<full name>` (the full
 * name matters, see MACHINE.md). The archives are reproducible: every mtime is set to a
 * fixed epoch, modes are set explicitly, `created` is fixed, no history entries are
 * written, and umoci writes tar entries in sorted order, so the same inputs give
 * byte-identical archives. They are cached under a key hashed from every input (sources,
 * the busybox binary, tool versions, the recipe), so a second build only checks the key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lutimes, mkdir, mkdtemp, open, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../lib/log.js';
import { ImageBuildError, run } from './run.js';

/** The busybox image Skiff's tests and examples use. A tag other than `latest`, so IfNotPresent never pulls. */
export const BUSYBOX_IMAGE = 'docker.io/library/busybox:1.29';
/** containerd's default `sandbox_image`. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.6';
/** The images this module builds. */
export type ImageName = 'busybox' | 'pause';
/** Both images, in build order. */
export const ALL_IMAGES: readonly ImageName[] = Object.freeze(['busybox', 'pause'] as const);
/**
 * Default fixed time for every mtime and the config's `created` (2021-01-01T00:00:00Z).
 * Overridden by `$SOURCE_DATE_EPOCH` or the `sourceDateEpoch` option.
 */
export const DEFAULT_SOURCE_DATE_EPOCH = 1609459200;
/** Bump when the recipes change in a way the key would not see. */
const BUILDER_VERSION = 1;
const WORK_TAG = 'build';

/** Options of {@link buildImages}. */
export interface BuildImagesOptions {
  /** Where built archives are cached; default `$SKIFF_IMAGE_CACHE`, `$XDG_CACHE_HOME/skiff/images` or `~/.cache/skiff/images`. */
  cacheDir?: string;
  /** Also copy the archives here as `busybox.tar` and `pause.tar`. */
  outDir?: string;
  /** Which images; default both. */
  images?: readonly ImageName[];
  /** Rebuild even when the cache has the archive. */
  force?: boolean;
  /** Seconds since the epoch for mtimes and `created`; default `$SOURCE_DATE_EPOCH` or {@link DEFAULT_SOURCE_DATE_EPOCH}. */
  sourceDateEpoch?: number;
  /** A statically linked busybox; default `/bin/busybox` (Debian's busybox-static). */
  busyboxPath?: string;
  /** The pause source; default `images/pause/pause.c` of this checkout. */
  pauseSource?: string;
  logger?: Logger;
}

/** One built image archive (a docker-archive carrying the full image name). */
export interface BuiltImage {
  name: ImageName;
  /** Full reference stored in the archive, e.g. `docker.io/library/busybox:1.29`. */
  ref: string;
  /** The archive to import: the copy in `outDir` when one was given, else the cached file. */
  archive: string;
  /** The cached archive. */
  cachePath: string;
  /** sha256 of the archive bytes (hex). */
  sha256: string;
  /** Hash of the build inputs (hex); names the cache entry. */
  key: string;
  /** True when the archive came from the cache. */
  cached: boolean;
}

/** The cache directory used when none is given. */
export function defaultImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SKIFF_IMAGE_CACHE) return env.SKIFF_IMAGE_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'skiff', 'images');
}

/** Finds `images/pause/pause.c` by walking up from this module (works from `dist/` too). */
export function findPauseSource(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = startDir;
  for (;;) {
    for (const rel of [join('pause', 'pause.c'), join('images', 'pause', 'pause.c')]) {
      const candidate = join(dir, rel);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new ImageBuildError(`cannot find images/pause/pause.c above ${startDir}`);
    dir = parent;
  }
}

/**
 * Compiles `pause.c` with `gcc -static -Os -s` into `outFile`. The source is copied into a
 * scratch directory and compiled under the fixed name `pause.c`, so the binary does not
 * depend on where the checkout lives.
 */
export async function compilePause(source: string, outFile: string): Promise<void> {
  const scratch = await mkdtemp(join(dirname(outFile), '.pause-'));
  try {
    await copyFile(source, join(scratch, 'pause.c'));
    await run('gcc', ['-static', '-Os', '-s', '-Wall', '-o', 'pause', 'pause.c'], { cwd: scratch });
    await rename(join(scratch, 'pause'), outFile);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await assertStatic(outFile, 'the compiled pause');
}

/** Throws unless `file` is an ELF executable without a program interpreter (static). */
export async function assertStatic(file: string, what: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new ImageBuildError(`${what} (${file}) is not an ELF executable`);
    if (head[4] !== 2 || head[5] !== 1) throw new ImageBuildError(`${what} (${file}) is not a 64-bit little-endian ELF`);
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) {
        throw new ImageBuildError(`${what} (${file}) is dynamically linked; it must be static (Debian: install busybox-static)`);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Image config written by `umoci config`. */
interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
}

/** How to build one image: cheap key inputs first, the expensive work in `populate`. */
interface Recipe {
  name: ImageName;
  ref: string;
  config: ImageConfig;
  keyInputs: Record<string, unknown>;
  populate(rootfs: string, scratch: string): Promise<void>;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

async function busyboxRecipe(busyboxPath: string): Promise<Recipe> {
  if (!existsSync(busyboxPath)) throw new ImageBuildError(`${busyboxPath} not found (Debian: install busybox-static)`);
  await assertStatic(busyboxPath, 'busybox');
  const [binHash, list] = await Promise.all([sha256File(busyboxPath), run(busyboxPath, ['--list'])]);
  const applets = list.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'busybox' && /^[A-Za-z0-9_.[\]-]+$/.test(s))
    .sort();
  const config: ImageConfig = { cmd: ['sh'], env: [PATH_ENV] };
  return {
    name: 'busybox',
    ref: BUSYBOX_IMAGE,
    config,
    keyInputs: { busybox: binHash, applets, passwd: PASSWD, group: GROUP },
    async populate(rootfs) {
      await mkdirMode(join(rootfs, 'bin'), 0o755);
      await copyFile(busyboxPath, join(rootfs, 'bin', 'busybox'));
      await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
      for (const applet of applets) await symlink('busybox', join(rootfs, 'bin', applet));
      for (const d of ['etc', 'home', 'usr', 'usr/bin', 'usr/sbin', 'var', 'var/www']) await mkdirMode(join(rootfs, d), 0o755);
      await mkdirMode(join(rootfs, 'root'), 0o700);
      await mkdirMode(join(rootfs, 'tmp'), 0o1777);
      await writeFileMode(join(rootfs, 'etc', 'passwd'), PASSWD, 0o644);
      await writeFileMode(join(rootfs, 'etc', 'group'), GROUP, 0o644);
    },
  };
}

async function pauseRecipe(pauseSource: string): Promise<Recipe> {
  const [src, gcc] = await Promise.all([readFile(pauseSource), run('gcc', ['--version'])]);
  return {
    name: 'pause',
    ref: PAUSE_IMAGE,
    config: { entrypoint: ['/pause'], user: '65535:65535' },
    keyInputs: { pauseC: createHash('sha256').update(src).digest('hex'), gcc: gcc.stdout.split('\n')[0], flags: '-static -Os -s' },
    async populate(rootfs, scratch) {
      const bin = join(scratch, 'pause.bin');
      await compilePause(pauseSource, bin);
      await copyFile(bin, join(rootfs, 'pause'));
      await chmod(join(rootfs, 'pause'), 0o755);
    },
  };
}

async function mkdirMode(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true });
  await chmod(path, mode);
}

async function writeFileMode(path: string, content: string, mode: number): Promise<void> {
  await writeFile(path, content);
  await chmod(path, mode);
}

/** Sets the mtime/atime of `root` and everything below it (symlinks themselves) to `epoch`. */
async function normaliseTimes(root: string, epoch: number): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true });
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.isDirectory()) await normaliseTimes(p, epoch);
    else await lutimes(p, epoch, epoch);
  }
  await lutimes(root, epoch, epoch);
}

async function toolVersions(): Promise<Record<string, string>> {
  const [umoci, skopeo] = await Promise.all([run('umoci', ['--version']), run('skopeo', ['--version'])]);
  return { umoci: umoci.stdout.trim(), skopeo: skopeo.stdout.trim() };
}

function keyOf(recipe: Recipe, epoch: number, tools: Record<string, string>): string {
  const material = JSON.stringify({ v: BUILDER_VERSION, ref: recipe.ref, config: recipe.config, inputs: recipe.keyInputs, epoch, tools });
  return createHash('sha256').update(material).digest('hex');
}

function archiveName(recipe: Recipe, key: string): string {
  const tag = recipe.ref.slice(recipe.ref.lastIndexOf(':') + 1);
  return `${recipe.name}-${tag}-${key.slice(0, 16)}.tar`;
}

/** Runs the umoci/skopeo pipeline for one recipe and returns the path of the new archive. */
async function buildOne(recipe: Recipe, cacheDir: string, epoch: number, key: string): Promise<string> {
  const work = await mkdtemp(join(cacheDir, `.work-${recipe.name}-`));
  try {
    const layout = join(work, 'oci');
    const bundle = join(work, 'bundle');
    const image = `${layout}:${WORK_TAG}`;
    const rootless = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['--rootless'] : [];
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', image]);
    await run('umoci', ['unpack', ...rootless, '--image', image, bundle]);
    const rootfs = join(bundle, 'rootfs');
    await chmod(rootfs, 0o755);
    await recipe.populate(rootfs, work);
    await normaliseTimes(rootfs, epoch);
    await run('umoci', ['repack', '--no-history', '--image', image, bundle]);
    const created = new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const cfg = ['config', '--no-history', '--image', image, '--created', created, '--os', 'linux'];
    for (const e of recipe.config.entrypoint ?? []) cfg.push('--config.entrypoint', e);
    for (const c of recipe.config.cmd ?? []) cfg.push('--config.cmd', c);
    for (const e of recipe.config.env ?? []) cfg.push('--config.env', e);
    if (recipe.config.user) cfg.push('--config.user', recipe.config.user);
    await run('umoci', cfg);
    const out = join(work, 'image.tar');
    // --insecure-policy: a local OCI layout into a local archive; there is no signature to
    // check, and this way the build does not depend on /etc/containers/policy.json.
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${image}`, `docker-archive:${out}:${recipe.ref}`], {
      env: { ...process.env, TMPDIR: work },
    });
    const final = join(cacheDir, archiveName(recipe, key));
    await rename(out, final);
    return final;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Removes older cache entries of the same image (other keys). */
async function pruneCache(cacheDir: string, recipe: Recipe, keep: string): Promise<void> {
  const keepName = archiveName(recipe, keep);
  for (const f of await readdir(cacheDir)) {
    if (f.startsWith(`${recipe.name}-`) && f.endsWith('.tar') && f !== keepName) await rm(join(cacheDir, f), { force: true });
  }
}

/** Copies `src` to `dst` atomically (temp file + rename). */
async function copyAtomic(src: string, dst: string): Promise<void> {
  const tmp = `${dst}.${randomBytes(4).toString('hex')}.tmp`;
  await copyFile(src, tmp);
  await rename(tmp, dst);
}

/**
 * Builds (or takes from the cache) the busybox and pause image archives.
 * Needs `umoci`, `skopeo`, `gcc` (pause) and a static busybox; throws
 * {@link ImageBuildError} naming what is missing or which step failed.
 */
export async function buildImages(opts: BuildImagesOptions = {}): Promise<BuiltImage[]> {
  const cacheDir = opts.cacheDir ?? defaultImageCacheDir();
  const epoch = opts.sourceDateEpoch ?? (process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : DEFAULT_SOURCE_DATE_EPOCH);
  if (!Number.isInteger(epoch) || epoch < 0) throw new ImageBuildError(`invalid SOURCE_DATE_EPOCH ${String(epoch)}`);
  const names = opts.images ?? ALL_IMAGES;
  await mkdir(cacheDir, { recursive: true });
  if (opts.outDir) await mkdir(opts.outDir, { recursive: true });
  const tools = await toolVersions();
  const results: BuiltImage[] = [];
  for (const name of names) {
    const recipe =
      name === 'busybox' ? await busyboxRecipe(opts.busyboxPath ?? '/bin/busybox') : await pauseRecipe(opts.pauseSource ?? findPauseSource());
    const key = keyOf(recipe, epoch, tools);
    const cachePath = join(cacheDir, archiveName(recipe, key));
    const cached = !opts.force && existsSync(cachePath);
    const started = Date.now();
    if (!cached) {
      const built = await buildOne(recipe, cacheDir, epoch, key);
      if (built !== cachePath) throw new ImageBuildError(`BUG: built ${built}, expected ${cachePath}`);
      await pruneCache(cacheDir, recipe, key);
    }
    const sha256 = await sha256File(cachePath);
    let archive = cachePath;
    if (opts.outDir) {
      archive = join(opts.outDir, `${recipe.name}.tar`);
      await copyAtomic(cachePath, archive);
    }
    opts.logger?.info({ image: recipe.ref, archive, sha256, cached, ms: Date.now() - started }, cached ? 'image archive from cache' : 'built image archive');
    results.push({ name, ref: recipe.ref, archive, cachePath, sha256, key, cached });
  }
  return results;
}
