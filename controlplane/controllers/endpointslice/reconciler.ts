/**
 * The EndpointSlice reconciler (kube's `pkg/controller/endpointslice/reconciler.go`), as a
 * pure function from (Service, desired endpoints, existing slices) to the slices to create,
 * update and delete, with kube's churn-minimising packing:
 *
 * 1. keep every existing endpoint that is still desired in its slice (updating it in place
 *    when its conditions changed), dropping the ones that are not;
 * 2. fill the slices that change anyway with new endpoints;
 * 3. put what is left into the one unchanged slice that can take all of it, if any;
 * 4. create new slices of at most `maxEndpointsPerSlice` for the rest;
 * 5. a Service without endpoints keeps one empty placeholder slice per address type;
 * 6. creates paired with deletes become updates of the deleted slices (fewer writes).
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { LABEL_HEADLESS, TRIGGER_TIME_ANNOTATION, stableJson as stable } from '../common/endpoint-util.js';
import { newControllerRef } from '../common/owners.js';
import { Services } from '../../../lib/kube/resources.js';

/** Label 'kubernetes.io/service-name'. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Label 'endpointslice.kubernetes.io/managed-by'. */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export { LABEL_HEADLESS };
/** The `managed-by` value of slices this controller owns. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export { TRIGGER_TIME_ANNOTATION };

/** Desired endpoints sharing one address type and one set of ports. */
export interface EndpointGroup {
  addressType: string;
  ports: EndpointPort[];
  /** Endpoints by {@link endpointKey}. */
  endpoints: Map<string, Endpoint>;
}

/** What to write. */
export interface ReconcileResult {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** Identity of an endpoint (kube's `hashEndpoint`): addresses, hostname and target pod. */
export function endpointKey(ep: Endpoint): string {
  return stable([[...ep.addresses].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

/** Ports sorted canonically, and their key (kube's `PortMapKey`). */
export function sortPorts(ports: readonly EndpointPort[]): EndpointPort[] {
  return [...ports].sort((a, b) => stable(a).localeCompare(stable(b)));
}

/** The key of a set of ports. */
export function portsKey(ports: readonly EndpointPort[] | undefined): string {
  return stable(sortPorts(ports ?? []));
}

/** Same endpoint and nothing else differs (conditions, node, zone, hints, target). */
function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return stable(a) === stable(b);
}

/** The labels a slice of `svc` carries, and whether `slice`'s non-reserved labels differ. */
export function sliceLabels(svc: Service, slice?: EndpointSlice): { labels: Record<string, string>; changed: boolean } {
  const reserved = (k: string): boolean => k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
  const cur: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata?.labels ?? {})) if (!reserved(k)) cur[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (!reserved(k)) labels[k] = v;
  const changed = stable(cur) !== stable(labels);
  const ipSet = !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';
  if (!ipSet) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata?.name ?? '';
  labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  const headlessChanged = (slice?.metadata?.labels?.[LABEL_HEADLESS] !== undefined) !== !ipSet;
  return { labels, changed: changed || headlessChanged };
}

/** A new (unnamed) slice of `svc`. */
export function newSlice(svc: Service, addressType: string, ports: EndpointPort[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata?.name}-`,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(svc).labels,
      ownerReferences: [newControllerRef(svc, Services)],
    },
    addressType: addressType as EndpointSlice['addressType'],
    endpoints: [],
    ports,
  };
}

function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return !!slice.metadata?.ownerReferences?.some((r) => r.kind === 'Service' && r.uid === svc.metadata?.uid);
}

function isPlaceholder(slice: EndpointSlice, svc: Service): boolean {
  return (slice.endpoints ?? []).length === 0 && (slice.ports ?? []).length === 0 && !sliceLabels(svc, slice).changed;
}

function sortedRemaining(desired: Map<string, Endpoint>): [string, Endpoint][] {
  return [...desired].sort(([ka, a], [kb, b]) => {
    const na = a.targetRef?.name ?? '';
    const nb = b.targetRef?.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function reconcilePortMapping(
  svc: Service,
  existing: readonly EndpointSlice[],
  group: EndpointGroup,
  max: number,
  out: ReconcileResult,
): void {
  const desired = new Map(group.endpoints);
  const toUpdate: EndpointSlice[] = [];
  const unchanged: EndpointSlice[] = [];
  // 1. Keep what is still desired where it is.
  for (const slice of existing) {
    const kept: Endpoint[] = [];
    let needsUpdate = false;
    for (const ep of slice.endpoints ?? []) {
      const k = endpointKey(ep);
      const want = desired.get(k);
      if (want) {
        if (!endpointsEqual(want, ep)) needsUpdate = true;
        kept.push(want);
        desired.delete(k);
      } else {
        needsUpdate = true;
      }
    }
    const { labels, changed } = sliceLabels(svc, slice);
    if (needsUpdate || changed) {
      if (kept.length === 0) out.delete.push(slice);
      else toUpdate.push({ ...structuredClone(slice), metadata: { ...structuredClone(slice.metadata ?? {}), labels }, endpoints: kept });
    } else {
      unchanged.push(slice);
    }
  }
  // 2. Fill the slices that change anyway.
  if (desired.size && toUpdate.length) {
    toUpdate.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of toUpdate) {
      for (const [k, ep] of sortedRemaining(desired)) {
        if (s.endpoints.length >= max) break;
        s.endpoints.push(ep);
        desired.delete(k);
      }
    }
  }
  // 3. One unchanged slice that can take everything left.
  if (desired.size && unchanged.length) {
    unchanged.sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
    const i = unchanged.findIndex((s) => (s.endpoints?.length ?? 0) + desired.size <= max);
    if (i >= 0) {
      const s = structuredClone(unchanged[i]) as EndpointSlice;
      s.endpoints = [...(s.endpoints ?? []), ...sortedRemaining(desired).map(([, ep]) => ep)];
      desired.clear();
      toUpdate.push(s);
      unchanged.splice(i, 1);
    }
  }
  // 4. New slices for the rest.
  const rest = sortedRemaining(desired).map(([, ep]) => ep);
  for (let i = 0; i < rest.length; i += max) {
    const s = newSlice(svc, group.addressType, group.ports);
    s.endpoints = rest.slice(i, i + max);
    out.create.push(s);
  }
  out.update.push(...toUpdate);
}

/**
 * Computes the writes that make the Service's slices match `groups`. `existing` are the
 * slices labelled with the Service's name and managed by this controller.
 */
export function reconcileSlices(
  svc: Service,
  addressTypes: readonly string[],
  groups: readonly EndpointGroup[],
  existing: readonly EndpointSlice[],
  max: number,
  triggerTime?: string,
): ReconcileResult {
  const out: ReconcileResult = { create: [], update: [], delete: [] };
  for (const slice of existing) if (!addressTypes.includes(slice.addressType)) out.delete.push(slice);
  for (const at of addressTypes) {
    const res: ReconcileResult = { create: [], update: [], delete: [] };
    const ofType = existing.filter((s) => s.addressType === at);
    const byPorts = new Map<string, EndpointSlice[]>();
    for (const s of ofType) {
      if (!ownedBy(s, svc)) {
        res.delete.push(s);
        continue;
      }
      const k = portsKey(s.ports);
      (byPorts.get(k) ?? byPorts.set(k, []).get(k)!).push(s);
    }
    const wanted = groups.filter((g) => g.addressType === at);
    const wantedKeys = new Set(wanted.map((g) => portsKey(g.ports)));
    for (const g of wanted) reconcilePortMapping(svc, byPorts.get(portsKey(g.ports)) ?? [], g, max, res);
    for (const [k, slices] of byPorts) if (!wantedKeys.has(k)) res.delete.push(...slices);
    // 5. Placeholder: a Service with no endpoints still has one (empty) slice.
    if (ofType.length === res.delete.length && res.create.length === 0) {
      if (res.delete.length === 1 && isPlaceholder(res.delete[0], svc)) res.delete = [];
      else res.create.push(newSlice(svc, at, []));
    }
    // 6. Turn create+delete pairs into updates of the slices that would be deleted.
    for (let i = 0; i < res.delete.length && res.create.length > 0; ) {
      const del = res.delete[i];
      if (del.addressType === at && ownedBy(del, svc)) {
        const c = res.create.pop()!;
        res.update.push({ ...c, metadata: { ...structuredClone(del.metadata ?? {}), labels: c.metadata?.labels, ownerReferences: c.metadata?.ownerReferences, generateName: undefined } });
        res.delete.splice(i, 1);
      } else {
        i++;
      }
    }
    out.create.push(...res.create);
    out.update.push(...res.update);
    out.delete.push(...res.delete);
  }
  if (triggerTime) {
    for (const s of [...out.create, ...out.update]) s.metadata = { ...s.metadata, annotations: { ...(s.metadata?.annotations ?? {}), [TRIGGER_TIME_ANNOTATION]: triggerTime } };
  }
  return out;
}
