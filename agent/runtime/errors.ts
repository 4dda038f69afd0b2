/**
 * Runtime errors. Adapters translate their transport's failures into these, so that pod
 * logic can ask `isNotFound(err)` without knowing whether gRPC or Docker answered.
 */
import { SkiffError } from '../../lib/errors.js';
export { NotFoundError, UnavailableError, isNotFound } from '../../lib/errors.js';

/** The runtime does not implement this call (gRPC UNIMPLEMENTED): treat the feature as absent. */
export class UnimplementedError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_RUNTIME_UNIMPLEMENTED', message, options);
  }
}

/** Any other runtime failure, with the runtime's message. */
export class RuntimeError extends SkiffError {
  /** The transport's own code (a gRPC status code name, an HTTP status), when known. */
  readonly runtimeCode?: string;
  constructor(message: string, options?: { cause?: unknown; runtimeCode?: string }) {
    super('SKIFF_RUNTIME_ERROR', message, options);
    this.runtimeCode = options?.runtimeCode;
  }
}

/** True when the runtime said this call is not implemented. */
export function isUnimplemented(err: unknown): boolean {
  return err instanceof UnimplementedError || (err as { code?: unknown })?.code === 'SKIFF_RUNTIME_UNIMPLEMENTED';
}
