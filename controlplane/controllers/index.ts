/**
 * The companion control plane's controllers (kube-controller-manager): ReplicaSet,
 * Deployment, EndpointSlice, Endpoints, node IPAM, garbage collector, namespace,
 * ServiceAccount, node lifecycle and pod GC, sharing one set of informers.
 */
export {
  startControllers,
  CONTROLLER_NAMES,
  type ControllerName,
  type ControllersOptions,
  type RunningControllers,
} from './start.js';
/** A running controller (name, start, stop). */
export type { Controller } from './common/context.js';
export { ControllerError, isControllerError } from './common/errors.js';
