/**
 * Skiff's offline images (busybox and the pause sandbox image): build reproducible
 * docker-archives with umoci and skopeo, cache them, and import them into containerd.
 */
export {
  ALL_IMAGES,
  assertStatic,
  buildImages,
  BUSYBOX_IMAGE,
  compilePause,
  DEFAULT_SOURCE_DATE_EPOCH,
  defaultImageCacheDir,
  findPauseSource,
  PAUSE_IMAGE,
  type BuildImagesOptions,
  type BuiltImage,
  type ImageName,
} from './build.js';
export { CRI_NAMESPACE, importImages, type ImportedImage, type ImportImagesOptions } from './import.js';
export { ImageBuildError } from './run.js';
export { main, type ImagesCliIo } from './main.js';
