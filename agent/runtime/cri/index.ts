/**
 * The CRI adapter's public face: a `Runtime` over `runtime.v1` gRPC.
 */
export {
  createCriRuntime,
  criTarget,
  CriRuntime,
  CRI_API_VERSION,
  CRI_MAX_MESSAGE_BYTES,
  DEFAULT_PULL_TIMEOUT_MS,
  DEFAULT_RUNTIME_REQUEST_TIMEOUT_MS,
  DEFAULT_STATUS_TIMEOUT_MS,
  type CriRuntimeOptions,
} from './client.js';
export { mapGrpcError, rpcOf, grpcCodeName, type MapErrorContext } from './errors.js';
export {
  CriProtoError,
  CRI_LOADER_OPTIONS,
  findCriProto,
  IMAGE_RPCS,
  loadCriProto,
  RUNTIME_RPCS,
  STATS_RPCS,
  STREAMING_RPCS,
  type CriProto,
  type ImageRpc,
  type RuntimeRpc,
} from './proto.js';
