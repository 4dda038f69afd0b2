/**
 * Change tracking: folds Service and EndpointSlice events into the desired model and
 * remembers which Services changed since the last sync.
 *
 * EndpointSlices join their Service through the `kubernetes.io/service-name` label; several
 * slices per Service merge. A slice port joins a service port by name and protocol, and its
 * port number is the endpoint's port, so a named `targetPort` arrives already resolved (the
 * EndpointSlice controller resolves it per pod). Informer objects are read, never kept: the
 * tracker stores its own small derived records.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from '../../lib/log.js';
import type { EndpointInfo, Protocol, ServicePortInfo, ServicePortState } from './model.js';
import { parseIPv4 } from './nft/types.js';

/** Label that joins an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Services carrying this label belong to another proxy; kube-proxy ignores them too. */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

interface SlicePort {
  name: string;
  protocol: string;
  port?: number;
}

interface SliceEndpoint {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
}

interface SliceInfo {
  addressType: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

function keyOf(ns: string | undefined, name: string | undefined): string {
  return `${ns ?? ''}/${name ?? ''}`;
}

/** The key of a service port: `namespace/name:portName/PROTOCOL`. */
export function servicePortKey(service: string, portName: string, protocol: Protocol): string {
  return `${service}:${portName}/${protocol}`;
}

/**
 * The service ports the proxy handles for a Service, or an empty list when the Service is
 * not proxied (ExternalName, headless, no cluster IP yet, or owned by another proxy).
 */
export function servicePortsOf(svc: Service): ServicePortInfo[] {
  const spec = svc.spec;
  const meta = svc.metadata ?? {};
  if (!spec || spec.type === 'ExternalName') return [];
  if (meta.labels && SERVICE_PROXY_NAME_LABEL in meta.labels) return [];
  const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter(
    (ip) => ip && ip !== 'None',
  );
  if (clusterIPs.length === 0) return [];
  const service = keyOf(meta.namespace, meta.name);
  const lbIPs = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    const portName = p.name ?? '';
    out.push({
      key: servicePortKey(service, portName, protocol),
      service,
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      portName,
      protocol,
      port: p.port,
      clusterIPs,
      nodePort: p.nodePort ?? 0,
      externalIPs: spec.externalIPs ?? [],
      loadBalancerIPs: lbIPs,
      sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None',
      affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
      internalTrafficPolicy: spec.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
      healthCheckNodePort: spec.healthCheckNodePort ?? 0,
    });
  }
  return out;
}

function sliceInfoOf(slice: EndpointSlice): SliceInfo {
  return {
    addressType: slice.addressType,
    ports: (slice.ports ?? []).map((p) => ({
      name: p.name ?? '',
      protocol: p.protocol ?? 'TCP',
      ...(p.port !== undefined ? { port: p.port } : {}),
    })),
    endpoints: (slice.endpoints ?? [])
      .filter((e) => e.addresses?.length)
      .map((e) => {
        const ready = e.conditions?.ready ?? true;
        return {
          ip: e.addresses[0],
          ready,
          serving: e.conditions?.serving ?? ready,
          terminating: e.conditions?.terminating ?? false,
          ...(e.nodeName ? { nodeName: e.nodeName } : {}),
          ...(e.zone ? { zone: e.zone } : {}),
        };
      }),
  };
}

function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  const x = parseIPv4(a.ip);
  const y = parseIPv4(b.ip);
  if (x !== undefined && y !== undefined && x !== y) return x - y;
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.port - b.port;
}

/** Options of {@link ServiceChangeTracker}. */
export interface TrackerOptions {
  logger: Logger;
}

/** Holds the current Services and EndpointSlices (derived records) and the dirty set. */
export class ServiceChangeTracker {
  private readonly services = new Map<string, { sig: string; ports: ServicePortInfo[] }>();
  private readonly slices = new Map<string, Map<string, { sig: string; info: SliceInfo }>>();
  private readonly sliceOwner = new Map<string, string>();
  private dirty = new Set<string>();
  private readonly log: Logger;

  constructor(opts: TrackerOptions) {
    this.log = opts.logger;
  }

  /** Records a Service add or update. Returns true when the proxy-relevant part changed. */
  upsertService(svc: Service): boolean {
    const key = keyOf(svc.metadata?.namespace, svc.metadata?.name);
    const ports = servicePortsOf(svc);
    if (ports.length === 0) return this.deleteServiceKey(key);
    const sig = JSON.stringify(ports);
    if (this.services.get(key)?.sig === sig) return false;
    this.services.set(key, { sig, ports });
    this.dirty.add(key);
    return true;
  }

  /** Records a Service deletion. Returns true when the proxy knew the Service. */
  deleteService(svc: Service): boolean {
    return this.deleteServiceKey(keyOf(svc.metadata?.namespace, svc.metadata?.name));
  }

  private deleteServiceKey(key: string): boolean {
    if (!this.services.delete(key)) return false;
    this.dirty.add(key);
    return true;
  }

  /** Records an EndpointSlice add or update. Returns true when its Service's endpoints may change. */
  upsertEndpointSlice(slice: EndpointSlice): boolean {
    const ns = slice.metadata?.namespace;
    const sliceKey = keyOf(ns, slice.metadata?.name);
    const svcName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    let changed = false;
    const prevOwner = this.sliceOwner.get(sliceKey);
    const owner = svcName ? keyOf(ns, svcName) : undefined;
    if (prevOwner && prevOwner !== owner) changed = this.removeSlice(prevOwner, sliceKey) || changed;
    if (!owner) {
      if (!prevOwner) this.log.debug({ slice: sliceKey }, 'EndpointSlice without a service-name label ignored');
      return changed;
    }
    const info = sliceInfoOf(slice);
    const sig = JSON.stringify(info);
    let bySlice = this.slices.get(owner);
    if (!bySlice) this.slices.set(owner, (bySlice = new Map()));
    if (bySlice.get(sliceKey)?.sig === sig) return changed;
    bySlice.set(sliceKey, { sig, info });
    this.sliceOwner.set(sliceKey, owner);
    this.dirty.add(owner);
    return true;
  }

  /** Records an EndpointSlice deletion. */
  deleteEndpointSlice(slice: EndpointSlice): boolean {
    const sliceKey = keyOf(slice.metadata?.namespace, slice.metadata?.name);
    const owner = this.sliceOwner.get(sliceKey);
    return owner ? this.removeSlice(owner, sliceKey) : false;
  }

  private removeSlice(owner: string, sliceKey: string): boolean {
    this.sliceOwner.delete(sliceKey);
    const bySlice = this.slices.get(owner);
    if (!bySlice?.delete(sliceKey)) return false;
    if (bySlice.size === 0) this.slices.delete(owner);
    this.dirty.add(owner);
    return true;
  }

  /** True when some Service changed since the last {@link takeDirty}. */
  hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** Returns and clears the keys (`namespace/name`) of Services changed since the last call. */
  takeDirty(): string[] {
    const out = [...this.dirty];
    this.dirty = new Set();
    return out;
  }

  /** Marks Services dirty again (after a failed sync consumed them). */
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
    const bySlice = this.slices.get(service);
    return svc.ports.map((info) => {
      const seen = new Map<string, EndpointInfo>();
      for (const { info: s } of bySlice?.values() ?? []) {
        if (s.addressType === 'FQDN') continue;
        const sp = s.ports.find((p) => p.name === info.portName && p.protocol === info.protocol);
        if (!sp || sp.port === undefined) continue;
        for (const e of s.endpoints) {
          const ep: EndpointInfo = { ...e, port: sp.port };
          const k = `${e.ip}:${sp.port}`;
          const prev = seen.get(k);
          // During slice churn an endpoint can sit in two slices; prefer the ready copy.
          if (!prev || (!prev.ready && ep.ready)) seen.set(k, ep);
        }
      }
      return { info, endpoints: [...seen.values()].sort(compareEndpoints) };
    });
  }
}
