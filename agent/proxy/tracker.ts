/**
 * Change tracking: folds Service and endpoint-source events (EndpointSlices v1/v1beta1, or
 * Endpoints) into the desired model and remembers which Services changed since the last sync.
 *
 * Endpoint sources join their Service through the `kubernetes.io/service-name` label (or, for
 * Endpoints, the same name); several sources per Service merge. A source port joins a service
 * port by name and protocol, and its port number is the endpoint's port, so a named
 * `targetPort` arrives already resolved (the EndpointSlice controller resolves it per pod).
 * Informer objects are read, never kept: the tracker stores its own small derived records.
 *
 * Bad input (a malformed port, a cluster IP outside the service CIDR, an endpoint address of
 * the wrong family) is skipped, the rest of the object still applies, and each problem is
 * reported once through `onIssue` (the proxier logs it and records a Warning Event on the
 * Service); it is reported again only after it went away and came back.
 */
import { createHash } from 'node:crypto';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Logger } from '../../lib/log.js';
import {
  fromEndpoints,
  fromEndpointSlice,
  SERVICE_NAME_LABEL,
  type AnyEndpointSlice,
  type EndpointSourceRecord,
  type Issue,
  type SliceInfo,
} from './adapters.js';
import { canonicalIP, cidrContains, ipFamilyOf, parseCidr, parseIPv4, type Cidr } from './ip.js';
import type { EndpointInfo, Protocol, ServicePortInfo, ServicePortState } from './model.js';

export { SERVICE_NAME_LABEL } from './adapters.js';
export type { Issue } from './adapters.js';
/** Services carrying this label belong to another proxy; kube-proxy ignores them too. */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/** The Service an {@link Issue} is about. */
export interface ServiceRef {
  namespace: string;
  name: string;
  uid?: string;
}

/** A short digest of a derived record, to tell "changed" from "the same again" (kept instead of the JSON, for memory at scale). */
function signature(v: unknown): string {
  return createHash('sha1').update(JSON.stringify(v)).digest('base64');
}

function keyOf(ns: string | undefined, name: string | undefined): string {
  return `${ns ?? ''}/${name ?? ''}`;
}

/** The key of a service port: `namespace/name:portName/PROTOCOL`. */
export function servicePortKey(service: string, portName: string, protocol: Protocol): string {
  return `${service}:${portName}/${protocol}`;
}

/** Options of {@link analyzeService}. */
export interface AnalyzeOptions {
  /** The service CIDRs; a cluster IP outside them is skipped (`ClusterIPOutOfRange`). Empty: not checked. */
  serviceCIDRs?: readonly Cidr[];
}

/** What {@link analyzeService} found. */
export interface ServiceAnalysis {
  ports: ServicePortInfo[];
  issues: Issue[];
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

function validPort(v: unknown, allowZero: boolean): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v <= 65535 && (allowZero ? v >= 0 : v >= 1);
}

/**
 * The service ports the proxy handles for a Service and the problems found, or no ports when
 * the Service is not proxied (ExternalName, headless, no cluster IP yet, or another proxy's).
 */
export function analyzeService(svc: Service, opts: AnalyzeOptions = {}): ServiceAnalysis {
  const spec = svc.spec;
  const meta = svc.metadata ?? {};
  const issues: Issue[] = [];
  if (!spec || spec.type === 'ExternalName') return { ports: [], issues };
  if (meta.labels && SERVICE_PROXY_NAME_LABEL in meta.labels) return { ports: [], issues };
  const rawIPs = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip && ip !== 'None');
  const clusterIPs: string[] = [];
  for (const raw of rawIPs) {
    const ip = canonicalIP(raw);
    if (!ip) {
      issues.push({ reason: 'ClusterIPNotValid', message: `Cluster IP ${raw} is not a valid IP; please recreate service` });
      continue;
    }
    const fam = ipFamilyOf(ip);
    const cidrs = (opts.serviceCIDRs ?? []).filter((c) => c.family === fam);
    if (cidrs.length && !cidrs.some((c) => cidrContains(c, ip))) {
      // The wording of kube-apiserver's cluster IP repair controller.
      issues.push({ reason: 'ClusterIPOutOfRange', message: `Cluster IP ${ip} is not within the service CIDR; please recreate service` });
      continue;
    }
    clusterIPs.push(ip);
  }
  if (clusterIPs.length === 0) return { ports: [], issues };
  const service = keyOf(meta.namespace, meta.name);
  const canonList = (list: readonly (string | undefined)[], field: string): string[] => {
    const out: string[] = [];
    for (const raw of list) {
      if (!raw) continue;
      const ip = canonicalIP(raw);
      if (ip) out.push(ip);
      else issues.push({ reason: 'KubeProxyIncorrectIPVersion', message: `${raw} in ${field} is not a valid IP address` });
    }
    return out;
  };
  const externalIPs = canonList(spec.externalIPs ?? [], 'spec.externalIPs');
  const lbIPs = canonList((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip), 'status.loadBalancer.ingress');
  const out: ServicePortInfo[] = [];
  const seen = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    const field = `spec.ports[${i}]`;
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    const portName = p.name ?? '';
    if (!PROTOCOLS.has(protocol)) {
      issues.push({ reason: 'InvalidServicePort', message: `${field}.protocol: Unsupported value: ${JSON.stringify(p.protocol)}: supported values: "SCTP", "TCP", "UDP"` });
      return;
    }
    if (!validPort(p.port, false)) {
      issues.push({ reason: 'InvalidServicePort', message: `${field}.port: Invalid value: ${JSON.stringify(p.port)}: must be between 1 and 65535, inclusive` });
      return;
    }
    if (p.nodePort !== undefined && p.nodePort !== null && !validPort(p.nodePort, true)) {
      issues.push({ reason: 'InvalidServicePort', message: `${field}.nodePort: Invalid value: ${JSON.stringify(p.nodePort)}: must be between 0 and 65535, inclusive` });
      return;
    }
    const key = servicePortKey(service, portName, protocol);
    if (seen.has(key)) {
      issues.push({ reason: 'InvalidServicePort', message: `${field}: Duplicate value: port name ${JSON.stringify(portName)} with protocol ${protocol}` });
      return;
    }
    seen.add(key);
    out.push({
      key,
      service,
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      ...(meta.uid ? { uid: meta.uid } : {}),
      portName,
      protocol,
      port: p.port,
      clusterIPs,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerIPs: lbIPs,
      sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None',
      affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
      internalTrafficPolicy: spec.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      healthCheckNodePort: spec.healthCheckNodePort ?? 0,
    });
  });
  return { ports: out, issues };
}

/** The service ports of a Service (see {@link analyzeService}), without the issues. */
export function servicePortsOf(svc: Service, opts: AnalyzeOptions = {}): ServicePortInfo[] {
  return analyzeService(svc, opts).ports;
}

/** Options of {@link ServiceChangeTracker}. */
export interface TrackerOptions {
  logger: Logger;
  /** Service CIDRs (`a.b.c.d/n`, either family); cluster IPs outside them are skipped. */
  serviceCIDRs?: readonly string[];
  /** Called once per new problem with an input object, with the Service it concerns. */
  onIssue?: (svc: ServiceRef, issue: Issue) => void;
}

interface ServiceRecord {
  sig: string;
  ports: ServicePortInfo[];
  uid?: string;
}

/** Holds the current Services and endpoint sources (derived records) and the dirty set. */
export class ServiceChangeTracker {
  private readonly services = new Map<string, ServiceRecord>();
  private readonly sources = new Map<string, Map<string, { sig: string; infos: SliceInfo[] }>>();
  private readonly sourceOwner = new Map<string, string>();
  /** Service → origin (`service` or a source key) → issue texts last reported. */
  private readonly reported = new Map<string, Map<string, Set<string>>>();
  private dirty = new Set<string>();
  private readonly log: Logger;
  private readonly cidrs: Cidr[];
  private readonly onIssue?: (svc: ServiceRef, issue: Issue) => void;
  /** Service and endpoint changes seen (for kube-proxy's `*_changes_total` metrics). */
  readonly counts = { serviceChanges: 0, endpointChanges: 0 };

  constructor(opts: TrackerOptions) {
    this.log = opts.logger;
    this.cidrs = (opts.serviceCIDRs ?? []).map((c) => parseCidr(c)).filter((c): c is Cidr => !!c);
    this.onIssue = opts.onIssue;
  }

  /** Records a Service add or update. Returns true when the proxy-relevant part changed. */
  upsertService(svc: Service): boolean {
    const key = keyOf(svc.metadata?.namespace, svc.metadata?.name);
    const { ports, issues } = analyzeService(svc, { serviceCIDRs: this.cidrs });
    const uid = svc.metadata?.uid;
    this.report(key, 'service', issues, uid);
    if (ports.length === 0) return this.deleteServiceKey(key, false);
    const sig = signature(ports);
    if (this.services.get(key)?.sig === sig) return false;
    this.services.set(key, { sig, ports, ...(uid ? { uid } : {}) });
    this.dirty.add(key);
    this.counts.serviceChanges++;
    return true;
  }

  /** Records a Service deletion. Returns true when the proxy knew the Service. */
  deleteService(svc: Service): boolean {
    return this.deleteServiceKey(keyOf(svc.metadata?.namespace, svc.metadata?.name), true);
  }

  private deleteServiceKey(key: string, forget: boolean): boolean {
    if (forget) this.reported.get(key)?.delete('service');
    if (!this.services.delete(key)) return false;
    this.dirty.add(key);
    this.counts.serviceChanges++;
    return true;
  }

  /** Records an EndpointSlice (v1 or v1beta1) add or update. Returns true when endpoints may change. */
  upsertEndpointSlice(slice: AnyEndpointSlice): boolean {
    return this.upsertSource(fromEndpointSlice(slice));
  }

  /** Records an EndpointSlice deletion. */
  deleteEndpointSlice(slice: AnyEndpointSlice): boolean {
    return this.deleteSource(`slice:${keyOf(slice.metadata?.namespace, slice.metadata?.name)}`);
  }

  /** Records a core/v1 Endpoints add or update (the fallback source). */
  upsertEndpoints(ep: Endpoints): boolean {
    return this.upsertSource(fromEndpoints(ep));
  }

  /** Records a core/v1 Endpoints deletion. */
  deleteEndpoints(ep: Endpoints): boolean {
    return this.deleteSource(`endpoints:${keyOf(ep.metadata?.namespace, ep.metadata?.name)}`);
  }

  private upsertSource(rec: EndpointSourceRecord): boolean {
    let changed = false;
    const prevOwner = this.sourceOwner.get(rec.key);
    const owner = rec.service;
    if (prevOwner && prevOwner !== owner) changed = this.removeSource(prevOwner, rec.key) || changed;
    if (!owner) {
      if (!prevOwner) this.log.debug({ source: rec.key }, 'endpoint source without a Service ignored');
      return changed;
    }
    this.report(owner, rec.key, rec.issues, this.services.get(owner)?.uid);
    const sig = signature(rec.infos);
    let bySource = this.sources.get(owner);
    if (!bySource) this.sources.set(owner, (bySource = new Map()));
    this.sourceOwner.set(rec.key, owner);
    if (bySource.get(rec.key)?.sig === sig) return changed;
    bySource.set(rec.key, { sig, infos: rec.infos });
    this.dirty.add(owner);
    this.counts.endpointChanges++;
    return true;
  }

  private deleteSource(key: string): boolean {
    const owner = this.sourceOwner.get(key);
    return owner ? this.removeSource(owner, key) : false;
  }

  private removeSource(owner: string, key: string): boolean {
    this.sourceOwner.delete(key);
    this.reported.get(owner)?.delete(key);
    const bySource = this.sources.get(owner);
    if (!bySource?.delete(key)) return false;
    if (bySource.size === 0) this.sources.delete(owner);
    this.dirty.add(owner);
    this.counts.endpointChanges++;
    return true;
  }

  /** Reports issues of one origin that were not reported last time. */
  private report(service: string, origin: string, issues: Issue[], uid: string | undefined): void {
    let byOrigin = this.reported.get(service);
    const before = byOrigin?.get(origin);
    if (!issues.length) {
      if (before) byOrigin!.delete(origin);
      return;
    }
    const now = new Set(issues.map((i) => `${i.reason}\u0000${i.message}`));
    if (!byOrigin) this.reported.set(service, (byOrigin = new Map()));
    byOrigin.set(origin, now);
    const [namespace, name] = service.split('/');
    for (const i of issues) {
      if (before?.has(`${i.reason}\u0000${i.message}`)) continue;
      this.onIssue?.({ namespace, name, ...(uid ? { uid } : {}) }, i);
    }
  }

  /** True when some Service changed since the last {@link takeDirty}. */
  hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** Number of Services changed since the last {@link takeDirty}. */
  pendingCount(): number {
    return this.dirty.size;
  }

  /** Returns and clears the keys (`namespace/name`) of Services changed since the last call. */
  takeDirty(): string[] {
    const out = [...this.dirty];
    this.dirty = new Set();
    return out;
  }

  /** Marks Services dirty again (after a failed sync consumed them, or node facts changed). */
  markDirty(keys: Iterable<string>): void {
    for (const k of keys) this.dirty.add(k);
  }

  /** Keys of all Services the proxy handles. */
  serviceKeys(): string[] {
    return [...this.services.keys()];
  }

  /** The service ports of a Service joined with their endpoints; empty when not proxied. */
  servicePorts(service: string): ServicePortState[] {
    const svc = this.services.get(service);
    if (!svc) return [];
    const bySource = this.sources.get(service);
    return svc.ports.map((info) => {
      const list: EndpointInfo[] = [];
      if (bySource) {
        for (const { infos } of bySource.values()) {
          for (const s of infos) {
            if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
            let port: number | undefined;
            for (const p of s.ports) if (p.name === info.portName && p.protocol === info.protocol) port = p.port;
            if (port === undefined) continue;
            for (const e of s.endpoints) {
              const ep: EndpointInfo = { ip: e.ip, port, ready: e.ready, serving: e.serving, terminating: e.terminating };
              if (e.nodeName) ep.nodeName = e.nodeName;
              if (e.zone) ep.zone = e.zone;
              list.push(ep);
            }
          }
        }
      }
      return { info, endpoints: sortAndDedupe(list) };
    });
  }
}

/**
 * Sorts endpoints by (address, port), IPv4 numerically, and drops duplicates: during slice
 * churn an endpoint can sit in two slices, and the ready copy wins.
 */
function sortAndDedupe(list: EndpointInfo[]): EndpointInfo[] {
  if (list.length < 2) return list;
  const keys = new Map<EndpointInfo, number>();
  for (const e of list) keys.set(e, parseIPv4(e.ip) ?? -1);
  list.sort((a, b) => {
    const x = keys.get(a)!;
    const y = keys.get(b)!;
    if (x >= 0 !== y >= 0) return x >= 0 ? -1 : 1; // IPv4 first
    if (x !== y && x >= 0) return x - y;
    if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
    return a.port - b.port;
  });
  const out: EndpointInfo[] = [list[0]];
  for (let i = 1; i < list.length; i++) {
    const e = list[i];
    const last = out[out.length - 1];
    if (e.ip === last.ip && e.port === last.port) {
      if (!last.ready && e.ready) out[out.length - 1] = e;
    } else out.push(e);
  }
  return out;
}
