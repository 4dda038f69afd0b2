/** Image errors: the waiting reason a failed image step shows, with kubelet's message. */
import { SkiffError } from '../../../lib/errors.js';

/** Waiting reasons of the image step (kubelet's `images` package errors). */
export type ImageErrorReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName' | 'ImageInspectError';

/** The image step failed; `reason` is the container's waiting reason, `message` its message. */
export class ImageError extends SkiffError {
  readonly reason: ImageErrorReason;
  constructor(reason: ImageErrorReason, message: string, options?: { cause?: unknown }) {
    super('SKIFF_POD_IMAGE', message, options);
    this.reason = reason;
  }
}

/** True for an {@link ImageError}. */
export function isImageError(err: unknown): err is ImageError {
  return err instanceof ImageError;
}
