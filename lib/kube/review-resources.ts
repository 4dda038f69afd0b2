/**
 * The create-only review APIs the kubelet server delegates to: `TokenReview`
 * (authentication.k8s.io/v1) for bearer tokens and `SubjectAccessReview`
 * (authorization.k8s.io/v1) for authorization, and SelfSubjectAccessReview (`kubectl auth
 * can-i`). POSTing one to its collection returns it with `status` filled in.
 */
import type { ResourceType } from './resources.js';

/** `authentication.k8s.io/v1` TokenReview. */
export const TokenReviews: ResourceType = Object.freeze({
  group: 'authentication.k8s.io',
  version: 'v1',
  resource: 'tokenreviews',
  singular: 'tokenreview',
  kind: 'TokenReview',
  namespaced: false,
  verbs: ['create'],
});

/** `authorization.k8s.io/v1` SubjectAccessReview. */
export const SubjectAccessReviews: ResourceType = Object.freeze({
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'subjectaccessreviews',
  singular: 'subjectaccessreview',
  kind: 'SubjectAccessReview',
  namespaced: false,
  verbs: ['create'],
});

/** `authorization.k8s.io/v1` SelfSubjectAccessReview (`kubectl auth can-i`). */
export const SelfSubjectAccessReviews: ResourceType = Object.freeze({
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'selfsubjectaccessreviews',
  singular: 'selfsubjectaccessreview',
  kind: 'SelfSubjectAccessReview',
  namespaced: false,
  verbs: ['create'],
});

/** The review APIs, as the companion apiserver's discovery lists them. */
export const REVIEW_RESOURCES: readonly ResourceType[] = Object.freeze([TokenReviews, SelfSubjectAccessReviews, SubjectAccessReviews]);
