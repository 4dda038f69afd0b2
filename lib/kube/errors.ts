/**
 * API errors. A failed request carries the server's `Status` object; predicates mirror
 * apimachinery's `errors.IsNotFound` and friends.
 */
import type { Status } from 'kubernetes-types/meta/v1.js';
import { SkiffError } from '../errors.js';

/** An error response from an apiserver (or the in-process registry), with its `Status`. */
export class ApiError extends SkiffError {
  readonly status: Status;
  /** HTTP status code (`status.code`). */
  readonly statusCode: number;
  /** The `Status.reason`, e.g. `NotFound`, `Conflict`, `Expired`. */
  readonly reason: string;

  constructor(status: Status, options?: { cause?: unknown }) {
    super(`SKIFF_API_${status.reason ?? 'Unknown'}`, status.message ?? `API error ${status.code ?? ''}`, options);
    this.status = status;
    this.statusCode = status.code ?? 500;
    this.reason = status.reason ?? 'Unknown';
  }
}

/** Builds a `Status` failure object, as kube-apiserver returns it. */
export function statusFailure(
  code: number,
  reason: string,
  message: string,
  details?: Status['details'],
): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

function apiErr(err: unknown): ApiError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (e instanceof ApiError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** 404 NotFound. */
export const isApiNotFound = (err: unknown): boolean => apiErr(err)?.statusCode === 404;
/** 409 Conflict on a stale resourceVersion (not AlreadyExists). */
export const isConflict = (err: unknown): boolean => {
  const e = apiErr(err);
  return e?.statusCode === 409 && e.reason !== 'AlreadyExists';
};
/** 409 AlreadyExists. */
export const isAlreadyExists = (err: unknown): boolean => apiErr(err)?.reason === 'AlreadyExists';
/** 410 Gone / Expired: the requested resourceVersion is too old. */
export const isGone = (err: unknown): boolean => {
  const e = apiErr(err);
  return e?.statusCode === 410 || e?.reason === 'Expired' || e?.reason === 'Gone';
};
/** 422 Invalid. */
export const isInvalid = (err: unknown): boolean => apiErr(err)?.statusCode === 422;
/** 403 Forbidden. */
export const isForbidden = (err: unknown): boolean => apiErr(err)?.statusCode === 403;
/** 429 or 5xx: worth retrying. */
export const isRetryable = (err: unknown): boolean => {
  const e = apiErr(err);
  return !!e && (e.statusCode === 429 || e.statusCode >= 500);
};
