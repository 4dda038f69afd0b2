/**
 * The runtime subsystem's public face: the CRI-shaped `Runtime` interface and its types,
 * the runtime errors and predicates, the CRI (containerd) adapter, and the honest in-memory
 * `FakeRuntime` for tests (DESIGN.md: honest fakes are products).
 *
 * Code outside `agent/runtime/` imports from here only.
 */
export * from './types.js';
export * from './errors.js';
export {
  createCriRuntime,
  criTarget,
  CriRuntime,
  DEFAULT_PULL_TIMEOUT_MS,
  DEFAULT_RUNTIME_REQUEST_TIMEOUT_MS,
  DEFAULT_STATUS_TIMEOUT_MS,
  rpcOf,
  type CriRuntimeOptions,
} from './cri/index.js';
export * from './fake/index.js';
