import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';

/**
 * Applies kube-apiserver's defaults for `type` to `obj`, in place (as decoding does).
 * STUB: replaced by the API-semantics work.
 */
export function applyDefaults(_type: ResourceType, _obj: KubeObject): void {}
