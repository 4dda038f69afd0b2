/** Image handling of the pod syncer: pull policy, serialised pulls, pull backoff, credentials. */
export { ImageManager, IMAGE_BACKOFF_INITIAL_MS, IMAGE_BACKOFF_MAX_MS, type EnsureImageInput, type ImageManagerOptions } from './image-manager.js';
export { ImageError, isImageError, type ImageErrorReason } from './errors.js';
export { applyDefaultImageTag, defaultPullPolicy, parseImage, type ParsedImage } from './reference.js';
export { credentialsFor } from './credentials.js';
export { formatGoDuration } from './go-duration.js';
export { PullQueue } from './pull-queue.js';
