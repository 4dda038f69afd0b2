/**
 * Pod cgroups and resource arithmetic: kubelet's QoS cgroup hierarchy and per-pod cgroups
 * (cgroup v1 and v2, cgroupfs and systemd naming), the QoS class, pod requests/limits,
 * container CRI resources and `oom_score_adj`.
 *
 * Code outside `agent/pods/cgroups/` imports from here only.
 */
export { createPodCgroupManager, type PodCgroupManager, type PodCgroupManagerOptions } from './manager.js';
export { CgroupError, isCgroupError } from './errors.js';
export {
  qosClass,
  computeQosClass,
  oomScoreAdj,
  containerResources,
  podRequests,
  podLimits,
  podResourceConfig,
  milliCpuToShares,
  milliCpuToQuota,
  sharesToWeight,
  quantityAmount,
  isRestartableInitContainer,
  isStaticPod,
  isCriticalPod,
  isNodeCriticalPod,
  MIN_SHARES,
  MAX_SHARES,
  QUOTA_PERIOD_US,
  MIN_QUOTA_PERIOD_US,
  GUARANTEED_OOM_SCORE_ADJ,
  BESTEFFORT_OOM_SCORE_ADJ,
  CONFIG_SOURCE_ANNOTATION,
  CONFIG_MIRROR_ANNOTATION,
  type QOSClass,
  type ResourceAmounts,
  type PodResourcesOptions,
  type PodResourceConfig,
  type PodResourceConfigOptions,
  type ContainerResourcesOptions,
} from './resources.js';
export {
  expandSlice,
  toCgroupfs,
  toSystemd,
  renderName,
  parseCgroupRoot,
  podCgroupName,
  qosCgroupName,
  podUidFromDirName,
  type CgroupName,
  type CgroupDriver,
} from './names.js';
