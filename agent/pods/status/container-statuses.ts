/**
 * `convertToAPIContainerStatuses` (kubelet 1.32): the API statuses of one list of containers
 * (init or app) from the runtime's containers, the previous API statuses, and the reasons
 * this sync produced for containers it could not start.
 *
 * - every spec container gets a status, `waiting: ContainerCreating` (`PodInitializing` when
 *   the pod has init containers) until the runtime has one;
 * - the newest runtime container gives `state`, the one before it `lastState`;
 * - a container that will be (re)started and whose start failed in this sync shows the
 *   failure as `waiting{reason,message}`, its previous termination moving to `lastState`;
 * - a container that vanished while running is reported terminated with
 *   `ContainerStatusUnknown` rather than silently going back to waiting.
 *
 * As kubelet: app container statuses are sorted by name, init container statuses stay in
 * spec order; `image` is the runtime's name for the image (containerd reports its repo tag,
 * e.g. `docker.io/library/busybox:1.29`), or the spec's image before a container exists;
 * `imageID` is the runtime's reference.
 */
import type { Container, ContainerState, ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import type { ObservedContainer, PodRuntimeStatus } from '../runtime-state.js';
import { isoFromNs } from './time.js';

/** A failure of this sync for one container: the waiting reason and message to show. */
export interface ContainerReasonEntry {
  reason: string;
  message: string;
}

/** Inputs of {@link convertContainerStatuses}. */
export interface ConvertInput {
  pod: Pod;
  runtime: PodRuntimeStatus;
  /** The previous API statuses of this list. */
  previous: readonly ContainerStatus[] | undefined;
  containers: readonly Container[];
  hasInitContainers: boolean;
  isInit: boolean;
  reasons: ReadonlyMap<string, ContainerReasonEntry>;
  /** `ShouldContainerBeRestarted` for a spec container. */
  shouldRestart(container: Container): boolean;
  /** Prefix of container IDs (`containerd`). */
  runtimeName: string;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function stateOf(cs: ObservedContainer, cid: string, old: ContainerStatus | undefined): { state: ContainerState; restartBump: boolean } {
  switch (cs.state) {
    case 'CONTAINER_RUNNING': {
      const running: NonNullable<ContainerState['running']> = {};
      const at = isoFromNs(cs.startedAt);
      if (at) running.startedAt = at;
      return { state: { running }, restartBump: false };
    }
    case 'CONTAINER_CREATED':
      return { state: { waiting: {} }, restartBump: false };
    case 'CONTAINER_EXITED': {
      const t: NonNullable<ContainerState['terminated']> = { exitCode: cs.exitCode, containerID: cid };
      if (cs.reason) t.reason = cs.reason;
      if (cs.message) t.message = cs.message;
      const s = isoFromNs(cs.startedAt);
      const f = isoFromNs(cs.finishedAt);
      if (s) t.startedAt = s;
      if (f) t.finishedAt = f;
      return { state: { terminated: t }, restartBump: false };
    }
    default:
      if (old?.state?.running) {
        return {
          state: { terminated: { reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', exitCode: 137 } },
          restartBump: true,
        };
      }
      return { state: { waiting: {} }, restartBump: false };
  }
}

/** Converts one list of containers; the result is in spec order. */
export function convertContainerStatuses(i: ConvertInput): ContainerStatus[] {
  const oldByName = new Map((i.previous ?? []).map((s) => [s.name, s]));
  const defaultReason = i.hasInitContainers ? 'PodInitializing' : 'ContainerCreating';
  const statuses = new Map<string, ContainerStatus>();
  const wantedType = i.isInit ? 'init' : 'container';
  const observed = i.runtime.containers.filter((c) => c.type === wantedType);

  for (const c of i.containers) {
    let st: ContainerStatus = { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: defaultReason } } };
    const old = oldByName.get(c.name);
    if (old) {
      if (old.state?.terminated) st = clone(old);
      else {
        st.restartCount = old.restartCount ?? 0;
        if (old.lastState && Object.keys(old.lastState).length) st.lastState = clone(old.lastState);
      }
    }
    statuses.set(c.name, st);
  }

  // Containers that vanished from the runtime while they were running.
  for (const c of i.containers) {
    if (observed.some((o) => o.name === c.name)) continue;
    const old = oldByName.get(c.name);
    if (!old || old.state?.terminated || !old.state?.running) continue;
    const st = statuses.get(c.name)!;
    if (st.state?.waiting?.reason !== defaultReason || st.lastState?.terminated) continue;
    st.lastState = {
      terminated: {
        reason: 'ContainerStatusUnknown',
        message: 'The container could not be located when the pod was deleted.  The container used to be Running',
        exitCode: 137,
      },
    };
    if (!i.pod.metadata?.deletionTimestamp) st.restartCount = (st.restartCount ?? 0) + 1;
  }

  // The newest runtime container is the state, the one before it the last state.
  const seen = new Map<string, number>();
  for (const cs of observed) {
    if (!statuses.has(cs.name)) continue;
    const n = seen.get(cs.name) ?? 0;
    if (n >= 2) continue;
    const old = oldByName.get(cs.name);
    const cid = `${i.runtimeName}://${cs.id}`;
    const { state, restartBump } = stateOf(cs, cid, old);
    if (n === 0) {
      const spec = i.containers.find((c) => c.name === cs.name)!;
      const st: ContainerStatus = {
        name: cs.name,
        image: cs.image || spec.image || '',
        imageID: cs.imageRef,
        containerID: cid,
        ready: false,
        restartCount: restartBump ? (old?.restartCount ?? 0) + 1 : cs.restartCount,
        state,
      };
      if (cs.state === 'CONTAINER_RUNNING' && old?.started !== undefined && old.containerID === cid) st.started = old.started;
      statuses.set(cs.name, st);
    } else {
      statuses.get(cs.name)!.lastState = state;
    }
    seen.set(cs.name, n + 1);
  }

  // Containers that failed to start in this sync: waiting with the failure.
  for (const c of i.containers) {
    if (i.isInit) {
      const s = observed.find((o) => o.name === c.name);
      if (s && s.state === 'CONTAINER_EXITED' && s.exitCode === 0) continue;
    }
    if (!i.shouldRestart(c)) continue;
    const r = i.reasons.get(c.name);
    if (!r) continue;
    const st = statuses.get(c.name)!;
    if (st.state?.terminated) st.lastState = st.state;
    const waiting: NonNullable<ContainerState['waiting']> = { reason: r.reason };
    if (r.message) waiting.message = r.message;
    st.state = { waiting };
  }

  const list = i.containers.map((c) => statuses.get(c.name)!);
  return i.isInit ? list : list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
