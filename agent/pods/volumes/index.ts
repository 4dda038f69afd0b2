/**
 * Pod volumes: the volume manager (emptyDir, hostPath, configMap, secret, downwardAPI,
 * projected), the CRI mounts of a container, and the managed /etc/hosts.
 *
 * Code outside `agent/pods/volumes/` imports from here only.
 */
export { createVolumeManager, type VolumeManager, type VolumeManagerOptions } from './manager.js';
export type { MountedVolume } from './types.js';
export { VolumeError, VolumeTearDownError, ContainerMountError, isVolumeError, type VolumeFailureReason } from './errors.js';
export { containerMounts, type ContainerMountsOptions } from './container-mounts.js';
export {
  writeEtcHosts,
  etcHostsMount,
  managedHostsFileContent,
  podHostnameAndDomain,
  ETC_HOSTS_PATH,
  MANAGED_HOSTS_HEADER,
  MANAGED_HOSTS_HEADER_HOST_NETWORK,
  type EtcHostsOptions,
} from './etc-hosts.js';
export { hostMounter, parseMountInfo, MountError, type Mounter, type MountInfo } from './mounter.js';
export { writeAtomic, validatePayloadPath, type FileProjection, type Payload, type AtomicWriteOptions } from './atomic-writer.js';
export { configMapPayload, secretPayload, downwardApiPayload, extractFieldPath, extractResourceField, formatMap } from './payload.js';
export { expandVars, expandCommandStatic, staticEnvMap } from './expansion.js';
export { goQuote, goStringSlice } from './gofmt.js';
