import type { KubeObject, PatchType } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';

/**
 * Applies a patch of `patchType` to a copy of `original` and returns the result.
 * Throws `ApiError` 400 (BadRequest) for a malformed patch, 422 for an invalid one, and
 * 415 for an unsupported type. Never mutates `original`.
 * STUB: replaced by the API-semantics work.
 */
export function applyPatch(_type: ResourceType, _original: KubeObject, patchType: PatchType, _patch: unknown): KubeObject {
  throw new ApiError(statusFailure(415, 'UnsupportedMediaType', `patch type ${patchType} not implemented yet`));
}
