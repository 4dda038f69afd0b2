/** Agent configuration: KubeletConfiguration file + drop-ins + kubelet-style flags. */
export { loadAgentConfig, parseFlags, ConfigError, type ConfigWarning, type LoadOptions } from './load.js';
export type { AgentConfig, ServerConfig, ProxySettings, Taint } from './types.js';
