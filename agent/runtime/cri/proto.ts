/**
 * Loading the CRI proto (`proto/runtime/v1/api.proto`) with `@grpc/proto-loader`.
 *
 * The file is read from the repository at run time. It is found by walking up from this
 * module's directory, so the same code works from the TypeScript sources
 * (`agent/runtime/cri/`) and from the build output (`dist/agent/runtime/cri/`).
 *
 * Memory: the file is parsed once per process, and only the two service clients are kept.
 * `@grpc/proto-loader` also describes every message (a `DescriptorProto` object per message
 * type, and again per request and response type of every method), which grpc-js would keep
 * alive behind the client constructors; the agent needs only each method's path and
 * (de)serializers, so the clients are built from those alone (~0.4 MiB less heap). The full
 * package definition is loaded again only if someone reads {@link CriProto.definition}.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SkiffError } from '../../../lib/errors.js';
import type { ImageService, RuntimeService, StatsRuntime, StreamingRuntime } from '../types.js';

/** Path of the CRI proto inside the repository. */
export const CRI_PROTO_RELATIVE_PATH = join('proto', 'runtime', 'v1', 'api.proto');

/**
 * Options for `@grpc/proto-loader`, fixed because `types.ts` is written against the shapes
 * they produce: camelCase fields, enums as their names, 64-bit integers as `number`,
 * defaults filled in (absent sub-messages come back `null`; the client removes those).
 */
export const CRI_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: false,
  enums: String,
  longs: Number,
  defaults: true,
  oneofs: true,
});

/** The CRI proto file could not be found or parsed. */
export class CriProtoError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_CRI_PROTO', message, options);
  }
}

/**
 * Finds `proto/runtime/v1/api.proto` by walking up from `startDir` (default: this module's
 * directory). Throws {@link CriProtoError} when no ancestor holds it.
 */
export function findCriProto(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, CRI_PROTO_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new CriProtoError(`cannot find ${CRI_PROTO_RELATIVE_PATH} in ${startDir} or any parent directory`);
    }
    dir = parent;
  }
}

/** The loaded CRI package: the two service client constructors and the raw definition. */
export interface CriProto {
  /** Path of the proto file that was loaded. */
  readonly path: string;
  /**
   * The full package definition, message descriptors included. Loaded (again) on first
   * access: the agent never reads it, tests and tools do.
   */
  readonly definition: protoLoader.PackageDefinition;
  /** Service clients whose `service` holds, per method, only what a call needs (see the module comment). */
  readonly RuntimeService: grpc.ServiceClientConstructor;
  readonly ImageService: grpc.ServiceClientConstructor;
}

const RUNTIME_SERVICE = 'runtime.v1.RuntimeService';
const IMAGE_SERVICE = 'runtime.v1.ImageService';

function parseCriProto(path: string): protoLoader.PackageDefinition {
  try {
    return protoLoader.loadSync(path, CRI_LOADER_OPTIONS);
  } catch (err) {
    throw new CriProtoError(`cannot load CRI proto ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A service definition reduced to what grpc-js uses to make and serve calls. */
function leanService(path: string, definition: protoLoader.PackageDefinition, name: string): grpc.ServiceDefinition {
  const full = definition[name] as protoLoader.ServiceDefinition | undefined;
  if (!full || typeof full !== 'object' || !Object.values(full).every((m) => typeof (m as { path?: unknown }).path === 'string')) {
    throw new CriProtoError(`${path} does not define ${RUNTIME_SERVICE} and ${IMAGE_SERVICE}`);
  }
  const lean: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const [rpc, m] of Object.entries(full)) {
    lean[rpc] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: m.requestSerialize,
      requestDeserialize: m.requestDeserialize,
      responseSerialize: m.responseSerialize,
      responseDeserialize: m.responseDeserialize,
      originalName: m.originalName,
    };
  }
  return lean;
}

const cache = new Map<string, CriProto>();

/** Loads (once per path) and returns the CRI proto. */
export function loadCriProto(path: string = findCriProto()): CriProto {
  const hit = cache.get(path);
  if (hit) return hit;
  const definition = parseCriProto(path);
  const RuntimeService = grpc.makeClientConstructor(leanService(path, definition, RUNTIME_SERVICE), RUNTIME_SERVICE);
  const ImageService = grpc.makeClientConstructor(leanService(path, definition, IMAGE_SERVICE), IMAGE_SERVICE);
  let full: protoLoader.PackageDefinition | undefined;
  const loaded: CriProto = {
    path,
    get definition() {
      full ??= parseCriProto(path);
      return full;
    },
    RuntimeService,
    ImageService,
  };
  cache.set(path, loaded);
  return loaded;
}

/** Which CRI RPC serves each `RuntimeService` method of `types.ts`. */
export const RUNTIME_RPCS = Object.freeze({
  version: 'Version',
  status: 'Status',
  runPodSandbox: 'RunPodSandbox',
  stopPodSandbox: 'StopPodSandbox',
  removePodSandbox: 'RemovePodSandbox',
  podSandboxStatus: 'PodSandboxStatus',
  listPodSandbox: 'ListPodSandbox',
  createContainer: 'CreateContainer',
  startContainer: 'StartContainer',
  stopContainer: 'StopContainer',
  removeContainer: 'RemoveContainer',
  listContainers: 'ListContainers',
  containerStatus: 'ContainerStatus',
  updateRuntimeConfig: 'UpdateRuntimeConfig',
  execSync: 'ExecSync',
  reopenContainerLog: 'ReopenContainerLog',
} as const satisfies Record<keyof RuntimeService, string>);

/** Which CRI RPC serves each `StreamingRuntime` method. */
export const STREAMING_RPCS = Object.freeze({
  exec: 'Exec',
  attach: 'Attach',
  portForward: 'PortForward',
} as const satisfies Record<keyof StreamingRuntime, string>);

/** Which CRI RPC serves each `StatsRuntime` method. */
export const STATS_RPCS = Object.freeze({
  containerStats: 'ContainerStats',
  listContainerStats: 'ListContainerStats',
  podSandboxStats: 'PodSandboxStats',
  listPodSandboxStats: 'ListPodSandboxStats',
} as const satisfies Record<keyof StatsRuntime, string>);

/** Which CRI RPC serves each `ImageService` method. */
export const IMAGE_RPCS = Object.freeze({
  listImages: 'ListImages',
  imageStatus: 'ImageStatus',
  pullImage: 'PullImage',
  removeImage: 'RemoveImage',
  imageFsInfo: 'ImageFsInfo',
} as const satisfies Record<keyof ImageService, string>);

/** Name of an RPC of `runtime.v1.RuntimeService` that Skiff calls. */
export type RuntimeRpc =
  | (typeof RUNTIME_RPCS)[keyof typeof RUNTIME_RPCS]
  | (typeof STREAMING_RPCS)[keyof typeof STREAMING_RPCS]
  | (typeof STATS_RPCS)[keyof typeof STATS_RPCS];

/** Name of an RPC of `runtime.v1.ImageService` that Skiff calls. */
export type ImageRpc = (typeof IMAGE_RPCS)[keyof typeof IMAGE_RPCS];
