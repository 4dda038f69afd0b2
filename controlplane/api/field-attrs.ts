import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';

/**
 * The fields of `obj` that a fieldSelector may name, with their string values, as
 * kube-apiserver's `GetAttrs` exposes them per kind (`metadata.name`, `spec.nodeName`, …).
 * STUB: replaced by the API-semantics work.
 */
export function selectableFields(_type: ResourceType, obj: KubeObject): Record<string, string> {
  return { 'metadata.name': obj.metadata?.name ?? '', 'metadata.namespace': obj.metadata?.namespace ?? '' };
}
