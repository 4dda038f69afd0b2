/**
 * `computePodActions`: from a pod spec and what the runtime holds for it, what to do now
 * (kubelet's `kuberuntime_manager.go`, with sidecar-capable init container handling as in
 * 1.32). A pure function; the syncer executes the result.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { hashContainer } from './hash.js';
import { findContainer, type ObservedContainer, type PodRuntimeStatus } from './runtime-state.js';

/** Why a container is killed (kubelet's `containerKillReason`). */
export type KillReason = 'definition-changed' | 'liveness' | 'startup' | 'unknown-state' | 'not-needed';

/** One container to kill. */
export interface ContainerToKill {
  id: string;
  name: string;
  container?: Container;
  /** Event message (`Container web definition changed, will be restarted`). */
  message: string;
  reason: KillReason;
}

/** What a sync should do. */
export interface PodActions {
  /** Kill every container (and the sandbox when it is recreated). */
  killPod: boolean;
  /** Run a new sandbox (attempt {@link attempt}). */
  createSandbox: boolean;
  /** The current sandbox (or, when recreating, the one that died); '' when none. */
  sandboxId: string;
  attempt: number;
  /** Indexes into `spec.initContainers`, in start order. */
  initContainersToStart: number[];
  /** Indexes into `spec.containers`, in start order. */
  containersToStart: number[];
  containersToKill: ContainerToKill[];
}

/** Probe results that decide kills. `undefined` means "not run yet". */
export interface ProbeResults {
  liveness(containerId: string): 'success' | 'failure' | undefined;
  startup(containerId: string): 'success' | 'failure' | undefined;
}

const NO_PROBES: ProbeResults = { liveness: () => undefined, startup: () => undefined };

/** `pod.spec.restartPolicy != Never`. */
export function shouldRestartOnFailure(pod: Pod): boolean {
  return (pod.spec?.restartPolicy ?? 'Always') !== 'Never';
}

/** A restartable ("sidecar") init container. */
export function isRestartableInit(c: Container): boolean {
  return (c as Container & { restartPolicy?: string }).restartPolicy === 'Always';
}

/** Host-network pods share the node's network namespace. */
export function isHostNetwork(pod: Pod): boolean {
  return pod.spec?.hostNetwork === true;
}

/** `PodSandboxChanged`: whether a new sandbox is needed, its attempt number, and the current sandbox. */
export function podSandboxChanged(pod: Pod, status: PodRuntimeStatus): { changed: boolean; attempt: number; sandboxId: string } {
  if (status.sandboxes.length === 0) return { changed: true, attempt: 0, sandboxId: '' };
  const latest = status.sandboxes[0];
  const ready = status.sandboxes.filter((s) => s.state === 'SANDBOX_READY').length;
  if (ready > 1 || latest.state !== 'SANDBOX_READY') return { changed: true, attempt: latest.attempt + 1, sandboxId: latest.id };
  if (!isHostNetwork(pod) && latest.ips.length === 0) return { changed: true, attempt: latest.attempt + 1, sandboxId: latest.id };
  return { changed: false, attempt: latest.attempt, sandboxId: latest.id };
}

/** `ShouldContainerBeRestarted`. */
export function shouldContainerBeRestarted(container: Container, pod: Pod, status: PodRuntimeStatus): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const c = findContainer(status, container.name);
  if (!c) return true;
  if (c.state === 'CONTAINER_RUNNING') return false;
  if (c.state === 'CONTAINER_UNKNOWN' || c.state === 'CONTAINER_CREATED') return true;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && c.exitCode === 0) return false;
  return true;
}

/** An init container that failed (non-zero exit or unknown state). */
export function isInitContainerFailed(c: ObservedContainer): boolean {
  if (c.state === 'CONTAINER_EXITED' && c.exitCode !== 0) return true;
  return c.state === 'CONTAINER_UNKNOWN';
}

function containerSucceeded(c: Container, status: PodRuntimeStatus): boolean {
  const s = findContainer(status, c.name, 'container');
  return !!s && s.state === 'CONTAINER_EXITED' && s.exitCode === 0;
}

function hasAnyRegularContainerCreated(pod: Pod, status: PodRuntimeStatus): boolean {
  for (const c of pod.spec?.containers ?? []) {
    const s = findContainer(status, c.name, 'container');
    if (s && s.state !== 'CONTAINER_UNKNOWN') return true;
  }
  return false;
}

/** Decides the init container actions; returns whether the pod has initialized. */
function computeInitContainerActions(pod: Pod, status: PodRuntimeStatus, probes: ProbeResults, a: PodActions): boolean {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return true;

  // A created or running regular container means initialization happened before; the init
  // containers may have been removed since, and must not run again (sidecars excepted).
  let podHasInitialized = false;
  for (const c of pod.spec?.containers ?? []) {
    const s = findContainer(status, c.name, 'container');
    if (s && (s.state === 'CONTAINER_CREATED' || s.state === 'CONTAINER_RUNNING')) {
      podHasInitialized = true;
      break;
    }
  }
  // Once the newest init container with a status has been handled, every init container
  // before it counts as initialized; only sidecars among them still need attention.
  let previouslyInitialized = podHasInitialized;
  const restartOnFailure = shouldRestartOnFailure(pod);

  // Walk backwards: the last init container that has a status decides the next step.
  for (let i = inits.length - 1; i >= 0; i--) {
    const container = inits[i];
    const s = findContainer(status, container.name, 'init');
    if (!s) {
      if (previouslyInitialized && isRestartableInit(container)) a.initContainersToStart.push(i);
      continue;
    }
    if (previouslyInitialized && !isRestartableInit(container)) continue;

    switch (s.state) {
      case 'CONTAINER_CREATED':
        // Created but never started: the start failed; start it again.
        a.initContainersToStart.push(i);
        break;
      case 'CONTAINER_RUNNING': {
        if (!isRestartableInit(container)) break; // wait for it to finish
        if (container.startupProbe) {
          const r = probes.startup(s.id);
          if (r === undefined) break;
          if (r === 'failure') {
            a.containersToKill.push({ id: s.id, name: container.name, container, message: `Init container ${container.name} failed startup probe`, reason: 'startup' });
            a.initContainersToStart.push(i);
            break;
          }
        }
        if (i === inits.length - 1) podHasInitialized = true;
        else if (!previouslyInitialized) a.initContainersToStart.push(i + 1);
        if (hashContainer(container) !== s.hash) {
          a.containersToKill.push({ id: s.id, name: container.name, container, message: `Init container ${container.name} definition changed`, reason: 'definition-changed' });
          a.initContainersToStart.push(i);
          break;
        }
        if (container.livenessProbe && probes.liveness(s.id) === 'failure') {
          a.containersToKill.push({ id: s.id, name: container.name, container, message: `Init container ${container.name} failed liveness probe`, reason: 'liveness' });
          a.initContainersToStart.push(i);
        }
        break;
      }
      case 'CONTAINER_EXITED':
        if (isRestartableInit(container)) {
          a.initContainersToStart.push(i);
        } else if (isInitContainerFailed(s)) {
          if (!restartOnFailure) {
            a.killPod = true;
            a.initContainersToStart = [];
            return false;
          }
          a.initContainersToStart.push(i);
        } else if (i === inits.length - 1) {
          podHasInitialized = true;
        } else {
          a.initContainersToStart.push(i + 1);
        }
        break;
      default:
        // Unknown state: kill before restarting, unless the pod may not restart at all.
        if (!isRestartableInit(container) && !restartOnFailure) {
          a.killPod = true;
          a.initContainersToStart = [];
          return false;
        }
        a.containersToKill.push({
          id: s.id,
          name: container.name,
          container,
          message: `Init container is in "${s.state}" state, try killing it before restart`,
          reason: 'unknown-state',
        });
        a.initContainersToStart.push(i);
    }
    previouslyInitialized = true;
  }

  // No init container has a status: start the first one.
  if (!previouslyInitialized) a.initContainersToStart.push(0);
  return podHasInitialized;
}

/** Computes what a sync must do for `pod` given the runtime's view of it. */
export function computePodActions(pod: Pod, status: PodRuntimeStatus, probes: ProbeResults = NO_PROBES): PodActions {
  const sb = podSandboxChanged(pod, status);
  const a: PodActions = {
    killPod: sb.changed,
    createSandbox: sb.changed,
    sandboxId: sb.sandboxId,
    attempt: sb.attempt,
    initContainersToStart: [],
    containersToStart: [],
    containersToKill: [],
  };
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];

  if (sb.changed) {
    // A pod that must not restart and already ran its containers does not get a new sandbox.
    if (!shouldRestartOnFailure(pod) && sb.attempt !== 0 && status.containers.length !== 0) {
      a.createSandbox = false;
      return a;
    }
    const toStart: number[] = [];
    containers.forEach((c, i) => {
      if (pod.spec?.restartPolicy === 'OnFailure' && containerSucceeded(c, status)) return;
      toStart.push(i);
    });
    if (toStart.length === 0 && hasAnyRegularContainerCreated(pod, status)) {
      a.createSandbox = false;
      return a;
    }
    if (inits.length > 0) {
      a.initContainersToStart = [0];
      return a;
    }
    a.containersToStart = toStart;
    return a;
  }

  const initialized = computeInitContainerActions(pod, status, probes, a);
  if (a.killPod || !initialized) return a;

  let keep = 0;
  containers.forEach((container, idx) => {
    const s = findContainer(status, container.name, 'container');
    if (!s || s.state !== 'CONTAINER_RUNNING') {
      if (shouldContainerBeRestarted(container, pod, status)) {
        a.containersToStart.push(idx);
        if (s && s.state === 'CONTAINER_UNKNOWN') {
          a.containersToKill.push({
            id: s.id,
            name: s.name,
            container,
            message: `Container is in "${s.state}" state, try killing it before restart`,
            reason: 'unknown-state',
          });
        }
      }
      return;
    }
    let message: string;
    let reason: KillReason;
    let restart = shouldRestartOnFailure(pod);
    if (hashContainer(container) !== s.hash) {
      message = `Container ${container.name} definition changed`;
      reason = 'definition-changed';
      restart = true; // a changed spec restarts whatever the restart policy
    } else if (container.livenessProbe && probes.liveness(s.id) === 'failure') {
      message = `Container ${container.name} failed liveness probe`;
      reason = 'liveness';
    } else if (container.startupProbe && probes.startup(s.id) === 'failure') {
      message = `Container ${container.name} failed startup probe`;
      reason = 'startup';
    } else {
      keep++;
      return;
    }
    if (restart) {
      message = `${message}, will be restarted`;
      a.containersToStart.push(idx);
    }
    a.containersToKill.push({ id: s.id, name: s.name, container, message, reason });
  });

  if (keep === 0 && a.containersToStart.length === 0) {
    a.killPod = true;
    a.initContainersToStart = []; // sidecars must not keep a finished pod alive
  }
  return a;
}
