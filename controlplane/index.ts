/**
 * The companion control plane: an apiserver (store + registry + HTTPS server) and, later,
 * a scheduler and controllers that use its in-process client.
 *
 * - `createApi()` gives an honest in-memory apiserver without any network: the registry and
 *   a `KubeClient` on it (what the scheduler, controllers and unit tests use).
 * - `startApiServer()` serves a registry over HTTPS for kubectl and agents.
 * - `startControlPlane()` / `runControlPlane()` (`skiff control-plane`) wire PKI, store,
 *   registry, server and components together.
 */
export { createApi, type Api, type ApiOptions } from './registry/create-api.js';
export { MemoryStore, type Store, type MemoryStoreOptions } from './store/index.js';
export {
  Registry,
  InProcessClient,
  LOOPBACK_USER,
  bootstrap,
  type UserInfo,
  type RequestContext,
  type RegistryOptions,
} from './registry/index.js';
export {
  startApiServer,
  writeNodeKubeconfig,
  writeAdminKubeconfig,
  ensureControlPlanePki,
  DEFAULT_VERSION,
  type ApiServer,
  type ApiServerOptions,
  type VersionInfo,
} from './server/index.js';
export {
  runControlPlane,
  startControlPlane,
  parseControlPlaneConfig,
  DEFAULT_COMPONENTS,
  type ControlPlaneConfig,
  type ControlPlaneComponent,
  type ComponentContext,
  type RunningControlPlane,
  type RunOptions,
  type StartOptions,
} from './main.js';
