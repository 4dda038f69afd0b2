/**
 * `Status` errors with kube-apiserver's reasons and message formats
 * (`k8s.io/apimachinery/pkg/api/errors`), raised by the registry as {@link ApiError}s.
 */
import type { Status, StatusCause } from 'kubernetes-types/meta/v1.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import type { FieldError } from '../../controlplane/api/index.js';

/** `pods` or `deployments.apps`: how kube names a resource in messages. */
export function qualifiedResource(t: Pick<ResourceType, 'group' | 'resource'>): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

/** `Pod` or `Deployment.apps`: how kube names a kind in Invalid messages. */
export function qualifiedKind(t: Pick<ResourceType, 'group' | 'kind'>): string {
  return t.group ? `${t.kind}.${t.group}` : t.kind;
}

function details(t: Pick<ResourceType, 'group' | 'resource'>, name: string): Status['details'] {
  const d: NonNullable<Status['details']> = { name, kind: t.resource };
  if (t.group) d.group = t.group;
  return d;
}

/** 404 `pods "x" not found`. */
export function notFound(t: Pick<ResourceType, 'group' | 'resource'>, name: string): ApiError {
  return new ApiError(statusFailure(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, details(t, name)));
}

/** 409 `pods "x" already exists`. */
export function alreadyExists(t: Pick<ResourceType, 'group' | 'resource'>, name: string): ApiError {
  return new ApiError(statusFailure(409, 'AlreadyExists', `${qualifiedResource(t)} "${name}" already exists`, details(t, name)));
}

/** The message kube uses for a stale resourceVersion. */
export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/** 409 `Operation cannot be fulfilled on pods "x": <why>`. */
export function conflict(t: Pick<ResourceType, 'group' | 'resource'>, name: string, why: string = OBJECT_MODIFIED, cause?: unknown): ApiError {
  return new ApiError(
    statusFailure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${why}`, details(t, name)),
    { cause },
  );
}

/** 422 `<Kind> "<name>" is invalid: <field>: <msg>` with one cause per field error. */
export function invalid(t: Pick<ResourceType, 'group' | 'kind'>, name: string, errs: readonly FieldError[]): ApiError {
  const parts = errs.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.type, message: e.message, field: e.field }));
  const d: NonNullable<Status['details']> = { name, kind: t.kind, causes };
  if (t.group) d.group = t.group;
  return new ApiError(statusFailure(422, 'Invalid', `${qualifiedKind(t)} "${name}" is invalid: ${joined}`, d));
}

/** 400 BadRequest with a free-form message. */
export function badRequest(message: string, cause?: unknown): ApiError {
  return new ApiError(statusFailure(400, 'BadRequest', message), { cause });
}

/** 403 `<resource> "<name>" is forbidden: <why>`. */
export function forbidden(t: Pick<ResourceType, 'group' | 'resource'>, name: string, why: string, causes?: StatusCause[]): ApiError {
  const d = details(t, name)!;
  if (causes) d.causes = causes;
  return new ApiError(statusFailure(403, 'Forbidden', `${qualifiedResource(t)} "${name}" is forbidden: ${why}`, d));
}

/** 410 Expired: the resourceVersion is older than the history window. */
export function expired(message: string, cause?: unknown): ApiError {
  return new ApiError(statusFailure(410, 'Expired', message), { cause });
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): ApiError {
  return new ApiError(statusFailure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
  return new ApiError(
    statusFailure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
    { cause: new Error(`unsupported content type ${contentType}`) },
  );
}

/** 504 Timeout (e.g. a resourceVersion from the future). */
export function timeout(message: string): ApiError {
  return new ApiError(statusFailure(504, 'Timeout', message, { retryAfterSeconds: 1 }));
}

/** 500 `Internal error occurred: <msg>`. */
export function internalError(message: string, cause?: unknown): ApiError {
  return new ApiError(
    statusFailure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
    { cause },
  );
}

/** 401 Unauthorized. */
export function unauthorized(): ApiError {
  return new ApiError(statusFailure(401, 'Unauthorized', 'Unauthorized'));
}

/** A `Status` of success, as a delete returns it. */
export function statusSuccess(t: Pick<ResourceType, 'group' | 'resource'>, name: string, uid?: string, code?: number): Status {
  const d = details(t, name)!;
  if (uid) d.uid = uid;
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: d };
  if (code) s.code = code;
  return s;
}
