/**
 * Importing the built archives into a containerd image store with
 * `ctr --address SOCK -n k8s.io images import FILE`, where the CRI plugin sees them.
 * Importing the same archive twice is harmless: the content is addressed by digest and the
 * image record is simply updated to the same target.
 */
import type { Logger } from '../lib/log.js';
import { buildImages, type BuildImagesOptions, type BuiltImage } from './build.js';
import { run } from './run.js';

/** The containerd namespace the CRI plugin uses. */
export const CRI_NAMESPACE = 'k8s.io';

/** Options of {@link importImages}. */
export interface ImportImagesOptions extends BuildImagesOptions {
  /** containerd's socket path (`--address`); a `unix://` prefix is accepted. */
  address: string;
  /** containerd namespace; default `k8s.io`. */
  namespace?: string;
  /** Archives to import; by default {@link buildImages} is called with the same options. */
  built?: readonly BuiltImage[];
  /** The `ctr` binary; default `ctr` from PATH. */
  ctrPath?: string;
  logger?: Logger;
}

/** One imported image. */
export interface ImportedImage {
  ref: string;
  archive: string;
}

/**
 * Imports Skiff's images (built or cached first, unless `built` is given) into the
 * containerd at `address`. Throws `ImageBuildError` with ctr's message on failure.
 */
export async function importImages(opts: ImportImagesOptions): Promise<ImportedImage[]> {
  const address = opts.address.replace(/^unix:\/\//, '');
  const images = opts.built ?? (await buildImages(opts));
  const out: ImportedImage[] = [];
  for (const img of images) {
    const started = Date.now();
    await run(opts.ctrPath ?? 'ctr', ['--address', address, '-n', opts.namespace ?? CRI_NAMESPACE, 'images', 'import', img.archive], {
      timeoutMs: 120_000,
    });
    opts.logger?.info({ image: img.ref, address, ms: Date.now() - started }, 'imported image');
    out.push({ ref: img.ref, archive: img.archive });
  }
  return out;
}
