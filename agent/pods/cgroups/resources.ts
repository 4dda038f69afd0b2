/**
 * Pod and container resource arithmetic, as kubelet computes it:
 *
 * - the QoS class (`pkg/apis/core/v1/helper/qos`),
 * - pod requests and limits with init and sidecar containers and overhead
 *   (`k8s.io/component-helpers/resource`),
 * - the pod-level cgroup configuration (`pkg/kubelet/cm/helpers_linux.go` `ResourceConfigForPod`),
 * - the CRI `LinuxContainerResources` of one container (`kuberuntime_container_linux.go`),
 * - the container's `oom_score_adj` (`pkg/kubelet/qos/policy.go`).
 *
 * Quantities are integers: CPU in millicores, everything else in its base unit (bytes), each
 * rounded up as `resource.Quantity.MilliValue()` / `Value()` round.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { computePodQos, type QOSClass } from '../../../lib/kube/qos.js';
import { cpuToMillis, parseQuantity } from '../../../lib/units/index.js';
import type { LinuxContainerResources } from '../../runtime/index.js';

export type { QOSClass };

/** Integer amounts by resource name: `cpu` in millicores, the rest in base units. */
export type ResourceAmounts = Record<string, number>;

/** cgroup v1 `cpu.shares` floor (kubelet `MinShares`). */
export const MIN_SHARES = 2;
/** cgroup v1 `cpu.shares` ceiling (kubelet `MaxShares`). */
export const MAX_SHARES = 262144;
/** Default CFS period in microseconds (kubelet `QuotaPeriod`). */
export const QUOTA_PERIOD_US = 100000;
/** Smallest CFS quota kubelet writes, in microseconds (`MinQuotaPeriod`). */
export const MIN_QUOTA_PERIOD_US = 1000;
/** `oom_score_adj` of Guaranteed and node-critical containers. */
export const GUARANTEED_OOM_SCORE_ADJ = -997;
/** `oom_score_adj` of BestEffort containers. */
export const BESTEFFORT_OOM_SCORE_ADJ = 1000;
/** Priority at and above which a pod is system-critical (`scheduling.SystemCriticalPriority`). */
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

/** One quantity as an integer amount: millicores for `cpu`, rounded-up base units otherwise. */
export function quantityAmount(name: string, q: string | number | undefined): number {
  if (q === undefined || q === null || q === '') return 0;
  if (name === 'cpu') return cpuToMillis(q);
  return Math.ceil(parseQuantity(q, name) - 1e-9);
}

function amounts(list: Record<string, string> | undefined): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const [k, v] of Object.entries(list ?? {})) out[k] = quantityAmount(k, v);
  return out;
}

function add(into: ResourceAmounts, from: ResourceAmounts): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function max(into: ResourceAmounts, from: ResourceAmounts): void {
  for (const [k, v] of Object.entries(from)) if (into[k] === undefined || v > into[k]) into[k] = v;
}

/** True for an init container with `restartPolicy: Always` (a sidecar). */
export function isRestartableInitContainer(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/**
 * The QoS class of a pod: `status.qosClass` when the apiserver set it, otherwise computed
 * from the containers' cpu and memory requests and limits, exactly as `GetPodQOS` does (no
 * defaulting of requests from limits: the apiserver did that already).
 */
export function qosClass(pod: Pod): QOSClass {
  const s = pod.status?.qosClass;
  if (s === 'Guaranteed' || s === 'Burstable' || s === 'BestEffort') return s;
  return computeQosClass(pod);
}

/** `ComputePodQOS`: the class from the spec alone, ignoring `status.qosClass`. */
export function computeQosClass(pod: Pod): QOSClass {
  return computePodQos(pod, quantityAmount);
}

/** Options of {@link podRequests} and {@link podLimits}. */
export interface PodResourcesOptions {
  /** Leave `spec.overhead` out. */
  excludeOverhead?: boolean;
  /** Called with each container's own list (regular, then init containers). */
  containerFn?: (list: ResourceAmounts, type: 'containers' | 'initContainers') => void;
}

/**
 * The effective requests of a pod (`resource.PodRequests`): the sum of the regular containers
 * and sidecars, or the largest init container (plus the sidecars started before it) when
 * that is more, plus the pod overhead.
 */
export function podRequests(pod: Pod, opts: PodResourcesOptions = {}): ResourceAmounts {
  return aggregate(pod, 'requests', opts);
}

/** The effective limits of a pod (`resource.PodLimits`); overhead is added to non-zero limits only. */
export function podLimits(pod: Pod, opts: PodResourcesOptions = {}): ResourceAmounts {
  return aggregate(pod, 'limits', opts);
}

function aggregate(pod: Pod, field: 'requests' | 'limits', opts: PodResourcesOptions): ResourceAmounts {
  const out: ResourceAmounts = {};
  for (const c of pod.spec?.containers ?? []) {
    const list = amounts(c.resources?.[field]);
    opts.containerFn?.(list, 'containers');
    add(out, list);
  }
  const sidecars: ResourceAmounts = {};
  const initMax: ResourceAmounts = {};
  for (const c of pod.spec?.initContainers ?? []) {
    const own = amounts(c.resources?.[field]);
    if (field === 'limits') opts.containerFn?.(own, 'initContainers');
    let effective: ResourceAmounts;
    if (isRestartableInitContainer(c)) {
      add(out, own);
      add(sidecars, own);
      effective = { ...sidecars };
    } else {
      effective = { ...own };
      add(effective, sidecars);
    }
    if (field === 'requests') opts.containerFn?.(effective, 'initContainers');
    max(initMax, effective);
  }
  max(out, initMax);
  if (!opts.excludeOverhead && pod.spec?.overhead) {
    for (const [k, q] of Object.entries(pod.spec.overhead)) {
      const v = quantityAmount(k, q);
      if (field === 'requests') out[k] = (out[k] ?? 0) + v;
      else if (out[k]) out[k] += v;
    }
  }
  return out;
}

/** `MilliCPUToShares`: cgroup v1 cpu.shares for a CPU request in millicores. */
export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu <= 0) return MIN_SHARES;
  const shares = Math.floor((milliCpu * 1024) / 1000);
  if (shares < MIN_SHARES) return MIN_SHARES;
  if (shares > MAX_SHARES) return MAX_SHARES;
  return shares;
}

/** `MilliCPUToQuota`: the CFS quota (µs) for a CPU limit in millicores over `periodUs`; 0 for no limit. */
export function milliCpuToQuota(milliCpu: number, periodUs = QUOTA_PERIOD_US): number {
  if (milliCpu <= 0) return 0;
  const quota = Math.floor((milliCpu * periodUs) / 1000);
  return quota < MIN_QUOTA_PERIOD_US ? MIN_QUOTA_PERIOD_US : quota;
}

/** runc's `ConvertCPUSharesToCgroupV2Value`: cgroup v2 cpu.weight for v1 shares (0 means unset). */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The pod-level cgroup settings (`cm.ResourceConfig`); an absent field is left untouched. */
export interface PodResourceConfig {
  cpuShares?: number;
  /** CFS quota in µs; -1 for unlimited. */
  cpuQuota?: number;
  /** CFS period in µs. */
  cpuPeriod?: number;
  /** Memory limit in bytes. */
  memoryLimit?: number;
  /** hugetlb limits by page size in bytes (`hugepages-2Mi` → 2097152). */
  hugePageLimits?: Record<number, number>;
  /** Pids limit (`podPidsLimit`), when positive. */
  pidsLimit?: number;
}

/** Options of {@link podResourceConfig}. */
export interface PodResourceConfigOptions {
  /** `cpuCFSQuota` (default true): when false, the quota is -1 (unlimited). */
  enforceCpuLimits?: boolean;
  /** CFS period in µs (default 100000). */
  cpuPeriodUs?: number;
}

/**
 * `ResourceConfigForPod`: the pod cgroup's cpu.shares / quota / period and memory limit.
 * Guaranteed pods get all of them; Burstable pods get shares, plus quota only when every
 * container declares a CPU limit and a memory limit only when every container declares one;
 * BestEffort pods get the minimum shares only.
 */
export function podResourceConfig(pod: Pod, opts: PodResourceConfigOptions = {}): PodResourceConfig {
  const period = opts.cpuPeriodUs ?? QUOTA_PERIOD_US;
  const reqs = podRequests(pod);
  let cpuLimitsDeclared = true;
  let memoryLimitsDeclared = true;
  const limits = podLimits(pod, {
    containerFn: (l) => {
      if (!l.cpu) cpuLimitsDeclared = false;
      if (!l.memory) memoryLimitsDeclared = false;
    },
  });
  const cpuShares = milliCpuToShares(reqs.cpu ?? 0);
  let cpuQuota = milliCpuToQuota(limits.cpu ?? 0, period);
  if (opts.enforceCpuLimits === false) cpuQuota = -1;
  const memoryLimit = limits.memory ?? 0;
  const hugePageLimits = hugePageLimitsOf(reqs);
  const qos = qosClass(pod);
  const out: PodResourceConfig = {};
  if (qos === 'Guaranteed') {
    out.cpuShares = cpuShares;
    out.cpuQuota = cpuQuota;
    out.cpuPeriod = period;
    out.memoryLimit = memoryLimit;
  } else if (qos === 'Burstable') {
    out.cpuShares = cpuShares;
    if (cpuLimitsDeclared) {
      out.cpuQuota = cpuQuota;
      out.cpuPeriod = period;
    }
    if (memoryLimitsDeclared) out.memoryLimit = memoryLimit;
  } else {
    out.cpuShares = MIN_SHARES;
  }
  if (Object.keys(hugePageLimits).length) out.hugePageLimits = hugePageLimits;
  return out;
}

function hugePageLimitsOf(reqs: ResourceAmounts): Record<number, number> {
  const out: Record<number, number> = {};
  for (const [name, v] of Object.entries(reqs)) {
    if (!name.startsWith('hugepages-')) continue;
    const size = quantityAmount('memory', name.slice('hugepages-'.length));
    if (size > 0) out[size] = (out[size] ?? 0) + v;
  }
  return out;
}

/** Pod source annotation kubelet puts on static (file/http) pods. */
export const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';
/** Mirror pod annotation. */
export const CONFIG_MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/** `kubetypes.IsStaticPod`: the pod came from a file or URL, not the apiserver. */
export function isStaticPod(pod: Pod): boolean {
  const src = pod.metadata?.annotations?.[CONFIG_SOURCE_ANNOTATION];
  return src !== undefined && src !== 'api';
}

/** `kubetypes.IsCriticalPod`: static, mirror, or priority ≥ system-critical. */
export function isCriticalPod(pod: Pod): boolean {
  if (isStaticPod(pod)) return true;
  if (pod.metadata?.annotations?.[CONFIG_MIRROR_ANNOTATION] !== undefined) return true;
  return (pod.spec?.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY;
}

/** `kubetypes.IsNodeCriticalPod`: critical and `priorityClassName: system-node-critical`. */
export function isNodeCriticalPod(pod: Pod): boolean {
  return isCriticalPod(pod) && pod.spec?.priorityClassName === 'system-node-critical';
}

function isSidecar(pod: Pod, container: Container): boolean {
  return isRestartableInitContainer(container) && (pod.spec?.initContainers ?? []).some((c) => c.name === container.name);
}

/** Go's truncating integer division of `1000*req` by `cap`, exact for large values. */
function oomFraction(requestBytes: number, capacityBytes: number): number {
  if (capacityBytes <= 0) return 0;
  return Number((1000n * BigInt(Math.max(0, Math.trunc(requestBytes)))) / BigInt(Math.trunc(capacityBytes)));
}

/**
 * The container's `oom_score_adj` (`GetContainerOOMScoreAdjust`): -997 for Guaranteed and
 * node-critical pods, 1000 for BestEffort, and for Burstable `1000 - 1000*memoryRequest/capacity`
 * clamped to [3, 999] (kubelet's floor is `1000 + guaranteedOOMScoreAdj` = 3). A sidecar gets
 * at most the score of the regular container with the smallest memory request.
 */
export function oomScoreAdj(pod: Pod, container: Container, memoryCapacityBytes: number): number {
  if (isNodeCriticalPod(pod)) return GUARANTEED_OOM_SCORE_ADJ;
  const qos = qosClass(pod);
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BESTEFFORT_OOM_SCORE_ADJ;
  const memReq = quantityAmount('memory', container.resources?.requests?.memory);
  let adj = 1000 - oomFraction(memReq, memoryCapacityBytes);
  if (isSidecar(pod, container)) {
    const regular = pod.spec?.containers ?? [];
    if (regular.length) {
      let min = quantityAmount('memory', regular[0].resources?.requests?.memory);
      for (const c of regular.slice(1)) min = Math.min(min, quantityAmount('memory', c.resources?.requests?.memory));
      const minAdj = 1000 - oomFraction(min, memoryCapacityBytes);
      if (adj > minAdj) adj = minAdj;
    }
  }
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BESTEFFORT_OOM_SCORE_ADJ) return adj - 1;
  return adj;
}

/** Options of {@link containerResources}. */
export interface ContainerResourcesOptions {
  /** `cpuCFSQuota` (default true): set cpuQuota/cpuPeriod. */
  cpuCfsQuota?: boolean;
  /** `cpuCFSQuotaPeriod` in µs (default 100000). */
  cpuPeriodUs?: number;
}

/**
 * The CRI `LinuxContainerResources` of one container, as kubelet's `calculateLinuxResources`
 * plus the OOM score: cpuShares from the CPU request (from the limit when only a limit is
 * set; at least 2), memoryLimitInBytes from the memory limit (omitted when none),
 * cpuPeriod 100000 and cpuQuota from the CPU limit (0 when none), and oomScoreAdj.
 */
export function containerResources(
  pod: Pod,
  container: Container,
  memoryCapacityBytes: number,
  opts: ContainerResourcesOptions = {},
): LinuxContainerResources {
  const cpuRequest = quantityAmount('cpu', container.resources?.requests?.cpu);
  const cpuLimit = quantityAmount('cpu', container.resources?.limits?.cpu);
  const memoryLimit = quantityAmount('memory', container.resources?.limits?.memory);
  const out: LinuxContainerResources = {};
  // As kubelet: a request left unset next to a limit defaults to the limit, for pods that
  // predate apiserver defaulting.
  out.cpuShares = cpuRequest === 0 && cpuLimit !== 0 ? milliCpuToShares(cpuLimit) : milliCpuToShares(cpuRequest);
  if (memoryLimit !== 0) out.memoryLimitInBytes = memoryLimit;
  if (opts.cpuCfsQuota !== false) {
    const period = opts.cpuPeriodUs ?? QUOTA_PERIOD_US;
    out.cpuQuota = milliCpuToQuota(cpuLimit, period);
    out.cpuPeriod = period;
  }
  out.oomScoreAdj = oomScoreAdj(pod, container, memoryCapacityBytes);
  return out;
}
