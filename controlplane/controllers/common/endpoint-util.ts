/**
 * What the Endpoints and EndpointSlice controllers share (kube's
 * `pkg/controller/util/endpoint` and `endpointslice/util`): which pods back a Service, which
 * Services select a pod, how a Service port's `targetPort` resolves on a pod, when an endpoint
 * gets a hostname, and the order-independent JSON both compare their objects by.
 */
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { selectorFromSet } from '../../../lib/kube/selectors.js';
import { BY_NAMESPACE } from './informers.js';
import { isPodTerminal } from './pods.js';

/** Annotation 'endpoints.kubernetes.io/last-change-trigger-time'. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Label 'service.kubernetes.io/headless'. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';

/**
 * JSON with sorted keys, for comparing endpoints, ports and subsets: keys whose value is
 * `undefined` or `null` are left out, so a missing field and a null one compare equal.
 */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined && o[k] !== null)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}

/** The pods in `namespace` whose labels `selector` (a Service's `spec.selector`) matches. */
export function podsSelectedBy(pods: Informer<Pod>, namespace: string, selector: Record<string, string>): Pod[] {
  const sel = selectorFromSet(selector);
  return pods.byIndex(BY_NAMESPACE, namespace).filter((p) => sel.matches(p.metadata?.labels));
}

/** The Services in `pod`'s namespace whose selector (if they have one) matches the pod's labels. */
export function servicesSelectingPod(services: Informer<Service>, pod: Pod): Service[] {
  return services.byIndex(BY_NAMESPACE, pod.metadata?.namespace ?? '').filter((svc) => {
    const sel = svc.spec?.selector;
    return !!sel && selectorFromSet(sel).matches(pod.metadata?.labels);
  });
}

/**
 * `ShouldPodBeInEndpoints`: not terminal, has an IP, and (unless `includeTerminating`) not
 * being deleted.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/**
 * `FindPort`: a numeric `targetPort` as is (the Service port when unset); a named one through
 * the pod's container ports (and sidecar init containers) with the same name and protocol.
 * Undefined when the pod has no such port.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** `ShouldSetHostname`: the pod names a hostname and its subdomain is this Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/** The pod's IPs of one family (`IPv4` or `IPv6`). */
export function podIPsOfFamily(pod: Pod, family: 'IPv4' | 'IPv6'): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip ?? '') : pod.status?.podIP ? [pod.status.podIP] : [];
  return ips.filter((ip) => ip && (family === 'IPv6') === ip.includes(':'));
}

/** The IP families a Service's endpoints use (`spec.ipFamilies`, default IPv4). */
export function serviceAddressTypes(svc: Service): ('IPv4' | 'IPv6')[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f): f is 'IPv4' | 'IPv6' => f === 'IPv4' || f === 'IPv6');
  return fams.length ? fams : ['IPv4'];
}

/**
 * The `endpoints.kubernetes.io/last-change-trigger-time` of a Service's endpoints: the latest
 * of the Service's creation and its pods' creation / readiness changes.
 *
 * Deviation: kube tracks, per sync, the earliest unsynced change; the latest known change is
 * close enough for a lightweight control plane.
 */
export function lastChangeTriggerTime(svc: Service, pods: readonly Pod[]): string | undefined {
  let latest = Date.parse(svc.metadata?.creationTimestamp ?? '') || 0;
  for (const p of pods) {
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    for (const t of [p.metadata?.creationTimestamp, ready]) {
      const ms = Date.parse(t ?? '');
      if (ms && ms > latest) latest = ms;
    }
  }
  return latest ? new Date(latest).toISOString().replace(/\.000Z$/, 'Z') : undefined;
}
