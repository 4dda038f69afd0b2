/**
 * Loading the CRI proto (`proto/runtime/v1/api.proto`) with `@grpc/proto-loader`.
 *
 * The file is read from the repository at run time. It is found by walking up from this
 * module's directory, so the same code works from the TypeScript sources
 * (`agent/runtime/cri/`) and from the build output (`dist/agent/runtime/cri/`).
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
  readonly definition: protoLoader.PackageDefinition;
  readonly RuntimeService: grpc.ServiceClientConstructor;
  readonly ImageService: grpc.ServiceClientConstructor;
}

const cache = new Map<string, CriProto>();

/** Loads (once per path) and returns the CRI proto. */
export function loadCriProto(path: string = findCriProto()): CriProto {
  const hit = cache.get(path);
  if (hit) return hit;
  let definition: protoLoader.PackageDefinition;
  try {
    definition = protoLoader.loadSync(path, CRI_LOADER_OPTIONS);
  } catch (err) {
    throw new CriProtoError(`cannot load CRI proto ${path}: ${(err as Error).message}`, { cause: err });
  }
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    runtime?: { v1?: { RuntimeService?: grpc.ServiceClientConstructor; ImageService?: grpc.ServiceClientConstructor } };
  };
  const v1 = pkg.runtime?.v1;
  if (!v1?.RuntimeService || !v1.ImageService) {
    throw new CriProtoError(`${path} does not define runtime.v1.RuntimeService and runtime.v1.ImageService`);
  }
  const loaded: CriProto = { path, definition, RuntimeService: v1.RuntimeService, ImageService: v1.ImageService };
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
