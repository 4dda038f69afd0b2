/**
 * Translating gRPC failures of CRI calls into the runtime errors of `../errors.ts`.
 *
 * The message of the resulting error is the runtime's own text (the gRPC status `details`),
 * because it ends up verbatim in a pod's status, e.g. the message of `ErrImagePull`:
 * `failed to pull and unpack image "docker.io/library/x:1": failed to resolve reference ...`.
 * The RPC name is kept on the error (`rpc`) and in the cause, not in the message.
 */
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { NotFoundError, RuntimeError, UnavailableError, UnimplementedError } from '../errors.js';

/** The shape of a grpc-js call failure (a `ServiceError`, or anything with a numeric code). */
interface GrpcFailure {
  code?: number;
  details?: string;
  message?: string;
}

function isGrpcFailure(err: unknown): err is GrpcFailure {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number';
}

/** The gRPC status code name (`NOT_FOUND`) of a numeric code, or the number as text. */
export function grpcCodeName(code: number): string {
  const name = (GrpcStatus as unknown as Record<number, string | undefined>)[code];
  return typeof name === 'string' ? name : String(code);
}

/** True when a grpc-js error says the connection itself failed (refused, socket missing). */
function isConnectionFailure(text: string): boolean {
  return /ECONNREFUSED|ENOENT|ECONNRESET|EPIPE|No connection established|connection refused|Connection dropped/i.test(text);
}

/** Context for {@link mapGrpcError}. */
export interface MapErrorContext {
  /** The CRI RPC that failed, e.g. `PullImage`. */
  rpc: string;
  /** The runtime endpoint, e.g. `unix:///run/containerd/containerd.sock`. */
  endpoint: string;
  /** The deadline that applied, in ms, if any (for the DEADLINE_EXCEEDED message). */
  timeoutMs?: number;
}

/**
 * Maps a grpc-js failure to a runtime error:
 * - `NOT_FOUND` → {@link NotFoundError}
 * - `UNAVAILABLE`, and connection-level failures → {@link UnavailableError}
 * - `UNIMPLEMENTED` → {@link UnimplementedError}
 * - anything else → {@link RuntimeError} with `runtimeCode` set to the status name.
 *
 * The original error is the `cause` of the new one.
 */
export function mapGrpcError(err: unknown, ctx: MapErrorContext): Error {
  if (!isGrpcFailure(err)) {
    const text = err instanceof Error ? err.message : String(err);
    if (isConnectionFailure(text)) {
      return withRpc(new UnavailableError(`container runtime at ${ctx.endpoint} is unavailable: ${text}`, { cause: err }), ctx.rpc);
    }
    return withRpc(new RuntimeError(`${ctx.rpc}: ${text}`, { cause: err }), ctx.rpc);
  }
  const code = err.code ?? GrpcStatus.UNKNOWN;
  const details = (err.details ?? '').trim() || (err.message ?? '').trim() || grpcCodeName(code);
  switch (code) {
    case GrpcStatus.NOT_FOUND:
      return withRpc(new NotFoundError(details, { cause: err }), ctx.rpc);
    case GrpcStatus.UNAVAILABLE:
      return withRpc(new UnavailableError(`container runtime at ${ctx.endpoint} is unavailable: ${details}`, { cause: err }), ctx.rpc);
    case GrpcStatus.UNIMPLEMENTED:
      return withRpc(new UnimplementedError(`the container runtime does not implement ${ctx.rpc}: ${details}`, { cause: err }), ctx.rpc);
    case GrpcStatus.DEADLINE_EXCEEDED: {
      const after = ctx.timeoutMs !== undefined ? ` after ${formatMs(ctx.timeoutMs)}` : '';
      return withRpc(
        new RuntimeError(`${ctx.rpc} timed out${after}: ${details}`, { cause: err, runtimeCode: grpcCodeName(code) }),
        ctx.rpc,
      );
    }
    default:
      if (code === GrpcStatus.INTERNAL && isConnectionFailure(details)) {
        return withRpc(new UnavailableError(`container runtime at ${ctx.endpoint} is unavailable: ${details}`, { cause: err }), ctx.rpc);
      }
      return withRpc(new RuntimeError(details, { cause: err, runtimeCode: grpcCodeName(code) }), ctx.rpc);
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Records the RPC name on the error as a read-only `rpc` property. */
function withRpc<E extends Error>(e: E, rpc: string): E {
  Object.defineProperty(e, 'rpc', { value: rpc, enumerable: false });
  return e;
}

/** The CRI RPC recorded on an error raised by the CRI client, if any. */
export function rpcOf(err: unknown): string | undefined {
  const v = (err as { rpc?: unknown } | null)?.rpc;
  return typeof v === 'string' ? v : undefined;
}

/** Type guard for grpc-js `ServiceError`s. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && isGrpcFailure(err) && 'metadata' in err;
}
