/**
 * The pod lifecycle core of the agent: the pods bound to this node, one serialized worker
 * per pod syncing it against the container runtime, kubelet-style status, graceful
 * termination and deletion, adoption after a restart, garbage collection, and the providers
 * the kubelet API reads.
 *
 * Code outside `agent/pods/` imports from here only.
 */
export { createPodManager, nodeHostIPs, type PodManager, type PodManagerOptions } from './manager.js';
export {
  createProviders,
  containerIdForLogs,
  isPodProviderError,
  PodNotFoundError,
  PodRequestError,
  type ContainerLogTarget,
  type PodProviderError,
  type PodProviders,
  type ProviderDeps,
} from './providers.js';
export type { HookRunner, PodAdmitter, PodCgroups, PodProbes, PodVolumes } from './deps.js';
export { CONTAINER_REASONS, ALLOWED_MOVES, isAllowedMove, reasonOf, type ContainerReason } from './reasons.js';
export { MANAGED_BY_VALUE } from './labels.js';
