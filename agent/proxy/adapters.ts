/**
 * Endpoint sources in one shape. kube-proxy reads endpoints from EndpointSlices
 * (`discovery.k8s.io/v1`, or `v1beta1` on Kubernetes ≤ 1.20) or, without slices, from core/v1
 * Endpoints; each is turned here into the same small records ({@link SliceInfo}), so the
 * tracker and everything after it never see the API shapes.
 *
 * - v1: `nodeName`, `zone`, `conditions.{ready,serving,terminating}`.
 * - v1beta1 (1.20): `topology["kubernetes.io/hostname"]` (and `nodeName` when the 1.20 alpha
 *   gate set it), `topology["topology.kubernetes.io/zone"]`, `conditions.ready` (serving and
 *   terminating were alpha in 1.20 and are usually absent: serving defers to ready).
 * - Endpoints: `subsets[].addresses` are ready, `notReadyAddresses` are not (Endpoints have no
 *   terminating state); a subset's addresses are split by family.
 *
 * Addresses are canonicalized. An address that is not of the slice's `addressType` (or not an
 * address at all) is dropped and reported as an {@link Issue} against the Service, with
 * kube-proxy's reason `KubeProxyIncorrectIPVersion`.
 */
import type { Endpoints, ObjectReference } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { canonicalIP, ipFamilyOf } from './ip.js';

/** Label that joins an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Something wrong with an input object, reported once as a Warning Event on its Service. */
export interface Issue {
  /** Event reason, as kube components word it (`KubeProxyIncorrectIPVersion`, `ClusterIPOutOfRange`…). */
  reason: string;
  message: string;
}

/** One port of an endpoint source. */
export interface SlicePort {
  name: string;
  protocol: string;
  port?: number;
}

/** One endpoint of an endpoint source. */
export interface SliceEndpoint {
  /** Canonical address. */
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
}

/** A group of endpoints of one address type sharing one port list. */
export interface SliceInfo {
  addressType: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** An endpoint source (one slice or one Endpoints object) reduced to what the proxy uses. */
export interface EndpointSourceRecord {
  /** Unique key of the source (`slice:ns/name` or `endpoints:ns/name`). */
  key: string;
  /** The Service it belongs to (`ns/name`), or undefined when it names none. */
  service?: string;
  infos: SliceInfo[];
  issues: Issue[];
}

/** The v1beta1 EndpointSlice endpoint, as Kubernetes 1.20 serves it. */
export interface EndpointV1beta1 {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: ObjectReference;
  topology?: Record<string, string>;
  nodeName?: string;
}

/** The v1beta1 EndpointSlice (`discovery.k8s.io/v1beta1`), as Kubernetes 1.20 serves it. */
export interface EndpointSliceV1beta1 {
  apiVersion?: string;
  kind?: string;
  metadata?: EndpointSlice['metadata'];
  addressType: string;
  endpoints?: EndpointV1beta1[];
  ports?: EndpointSlice['ports'];
}

/** Either EndpointSlice version. */
export type AnyEndpointSlice = EndpointSlice | EndpointSliceV1beta1;

const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

function nsName(ns: string | undefined, name: string | undefined): string {
  return `${ns ?? ''}/${name ?? ''}`;
}

function incorrectVersion(addr: string, where: string, want: string): Issue {
  const fam = ipFamilyOf(addr);
  return {
    reason: 'KubeProxyIncorrectIPVersion',
    message: fam ? `${addr} in ${where} has incorrect IP version (want ${want})` : `${addr} in ${where} is not a valid IP address`,
  };
}

/** Turns an EndpointSlice (v1 or v1beta1) into an {@link EndpointSourceRecord}. */
export function fromEndpointSlice(slice: AnyEndpointSlice): EndpointSourceRecord {
  const meta = slice.metadata ?? {};
  const svcName = meta.labels?.[SERVICE_NAME_LABEL];
  const rec: EndpointSourceRecord = {
    key: `slice:${nsName(meta.namespace, meta.name)}`,
    ...(svcName ? { service: nsName(meta.namespace, svcName) } : {}),
    infos: [],
    issues: [],
  };
  const addressType = slice.addressType;
  const ports: SlicePort[] = (slice.ports ?? []).map((p) => ({
    name: p.name ?? '',
    protocol: p.protocol ?? 'TCP',
    ...(p.port !== undefined && p.port !== null ? { port: p.port } : {}),
  }));
  const endpoints: SliceEndpoint[] = [];
  if (addressType === 'IPv4' || addressType === 'IPv6') {
    const where = `EndpointSlice ${nsName(meta.namespace, meta.name)}`;
    for (const raw of (slice.endpoints ?? []) as Array<EndpointV1beta1 & { zone?: string; deprecatedTopology?: Record<string, string> }>) {
      if (!raw.addresses?.length) continue;
      const addr = raw.addresses[0];
      const ip = canonicalIP(addr);
      if (!ip || ipFamilyOf(ip) !== addressType) {
        rec.issues.push(incorrectVersion(addr, where, addressType));
        continue;
      }
      const ready = raw.conditions?.ready ?? true;
      const topo = raw.topology ?? raw.deprecatedTopology;
      const nodeName = raw.nodeName ?? topo?.[HOSTNAME_LABEL];
      const zone = raw.zone ?? topo?.[ZONE_LABEL];
      endpoints.push({
        ip,
        ready,
        serving: raw.conditions?.serving ?? ready,
        terminating: raw.conditions?.terminating ?? false,
        ...(nodeName ? { nodeName } : {}),
        ...(zone ? { zone } : {}),
      });
    }
  }
  rec.infos.push({ addressType, ports, endpoints });
  return rec;
}

/**
 * Turns a core/v1 Endpoints object into an {@link EndpointSourceRecord} (the fallback when the
 * apiserver serves no EndpointSlices). Its Service has the same name.
 */
export function fromEndpoints(ep: Endpoints): EndpointSourceRecord {
  const meta = ep.metadata ?? {};
  const key = nsName(meta.namespace, meta.name);
  const rec: EndpointSourceRecord = { key: `endpoints:${key}`, service: key, infos: [], issues: [] };
  const where = `Endpoints ${key}`;
  for (const subset of ep.subsets ?? []) {
    const ports: SlicePort[] = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }));
    const byFamily: Record<string, SliceEndpoint[]> = { IPv4: [], IPv6: [] };
    const add = (list: typeof subset.addresses, ready: boolean): void => {
      for (const a of list ?? []) {
        const ip = canonicalIP(a.ip);
        const fam = ip ? ipFamilyOf(ip) : undefined;
        if (!ip || !fam) {
          rec.issues.push(incorrectVersion(a.ip, where, 'IPv4 or IPv6'));
          continue;
        }
        byFamily[fam].push({ ip, ready, serving: ready, terminating: false, ...(a.nodeName ? { nodeName: a.nodeName } : {}) });
      }
    };
    add(subset.addresses, true);
    add(subset.notReadyAddresses, false);
    for (const fam of ['IPv4', 'IPv6']) {
      if (byFamily[fam].length) rec.infos.push({ addressType: fam, ports, endpoints: byFamily[fam] });
    }
  }
  return rec;
}
