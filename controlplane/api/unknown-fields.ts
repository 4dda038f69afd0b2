import type { ResourceType } from '../../lib/kube/resources.js';

/**
 * Paths of fields in `obj` that the schema of `type` does not define, in kube-apiserver's
 * notation (`spec.containers[0].imagePullPolicyy`), for `fieldValidation=Strict|Warn`.
 * STUB: replaced by the API-semantics work.
 */
export function findUnknownFields(_type: ResourceType, _obj: unknown): string[] {
  return [];
}
