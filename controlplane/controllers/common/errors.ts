/** Errors raised by the controllers. */
import { SkiffError } from '../../../lib/errors.js';
import { ApiError } from '../../../lib/kube/errors.js';

/** A controller could not reach its desired state; `code` says why (`SKIFF_CLAIM_FAILED`, …). */
export class ControllerError extends SkiffError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** True for a {@link ControllerError}. */
export function isControllerError(err: unknown): err is ControllerError {
  return err instanceof ControllerError;
}

/** True for a create refused because the namespace is being deleted (`NamespaceTerminating` cause). */
export function isNamespaceTerminating(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (e instanceof ApiError) return !!e.status.details?.causes?.some((c) => c.reason === 'NamespaceTerminating');
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
