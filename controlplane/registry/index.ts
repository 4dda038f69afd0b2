/**
 * The companion apiserver's REST registry: generic kube-apiserver semantics over a store,
 * per-kind strategies, the bootstrap objects, and the in-process client.
 */
export {
  Registry,
  ScaleType,
  IMMORTAL_NAMESPACES,
  type RegistryOptions,
  type RegistryWriteOptions,
  type RequestContext,
  type UserInfo,
} from './registry.js';
export { InProcessClient, LOOPBACK_USER } from './client.js';
export { bootstrap, SYSTEM_NAMESPACES, type BootstrapOptions } from './bootstrap.js';
export { IPAllocator, PortAllocator, parseCidr, parseIPv4, formatIPv4, type AllocateResult } from './allocator.js';
export { strategyFor, podQosClass, type Strategy } from './strategy.js';
export * as apiErrors from './errors.js';
export { qualifiedKind, qualifiedResource } from './errors.js';
export { createApi, type Api, type ApiOptions } from './create-api.js';
export { reviewToken, reviewSubjectAccess, reviewSelfSubjectAccess, KUBELET_CLIENT_USER, MASTERS_GROUP, NO_TOKENS_ERROR, type SubjectAccessPolicy } from './reviews.js';
