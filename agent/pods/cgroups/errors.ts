/** Errors of the pod cgroup manager. */
import { SkiffError } from '../../../lib/errors.js';

/** A cgroup could not be created, configured or removed (code `SKIFF_CGROUP`). */
export class CgroupError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_CGROUP', message, options);
  }
}

/** True for a {@link CgroupError}. */
export function isCgroupError(err: unknown): err is CgroupError {
  return err instanceof CgroupError;
}
