/**
 * Pod status: kubelet's `generateAPIPodStatus` (phase, conditions, container statuses) and
 * the status manager that sends only changes to the apiserver.
 */
export { generatePodStatus, sortPodIPs, type GenerateInput, type ProbeStatus } from './generate.js';
export { getPhase, type PodPhase } from './phase.js';
export {
  KUBELET_CONDITIONS,
  containersReadyCondition,
  podReadyCondition,
  podInitializedCondition,
  podReadyToStartContainersCondition,
  hasAnyRegularContainerStarted,
} from './conditions.js';
export { convertContainerStatuses, type ContainerReasonEntry, type ConvertInput } from './container-statuses.js';
export { StatusManager, MAX_POD_TERMINATION_MESSAGE_BYTES, type StatusManagerOptions } from './manager.js';
export { podStatusPatch } from './patch.js';
export { PodStatusCompat, POD_STATUS_FIELDS_SINCE, parseServerVersion } from './compat.js';
export { podStatusEqual, canonical } from './equality.js';
export { isoSeconds, isoFromNs } from './time.js';
