/**
 * meta/v1 types shared by every kind: ObjectMeta, OwnerReference, ManagedFieldsEntry,
 * LabelSelector, Condition; and core/v1 ObjectReference / LocalObjectReference.
 * Facts from k8s.io/apimachinery/pkg/apis/meta/v1/types.go struct tags.
 */
import { B, FREE, I, S, T, atomicList, defineType, enumOf, mapOf, mergeList, ref, setList } from './types.js';

defineType('ObjectMeta', {
  name: S,
  generateName: S,
  namespace: S,
  selfLink: S,
  uid: S,
  resourceVersion: S,
  generation: I,
  creationTimestamp: T,
  deletionTimestamp: T,
  deletionGracePeriodSeconds: I,
  labels: mapOf(),
  annotations: mapOf(),
  ownerReferences: mergeList(ref('OwnerReference'), 'uid'),
  // `patchStrategy:"merge"`, `+listType=set`.
  finalizers: setList(),
  managedFields: atomicList(ref('ManagedFieldsEntry')),
});

defineType('OwnerReference', {
  apiVersion: S,
  kind: S,
  name: S,
  uid: S,
  controller: B,
  blockOwnerDeletion: B,
});

defineType('ManagedFieldsEntry', {
  manager: S,
  operation: S,
  apiVersion: S,
  time: T,
  fieldsType: S,
  fieldsV1: FREE,
  subresource: S,
});

defineType('LabelSelector', {
  matchLabels: mapOf(),
  matchExpressions: atomicList(ref('LabelSelectorRequirement')),
});

defineType('LabelSelectorRequirement', {
  key: S,
  operator: enumOf('In', 'NotIn', 'Exists', 'DoesNotExist'),
  values: atomicList(S),
});

/** metav1.Condition (Service status, …). */
defineType('Condition', {
  type: S,
  status: enumOf('True', 'False', 'Unknown'),
  observedGeneration: I,
  lastTransitionTime: T,
  reason: S,
  message: S,
});

defineType('ObjectReference', {
  kind: S,
  namespace: S,
  name: S,
  uid: S,
  apiVersion: S,
  resourceVersion: S,
  fieldPath: S,
});

defineType('LocalObjectReference', { name: S });

/** `TypedLocalObjectReference` (ephemeral volume data sources). */
defineType('TypedLocalObjectReference', { apiGroup: S, kind: S, name: S });

