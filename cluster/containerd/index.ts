/**
 * A private containerd for a Skiff node or test: its config.toml, the process (optionally in
 * a network namespace), and a forceful cleanup of everything it leaves behind.
 */
export {
  containerdPaths,
  DEBIAN_CNI_BIN_DIR,
  DEFAULT_MAX_CONTAINER_LOG_LINE_SIZE,
  DEFAULT_SANDBOX_IMAGE,
  DISABLED_PLUGINS,
  probeCniBinDir,
  renderContainerdConfig,
  UPSTREAM_CNI_BIN_DIR,
  type ContainerdConfigOptions,
  type ContainerdPaths,
} from './config.js';
export {
  ContainerdError,
  criAnswers,
  probeCri,
  type CriProbe,
  netnsPath,
  startContainerd,
  type ContainerdHandle,
  type StartContainerdOptions,
  type StopResult,
} from './process.js';
export { cleanupContainerdState, type CleanupOptions, type CleanupReport } from './cleanup.js';
export { findShims, mountsUnder } from './procs.js';
export { containerdTestSkipReason, startTestContainerd, type TestContainerd, type TestContainerdOptions } from './testenv.js';
