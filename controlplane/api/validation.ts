import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';

/** `StatusCause.reason` values kube-apiserver uses for field errors. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany';

/** One validation failure; becomes a `StatusCause` of a 422 `Invalid` Status. */
export interface FieldError {
  type: FieldErrorType;
  /** Field path as kube-apiserver prints it: `spec.containers[0].image`, `metadata.name`. */
  field: string;
  /** Full message as kube-apiserver prints it, e.g. `Invalid value: "-1": must be greater than or equal to 0`. */
  message: string;
}

/**
 * Validates `obj` (already defaulted) as kube-apiserver would on create (`old` undefined)
 * or update. Returns every error found, empty when valid.
 * STUB: replaced by the API-semantics work.
 */
export function validateObject(_type: ResourceType, _obj: KubeObject, _old?: KubeObject): FieldError[] {
  return [];
}
