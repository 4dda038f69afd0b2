/**
 * `generateAPIPodStatus` (kubelet 1.32): the pod status from the runtime's view of the pod,
 * the previous status, and the outcome of the current sync. Pure: timestamps of conditions
 * and `startTime` are filled by the status manager, which knows what it sent before.
 */
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { isRestartableInit, podSandboxChanged, shouldContainerBeRestarted } from '../actions.js';
import type { PodRuntimeStatus } from '../runtime-state.js';
import {
  KUBELET_CONDITIONS,
  containersReadyCondition,
  podInitializedCondition,
  podReadyCondition,
  podReadyToStartContainersCondition,
} from './conditions.js';
import { convertContainerStatuses, type ContainerReasonEntry } from './container-statuses.js';
import { getPhase } from './phase.js';

/** Probe results the status needs, per container name. `undefined`: no result yet. */
export interface ProbeStatus {
  readiness(containerName: string): boolean | undefined;
  started(containerName: string): boolean | undefined;
}

/** Inputs of {@link generatePodStatus}. */
export interface GenerateInput {
  /** The pod as the API last showed it. */
  pod: Pod;
  runtime: PodRuntimeStatus;
  /** What the status manager last set for the pod, else the API's status. */
  oldStatus: PodStatus | undefined;
  /** Failures of this sync, per container name. */
  reasons?: ReadonlyMap<string, ContainerReasonEntry>;
  /** The pod will not run again (termination is under way or done). */
  podIsTerminal: boolean;
  /** The node's IPs (primary first). */
  hostIPs: readonly string[];
  probes?: ProbeStatus;
  /** Prefix of container IDs (`containerd`). */
  runtimeName: string;
  /** QoS class of the pod. */
  qosClass: string;
}

const NO_REASONS: ReadonlyMap<string, ContainerReasonEntry> = new Map();

function isV6(ip: string): boolean {
  return ip.includes(':');
}

/** Pod IPs ordered by the node's IP family: the first of the primary family, then the first of the other. */
export function sortPodIPs(ips: readonly string[], hostIPs: readonly string[]): string[] {
  const primaryV6 = hostIPs.length > 0 && isV6(hostIPs[0]);
  const out: string[] = [];
  const p = ips.find((ip) => isV6(ip) === primaryV6);
  const s = ips.find((ip) => isV6(ip) !== primaryV6);
  if (p) out.push(p);
  if (s) out.push(s);
  return out;
}

function sets(pod: Pod, c: Container, probes: ProbeStatus | undefined, st: ContainerStatus, init: boolean): void {
  const running = !!st.state?.running;
  if (init && !isRestartableInit(c)) {
    st.ready = !!st.state?.terminated && st.state.terminated.exitCode === 0;
    st.started = running;
    return;
  }
  let started = running;
  if (running && c.startupProbe) started = probes?.started(c.name) === true;
  st.started = started;
  if (!started) {
    st.ready = false;
    return;
  }
  st.ready = c.readinessProbe ? probes?.readiness(c.name) === true : true;
  void pod;
}

/** Generates the pod status. */
export function generatePodStatus(i: GenerateInput): PodStatus {
  const { pod } = i;
  const old: PodStatus = i.oldStatus ?? pod.status ?? {};
  const reasons = i.reasons ?? NO_REASONS;
  const inits = pod.spec?.initContainers ?? [];
  const s: PodStatus = {};

  let podIPs = sortPodIPs(i.runtime.ips, i.hostIPs);
  s.qosClass = i.qosClass;

  const shouldRestart = (c: Container): boolean => shouldContainerBeRestarted(c, pod, i.runtime);
  s.containerStatuses = convertContainerStatuses({
    pod,
    runtime: i.runtime,
    previous: old.containerStatuses,
    containers: pod.spec?.containers ?? [],
    hasInitContainers: inits.length > 0,
    isInit: false,
    reasons,
    shouldRestart,
    runtimeName: i.runtimeName,
  });
  if (inits.length) {
    s.initContainerStatuses = convertContainerStatuses({
      pod,
      runtime: i.runtime,
      previous: old.initContainerStatuses,
      containers: inits,
      hasInitContainers: true,
      isInit: true,
      reasons,
      shouldRestart,
      runtimeName: i.runtimeName,
    });
  }
  // The probe manager's part: ready and started.
  (pod.spec?.containers ?? []).forEach((c, idx) => sets(pod, c, i.probes, s.containerStatuses![idx], false));
  inits.forEach((c, idx) => sets(pod, c, i.probes, s.initContainerStatuses![idx], true));

  const all = [...(s.initContainerStatuses ?? []), ...s.containerStatuses];
  const hasInitialized = i.runtime.containers.some((c) => c.type === 'container' && c.startedAt > 0);
  let phase = getPhase(pod, all, i.podIsTerminal, hasInitialized);
  if (phase !== 'Failed' && phase !== 'Succeeded') {
    if (old.phase === 'Failed' || old.phase === 'Succeeded') phase = old.phase;
    else if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') phase = pod.status.phase;
  }
  s.phase = phase;
  if (phase === old.phase) {
    const reason = old.reason || pod.status?.reason;
    const message = old.message || pod.status?.message;
    if (reason) s.reason = reason;
    if (message) s.message = message;
  }
  // Pods may not leave a terminal phase the API already shows.
  if ((pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') && s.phase !== pod.status.phase) s.phase = pod.status.phase;

  // Conditions: keep those kubelet does not own, then kubelet's own.
  const conditions: PodCondition[] = [];
  for (const c of pod.status?.conditions ?? []) if (!KUBELET_CONDITIONS.includes(c.type)) conditions.push(structuredClone(c));
  const disruption = old.conditions?.find((c) => c.type === 'DisruptionTarget');
  if (disruption && !conditions.some((c) => c.type === 'DisruptionTarget')) conditions.push(structuredClone(disruption));
  const phaseForConditions = s.phase as 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  conditions.push(podReadyToStartContainersCondition(!podSandboxChanged(pod, i.runtime).changed));
  conditions.push(podInitializedCondition(pod, all, phaseForConditions));
  conditions.push(podReadyCondition(pod, conditions, all, phaseForConditions));
  conditions.push(containersReadyCondition(pod, all, phaseForConditions));
  conditions.push({ type: 'PodScheduled', status: 'True' });
  s.conditions = conditions;

  if (i.hostIPs.length) {
    s.hostIP = i.hostIPs[0];
    s.hostIPs = i.hostIPs.slice(0, 2).map((ip) => ({ ip }));
    if (pod.spec?.hostNetwork && podIPs.length === 0) podIPs = i.hostIPs.slice(0, 2);
  }
  if (podIPs.length) {
    s.podIP = podIPs[0];
    s.podIPs = podIPs.map((ip) => ({ ip }));
  } else if (old.podIP) {
    // A stopped sandbox reports no IP; keep the last one, so finished pods still show it.
    s.podIP = old.podIP;
    if (old.podIPs) s.podIPs = structuredClone(old.podIPs);
  }
  if (old.startTime) s.startTime = old.startTime;
  return s;
}
