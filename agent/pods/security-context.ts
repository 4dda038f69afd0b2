/**
 * The Linux security settings of sandboxes and containers (kubelet's
 * `kuberuntime/security_context.go` and `kuberuntime_sandbox_linux.go`), reduced to the
 * fields the CRI shape carries: namespaces, user and groups, privileged, capabilities,
 * read-only root, no-new-privs, masked and read-only /proc paths.
 */
import type { Container, Pod, PodSecurityContext, SecurityContext } from 'kubernetes-types/core/v1.js';
import type { LinuxContainerSecurityContext, LinuxSandboxSecurityContext, NamespaceOption } from '../runtime/index.js';

/** Paths kubelet masks in non-privileged containers (`securitycontext.DefaultMaskedPaths`). */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);

/** Paths kubelet makes read-only in non-privileged containers (`securitycontext.DefaultReadonlyPaths`). */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);

/** Namespace modes of a pod (`namespacesForPod`). */
export function podNamespaces(pod: Pod): NamespaceOption {
  const spec = pod.spec;
  return {
    network: spec?.hostNetwork ? 'NODE' : 'POD',
    pid: spec?.hostPID ? 'NODE' : spec?.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: spec?.hostIPC ? 'NODE' : 'POD',
  };
}

/** Any container of the pod privileged. */
export function hasPrivilegedContainer(pod: Pod): boolean {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return all.some((c) => c.securityContext?.privileged === true);
}

function groups(psc: PodSecurityContext | undefined): number[] | undefined {
  const g = [...(psc?.supplementalGroups ?? [])];
  if (psc?.fsGroup !== undefined && psc.fsGroup !== null) g.push(psc.fsGroup);
  return g.length ? g : undefined;
}

/** The sandbox's security context. */
export function sandboxSecurityContext(pod: Pod): LinuxSandboxSecurityContext {
  const psc = pod.spec?.securityContext;
  const sc: LinuxSandboxSecurityContext = { namespaceOptions: podNamespaces(pod), privileged: hasPrivilegedContainer(pod) };
  if (psc?.runAsUser !== undefined && psc.runAsUser !== null) sc.runAsUser = { value: psc.runAsUser };
  if (psc?.runAsGroup !== undefined && psc.runAsGroup !== null) sc.runAsGroup = { value: psc.runAsGroup };
  const g = groups(psc);
  if (g) sc.supplementalGroups = g;
  return sc;
}

/** The effective security context: the container's fields over the pod's (`DetermineEffectiveSecurityContext`). */
export function effectiveSecurityContext(pod: Pod, container: Container): SecurityContext {
  const psc = pod.spec?.securityContext ?? {};
  const csc = container.securityContext ?? {};
  return {
    runAsUser: csc.runAsUser ?? psc.runAsUser,
    runAsGroup: csc.runAsGroup ?? psc.runAsGroup,
    runAsNonRoot: csc.runAsNonRoot ?? psc.runAsNonRoot,
    seLinuxOptions: csc.seLinuxOptions ?? psc.seLinuxOptions,
    seccompProfile: csc.seccompProfile ?? psc.seccompProfile,
    privileged: csc.privileged,
    capabilities: csc.capabilities,
    readOnlyRootFilesystem: csc.readOnlyRootFilesystem,
    allowPrivilegeEscalation: csc.allowPrivilegeEscalation,
    procMount: csc.procMount,
  };
}

/** The container's Linux security context for the runtime. */
export function containerSecurityContext(pod: Pod, container: Container): LinuxContainerSecurityContext {
  const e = effectiveSecurityContext(pod, container);
  const sc: LinuxContainerSecurityContext = { namespaceOptions: podNamespaces(pod) };
  if (e.runAsUser !== undefined && e.runAsUser !== null) sc.runAsUser = { value: e.runAsUser };
  if (e.runAsGroup !== undefined && e.runAsGroup !== null) sc.runAsGroup = { value: e.runAsGroup };
  const g = groups(pod.spec?.securityContext);
  if (g) sc.supplementalGroups = g;
  if (e.privileged) sc.privileged = true;
  if (e.capabilities && (e.capabilities.add?.length || e.capabilities.drop?.length)) {
    sc.capabilities = { addCapabilities: [...(e.capabilities.add ?? [])], dropCapabilities: [...(e.capabilities.drop ?? [])] };
  }
  if (e.readOnlyRootFilesystem) sc.readonlyRootfs = true;
  // allowPrivilegeEscalation: false → no_new_privs (`AddNoNewPrivileges`).
  if (e.allowPrivilegeEscalation === false) sc.noNewPrivs = true;
  if (!e.privileged && e.procMount !== 'Unmasked') {
    sc.maskedPaths = [...DEFAULT_MASKED_PATHS];
    sc.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  } else {
    sc.maskedPaths = [];
    sc.readonlyPaths = [];
  }
  return sc;
}
