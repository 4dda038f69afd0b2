/**
 * Owner references (`metav1.GetControllerOf`, `metav1.NewControllerRef`).
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../../../lib/kube/client.js';
import { apiVersionOf, type ResourceType } from '../../../lib/kube/resources.js';

/** The owner reference with `controller: true`, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** A controller reference to `owner` (controller and blockOwnerDeletion set), as kube builds it. */
export function newControllerRef(owner: KubeObject, type: ResourceType): OwnerReference {
  return {
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `ref` points at a `type` object (group matches, version ignored as kube does). */
export function refersToKind(ref: OwnerReference, type: ResourceType): boolean {
  if (ref.kind !== type.kind) return false;
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  return group === type.group;
}
