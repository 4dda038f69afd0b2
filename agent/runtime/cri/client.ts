/**
 * The CRI adapter: a {@link Runtime} that speaks `runtime.v1` over gRPC (grpc-js) to a
 * container runtime's unix socket (containerd, CRI-O).
 *
 * Model: kubelet's remote runtime and image clients (`pkg/kubelet/cri/remote`):
 * - 16 MiB send and receive limits (the grpc default of 4 MiB is too small for the lists of
 *   a busy node);
 * - a per-call deadline (`runtimeRequestTimeout`, 2 min by default), extended by the
 *   container's grace period for `StopContainer` and by the command timeout for `ExecSync`;
 *   `ExecSync` without a command timeout has no deadline, as in kubelet.
 *
 * Deviations from kubelet, each on purpose:
 * - `Version`, `Status`, `ImageFsInfo` and the stats calls use a shorter deadline
 *   (`statusTimeoutMs`, 10 s): they are health and metrics probes, and a hung runtime
 *   should turn the node NotReady quickly rather than after two minutes.
 * - `PullImage` has a deadline (`pullTimeoutMs`, 5 min); kubelet has none. A pull that can
 *   reach no registry must fail with a message, not hang a pod worker.
 * - The reconnect backoff is capped at 2 s (grpc default: 120 s). The runtime is a local
 *   socket; after a runtime restart the client should be usable within seconds.
 *
 * Calls do not wait for the connection (`waitForReady` false): while the runtime is down
 * they fail at once with {@link UnavailableError}, and grpc-js reconnects in the background.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log.js';
import { UnavailableError } from '../errors.js';
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatus,
  ExecSyncResponse,
  FilesystemUsage,
  Image,
  ImageSpec,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStats,
  PodSandboxStatsFilter,
  PodSandboxStatus,
  Runtime,
  RuntimeStatus,
  StatsRuntime,
  StreamingRuntime,
  VersionResponse,
} from '../types.js';
import { mapGrpcError } from './errors.js';
import { loadCriProto, type ImageRpc, type RuntimeRpc } from './proto.js';

/** kubelet's `maxMsgSize`: 16 MiB for both directions. */
export const CRI_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** kubelet's default `runtimeRequestTimeout`. */
export const DEFAULT_RUNTIME_REQUEST_TIMEOUT_MS = 2 * 60 * 1000;
/** Deadline of health and metrics calls (Version, Status, ImageFsInfo, stats). */
export const DEFAULT_STATUS_TIMEOUT_MS = 10 * 1000;
/** Deadline of PullImage. */
export const DEFAULT_PULL_TIMEOUT_MS = 5 * 60 * 1000;
/** The CRI version string sent in `VersionRequest`. */
export const CRI_API_VERSION = 'v1';

/** Options of {@link createCriRuntime}. */
export interface CriRuntimeOptions {
  /**
   * The runtime's endpoint: `unix:///run/containerd/containerd.sock`, or a bare absolute
   * socket path (then `unix://` is prefixed).
   */
  endpoint: string;
  /** Per-call deadline in ms (kubelet's `runtimeRequestTimeout`); default 2 min. */
  timeoutMs?: number;
  /** Deadline of Version/Status/ImageFsInfo/stats calls in ms; default min(10 s, timeoutMs). */
  statusTimeoutMs?: number;
  /** Deadline of PullImage in ms; default max(5 min, timeoutMs). */
  pullTimeoutMs?: number;
  /** Logger; failed calls are logged at debug level. */
  logger?: Logger;
  /** Path of `api.proto`; found by walking up from this module by default. */
  protoPath?: string;
}

/** Normalises an endpoint to a grpc-js target (`unix:///abs/path`). */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint;
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  return endpoint;
}

type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

/**
 * Removes `null`s (which proto-loader's `defaults: true` puts in place of absent
 * sub-messages) so that optional fields read as `undefined`, as `types.ts` declares them.
 * Buffers (bytes fields) are left alone.
 */
export function stripNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripNulls(v)) as unknown as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      out[k] = stripNulls(v);
    }
    return out as T;
  }
  return value;
}

/** A {@link Runtime} backed by a CRI gRPC endpoint. Create it with {@link createCriRuntime}. */
export class CriRuntime implements Runtime {
  /** The grpc-js target this client talks to. */
  readonly endpoint: string;
  readonly streaming: StreamingRuntime;
  readonly stats: StatsRuntime;

  private readonly runtimeClient: grpc.Client;
  private readonly imageClient: grpc.Client;
  private readonly timeoutMs: number;
  private readonly statusTimeoutMs: number;
  private readonly pullTimeoutMs: number;
  private readonly logger?: Logger;
  private closed = false;

  constructor(opts: CriRuntimeOptions) {
    const proto = loadCriProto(opts.protoPath);
    this.endpoint = criTarget(opts.endpoint);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_RUNTIME_REQUEST_TIMEOUT_MS;
    this.statusTimeoutMs = opts.statusTimeoutMs ?? Math.min(DEFAULT_STATUS_TIMEOUT_MS, this.timeoutMs);
    this.pullTimeoutMs = opts.pullTimeoutMs ?? Math.max(DEFAULT_PULL_TIMEOUT_MS, this.timeoutMs);
    this.logger = opts.logger;
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': CRI_MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': CRI_MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    };
    this.runtimeClient = new proto.RuntimeService(this.endpoint, grpc.credentials.createInsecure(), channelOptions);
    // One connection for both services, as kubelet does when both endpoints are the same.
    this.imageClient = new proto.ImageService(this.endpoint, grpc.credentials.createInsecure(), {
      channelOverride: this.runtimeClient.getChannel(),
    });

    this.streaming = {
      exec: async (req) => {
        const res = await this.runtime<{ url: string }>('Exec', {
          containerId: req.containerId,
          cmd: req.cmd,
          tty: req.tty,
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
        });
        return res.url;
      },
      attach: async (req) => {
        const res = await this.runtime<{ url: string }>('Attach', {
          containerId: req.containerId,
          tty: req.tty,
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
        });
        return res.url;
      },
      portForward: async (req) => {
        const res = await this.runtime<{ url: string }>('PortForward', { podSandboxId: req.podSandboxId, port: req.port });
        return res.url;
      },
    };

    this.stats = {
      containerStats: async (containerId: string): Promise<ContainerStats> => {
        const res = await this.runtime<{ stats?: ContainerStats }>('ContainerStats', { containerId }, this.statusTimeoutMs);
        return res.stats ?? {};
      },
      listContainerStats: async (filter?: ContainerStatsFilter): Promise<ContainerStats[]> => {
        const res = await this.runtime<{ stats: ContainerStats[] }>('ListContainerStats', { filter }, this.statusTimeoutMs);
        return res.stats ?? [];
      },
      podSandboxStats: async (podSandboxId: string): Promise<PodSandboxStats> => {
        const res = await this.runtime<{ stats?: PodSandboxStats }>('PodSandboxStats', { podSandboxId }, this.statusTimeoutMs);
        return res.stats ?? {};
      },
      listPodSandboxStats: async (filter?: PodSandboxStatsFilter): Promise<PodSandboxStats[]> => {
        const res = await this.runtime<{ stats: PodSandboxStats[] }>('ListPodSandboxStats', { filter }, this.statusTimeoutMs);
        return res.stats ?? [];
      },
    };
  }

  // ---- RuntimeService ---------------------------------------------------------------

  async version(): Promise<VersionResponse> {
    return this.runtime<VersionResponse>('Version', { version: CRI_API_VERSION }, this.statusTimeoutMs);
  }

  async status(): Promise<RuntimeStatus> {
    const res = await this.runtime<{ status?: RuntimeStatus }>('Status', { verbose: false }, this.statusTimeoutMs);
    return res.status ?? { conditions: [] };
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string> {
    const res = await this.runtime<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler: runtimeHandler ?? '' });
    return res.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.runtime('StopPodSandbox', { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.runtime('RemovePodSandbox', { podSandboxId });
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    const res = await this.runtime<{ status?: PodSandboxStatus }>('PodSandboxStatus', { podSandboxId, verbose: false });
    if (!res.status) throw mapGrpcError({ code: grpc.status.NOT_FOUND, details: `pod sandbox ${podSandboxId} not found` }, this.ctx('PodSandboxStatus'));
    return res.status;
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const wire = filter
      ? { id: filter.id ?? '', state: filter.state !== undefined ? { state: filter.state } : undefined, labelSelector: filter.labelSelector ?? {} }
      : undefined;
    const res = await this.runtime<{ items: PodSandbox[] }>('ListPodSandbox', { filter: wire });
    return res.items ?? [];
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const res = await this.runtime<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig });
    return res.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.runtime('StartContainer', { containerId });
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const grace = Math.max(0, Math.floor(timeoutSeconds));
    await this.runtime('StopContainer', { containerId, timeout: grace }, this.timeoutMs + grace * 1000);
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.runtime('RemoveContainer', { containerId });
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const wire = filter
      ? {
          id: filter.id ?? '',
          state: filter.state !== undefined ? { state: filter.state } : undefined,
          podSandboxId: filter.podSandboxId ?? '',
          labelSelector: filter.labelSelector ?? {},
        }
      : undefined;
    const res = await this.runtime<{ containers: Container[] }>('ListContainers', { filter: wire });
    return res.containers ?? [];
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    const res = await this.runtime<{ status?: ContainerStatus }>('ContainerStatus', { containerId, verbose: false });
    if (!res.status) throw mapGrpcError({ code: grpc.status.NOT_FOUND, details: `container ${containerId} not found` }, this.ctx('ContainerStatus'));
    return { ...res.status, mounts: res.status.mounts ?? [] };
  }

  async updateRuntimeConfig(podCidr: string): Promise<void> {
    await this.runtime('UpdateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr } } });
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResponse> {
    const t = Math.max(0, Math.floor(timeoutSeconds));
    // As kubelet: no command timeout means no deadline; otherwise the runtime gets the
    // command timeout plus the usual request timeout to answer.
    const deadline = t > 0 ? this.timeoutMs + t * 1000 : null;
    const res = await this.runtime<{ stdout?: Buffer; stderr?: Buffer; exitCode: number }>('ExecSync', { containerId, cmd, timeout: t }, deadline);
    return { stdout: res.stdout ?? Buffer.alloc(0), stderr: res.stderr ?? Buffer.alloc(0), exitCode: res.exitCode ?? 0 };
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.runtime('ReopenContainerLog', { containerId });
  }

  // ---- ImageService ------------------------------------------------------------------

  async listImages(filter?: { image?: ImageSpec }): Promise<Image[]> {
    const res = await this.image<{ images: Image[] }>('ListImages', { filter: filter?.image ? { image: filter.image } : undefined });
    return res.images ?? [];
  }

  async imageStatus(image: ImageSpec): Promise<Image | undefined> {
    const res = await this.image<{ image?: Image }>('ImageStatus', { image, verbose: false });
    return res.image;
  }

  async pullImage(image: ImageSpec, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const res = await this.image<{ imageRef: string }>('PullImage', { image, auth, sandboxConfig }, this.pullTimeoutMs);
    return res.imageRef;
  }

  async removeImage(image: ImageSpec): Promise<void> {
    await this.image('RemoveImage', { image });
  }

  async imageFsInfo(): Promise<FilesystemUsage[]> {
    const res = await this.image<{ imageFilesystems: FilesystemUsage[] }>('ImageFsInfo', {}, this.statusTimeoutMs);
    return res.imageFilesystems ?? [];
  }

  /** Closes the channel; later calls reject with {@link UnavailableError}. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.imageClient.close();
    this.runtimeClient.close();
  }

  // ---- transport ---------------------------------------------------------------------

  private runtime<T = unknown>(rpc: RuntimeRpc, request: object, timeoutMs: number | null = this.timeoutMs): Promise<T> {
    return this.unary<T>(this.runtimeClient, rpc, request, timeoutMs);
  }

  private image<T = unknown>(rpc: ImageRpc, request: object, timeoutMs: number | null = this.timeoutMs): Promise<T> {
    return this.unary<T>(this.imageClient, rpc, request, timeoutMs);
  }

  private ctx(rpc: string, timeoutMs?: number): { rpc: string; endpoint: string; timeoutMs?: number } {
    return { rpc, endpoint: this.endpoint, timeoutMs };
  }

  private unary<T>(client: grpc.Client, rpc: string, request: object, timeoutMs: number | null): Promise<T> {
    if (this.closed) {
      return Promise.reject(new UnavailableError(`CRI client for ${this.endpoint} is closed (${rpc})`));
    }
    const method = (client as unknown as Record<string, UnaryMethod | undefined>)[rpc];
    if (typeof method !== 'function') {
      return Promise.reject(new Error(`BUG: ${rpc} is not in the CRI proto`));
    }
    // gRPC deadlines are wall-clock instants by nature; they cannot follow an injected clock.
    const options: grpc.CallOptions = timeoutMs !== null ? { deadline: Date.now() + timeoutMs } : {};
    return new Promise<T>((resolve, reject) => {
      method.call(client, request, new grpc.Metadata(), options, (err, response) => {
        if (err) {
          const mapped = mapGrpcError(err, this.ctx(rpc, timeoutMs ?? undefined));
          this.logger?.debug({ rpc, code: err.code, err: mapped.message }, 'CRI call failed');
          reject(mapped);
          return;
        }
        resolve(stripNulls(response ?? {}) as T);
      });
    });
  }
}

/**
 * Connects to a CRI runtime. The connection is lazy: nothing is dialled until the first call,
 * and a runtime that is down makes calls fail with `UnavailableError` rather than this
 * function.
 */
export function createCriRuntime(opts: CriRuntimeOptions): CriRuntime {
  return new CriRuntime(opts);
}
