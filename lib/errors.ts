/**
 * Coded errors. Every subsystem throws a {@link SkiffError} (or a subclass) with a stable
 * `code` string, and chains the underlying failure through `cause`, in the manner of
 * undici's `UND_ERR_*` codes and virtual-kubelet's `errdefs` predicates.
 */

/** Base class for every error Skiff raises on purpose. */
export class SkiffError extends Error {
  /** A stable, machine-readable code such as `SKIFF_NOT_FOUND`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The named thing does not exist (a gRPC NOT_FOUND, a Docker 404, an API 404). */
export class NotFoundError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_NOT_FOUND', message, options);
  }
}

/** The input is malformed; the message names the offending field. */
export class InvalidInputError extends SkiffError {
  /** Dotted path of the offending field, when there is one (e.g. `spec.replicas`). */
  readonly field?: string;
  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super('SKIFF_INVALID_INPUT', message, options);
    this.field = options?.field;
  }
}

/** An operation was cancelled through an AbortSignal. */
export class AbortedError extends SkiffError {
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super('SKIFF_ABORTED', message, options);
  }
}

/** A dependency (runtime, apiserver, nft binary) is not reachable right now. */
export class UnavailableError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_UNAVAILABLE', message, options);
  }
}

/** True when `err` (or anything in its `cause` chain) carries the given code. */
export function hasCode(err: unknown, code: string): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (typeof e === 'object' && (e as { code?: unknown }).code === code) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True for a {@link NotFoundError} anywhere in the cause chain. */
export function isNotFound(err: unknown): boolean {
  return hasCode(err, 'SKIFF_NOT_FOUND');
}

/** True for an {@link AbortedError}, or a DOM-style AbortError. */
export function isAborted(err: unknown): boolean {
  return hasCode(err, 'SKIFF_ABORTED') || (err instanceof Error && err.name === 'AbortError');
}

/** A short, single-line description of any thrown value, for logs and Event messages. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
