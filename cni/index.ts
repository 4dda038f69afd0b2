/**
 * CNI configuration for the node's pod network (the conflist the runtime loads).
 */
export {
  buildConflist,
  CNI_VERSION,
  CONFLIST_FILE_NAME,
  DEFAULT_IPAM_DATA_DIR,
  renderConflist,
  writeConflist,
  type BridgePluginConf,
  type CniConflist,
  type CniIpamRange,
  type CniPluginConf,
  type CniRoute,
  type ConflistOptions,
  type HostLocalIpam,
  type PortmapPluginConf,
  type WriteConflistResult,
} from './conflist.js';
