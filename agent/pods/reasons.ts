/**
 * The container reasons a pod status can show, the state each belongs to, and the moves
 * allowed between them (after krustlet's explicit state table). Reasons are derived from the
 * runtime state observed on each sync plus the outcome of that sync's actions; this table is
 * what those derivations may produce, and `isAllowedMove` is checked whenever a status is
 * generated, so an impossible transition shows up in the logs instead of in a user's
 * `kubectl get pods`.
 *
 * ```
 *                ┌──────────────── waiting ─────────────────┐
 *  (new) ──► ContainerCreating / PodInitializing             │
 *                │        │                                  │
 *                │        ├─► ErrImagePull ◄──► ImagePullBackOff
 *                │        ├─► ErrImageNeverPull, InvalidImageName
 *                │        ├─► CreateContainerConfigError, CreateContainerError
 *                │        └─► RunContainerError, PostStartHookError
 *                ▼                                           │
 *             Running ──────────► terminated: Completed | Error | OOMKilled |
 *                ▲                            ContainerCannotRun | ContainerStatusUnknown
 *                │                                 │
 *                └──── CrashLoopBackOff ◄──────────┘ (restart policy allows a restart)
 * ```
 */
import type { ContainerState } from 'kubernetes-types/core/v1.js';

/** The state a reason belongs to. */
export type ReasonState = 'waiting' | 'running' | 'terminated';

/** Every container reason the agent produces. `Running` stands for the running state. */
export const CONTAINER_REASONS = Object.freeze({
  ContainerCreating: { state: 'waiting', error: false, description: 'the sandbox or the container is being set up' },
  PodInitializing: { state: 'waiting', error: false, description: 'init containers have not completed yet' },
  ErrImagePull: { state: 'waiting', error: true, description: 'the last pull failed' },
  ImagePullBackOff: { state: 'waiting', error: true, description: 'waiting out the pull backoff' },
  ErrImageNeverPull: { state: 'waiting', error: true, description: 'imagePullPolicy Never and the image is absent' },
  InvalidImageName: { state: 'waiting', error: true, description: 'the image reference does not parse' },
  CrashLoopBackOff: { state: 'waiting', error: true, description: 'waiting out the restart backoff' },
  CreateContainerConfigError: { state: 'waiting', error: true, description: 'env or mounts could not be resolved' },
  CreateContainerError: { state: 'waiting', error: true, description: 'the runtime refused to create the container' },
  RunContainerError: { state: 'waiting', error: true, description: 'the runtime failed to start the container' },
  PostStartHookError: { state: 'waiting', error: true, description: 'the postStart hook failed' },
  Running: { state: 'running', error: false, description: 'the process runs' },
  Completed: { state: 'terminated', error: false, description: 'exited with code 0' },
  Error: { state: 'terminated', error: true, description: 'exited with a non-zero code' },
  OOMKilled: { state: 'terminated', error: true, description: 'killed by the OOM killer' },
  ContainerCannotRun: { state: 'terminated', error: true, description: 'the runtime could not run the process' },
  ContainerStatusUnknown: { state: 'terminated', error: true, description: 'the container vanished while running' },
} as const satisfies Record<string, { state: ReasonState; error: boolean; description: string }>);

/** A container reason. */
export type ContainerReason = keyof typeof CONTAINER_REASONS;

const WAITING_ERRORS: ContainerReason[] = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PostStartHookError',
];
const TERMINATED: ContainerReason[] = ['Completed', 'Error', 'OOMKilled', 'ContainerCannotRun', 'ContainerStatusUnknown'];

/**
 * Allowed moves, from → to. Staying on the same reason is always allowed. A start attempt
 * can fail in any of the waiting-error ways, so every state that leads to a start attempt
 * may move to each of them.
 */
export const ALLOWED_MOVES: Readonly<Record<ContainerReason, readonly ContainerReason[]>> = Object.freeze({
  ContainerCreating: ['PodInitializing', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  PodInitializing: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  ErrImagePull: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  ImagePullBackOff: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  ErrImageNeverPull: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  InvalidImageName: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  CreateContainerConfigError: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  CreateContainerError: ['ContainerCreating', ...WAITING_ERRORS, 'Running', ...TERMINATED],
  RunContainerError: ['ContainerCreating', ...WAITING_ERRORS, 'CrashLoopBackOff', 'Running', ...TERMINATED],
  PostStartHookError: ['ContainerCreating', ...WAITING_ERRORS, 'CrashLoopBackOff', 'Running', ...TERMINATED],
  // A running container ends (terminated), or ends and is seen only once it waits out its
  // backoff (CrashLoopBackOff), or is replaced within one sync (Running again, new id).
  Running: [...TERMINATED, 'CrashLoopBackOff', 'ContainerCreating', 'PodInitializing', ...WAITING_ERRORS],
  CrashLoopBackOff: ['Running', ...WAITING_ERRORS, ...TERMINATED, 'ContainerCreating', 'PodInitializing'],
  Completed: ['Running', 'CrashLoopBackOff', 'ContainerCreating', 'PodInitializing', ...WAITING_ERRORS, ...TERMINATED],
  Error: ['Running', 'CrashLoopBackOff', 'ContainerCreating', 'PodInitializing', ...WAITING_ERRORS, ...TERMINATED],
  OOMKilled: ['Running', 'CrashLoopBackOff', 'ContainerCreating', 'PodInitializing', ...WAITING_ERRORS, ...TERMINATED],
  ContainerCannotRun: ['Running', 'CrashLoopBackOff', 'ContainerCreating', ...WAITING_ERRORS, ...TERMINATED],
  ContainerStatusUnknown: ['Running', 'CrashLoopBackOff', 'ContainerCreating', 'PodInitializing', ...WAITING_ERRORS],
});

/** True for a reason in the table. */
export function isContainerReason(r: string): r is ContainerReason {
  return Object.prototype.hasOwnProperty.call(CONTAINER_REASONS, r);
}

/**
 * The reason shown by an API container state; `undefined` for a waiting state without a
 * reason (a created container that was never started) or a reason outside the table.
 */
export function reasonOf(state: ContainerState | undefined): ContainerReason | undefined {
  if (!state) return undefined;
  if (state.running) return 'Running';
  const r = state.terminated?.reason ?? state.waiting?.reason;
  return r && isContainerReason(r) ? r : undefined;
}

/** Whether a status may move from `from` to `to` (unknown reasons are not judged). */
export function isAllowedMove(from: ContainerReason | undefined, to: ContainerReason | undefined): boolean {
  if (!from || !to || from === to) return true;
  return ALLOWED_MOVES[from].includes(to);
}
