/** The companion apiserver's HTTPS front end. */
export { startApiServer, DEFAULT_VERSION, type ApiServer, type ApiServerOptions, type VersionInfo } from './server.js';
export { proxyRequest, proxyUpgrade, type UpstreamTarget, type ProxyOptions } from './proxy.js';
export { negotiate, parseAccept, type Representation, type MediaRange } from './negotiate.js';
export { kubeletBaseUrl, PREFERRED_ADDRESS_TYPES } from './kubelet.js';
export {
  ensureControlPlanePki,
  kubeconfigYaml,
  clientKubeconfig,
  writeAdminKubeconfig,
  writeNodeKubeconfig,
  writePrivateFile,
  type ControlPlanePki,
  type ServingNames,
} from './certs.js';
