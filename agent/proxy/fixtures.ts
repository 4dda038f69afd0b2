/**
 * Builders of Service and EndpointSlice objects for the proxy's tests (unit and
 * integration). Not part of the proxy's public face.
 */
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { SERVICE_NAME_LABEL } from './tracker.js';

/** Options of {@link makeService}. */
export interface ServiceFixture {
  namespace?: string;
  name: string;
  clusterIP: string;
  ports: Array<Partial<ServicePort> & { port: number }>;
  type?: string;
  labels?: Record<string, string>;
}

/** A ClusterIP Service. */
export function makeService(f: ServiceFixture): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: f.namespace ?? 'default', name: f.name, ...(f.labels ? { labels: f.labels } : {}) },
    spec: {
      type: f.type ?? 'ClusterIP',
      clusterIP: f.clusterIP,
      clusterIPs: f.clusterIP === 'None' ? ['None'] : [f.clusterIP],
      ports: f.ports.map((p) => ({ protocol: 'TCP', ...p })),
    },
  };
}

/** One endpoint of {@link makeSlice}. */
export interface EndpointFixture {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
}

/** Options of {@link makeSlice}. */
export interface SliceFixture {
  namespace?: string;
  /** Slice name; defaults to `<service>-abc`. */
  name?: string;
  service: string;
  ports: Array<{ name?: string; port: number; protocol?: string }>;
  endpoints: Array<string | EndpointFixture>;
  addressType?: string;
}

/** An EndpointSlice labelled for its Service. */
export function makeSlice(f: SliceFixture): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: f.namespace ?? 'default',
      name: f.name ?? `${f.service}-abc`,
      labels: { [SERVICE_NAME_LABEL]: f.service },
    },
    addressType: f.addressType ?? 'IPv4',
    ports: f.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: f.endpoints.map((e) => {
      const ep = typeof e === 'string' ? { ip: e } : e;
      const conditions: Record<string, boolean> = {};
      if (ep.ready !== undefined) conditions.ready = ep.ready;
      if (ep.serving !== undefined) conditions.serving = ep.serving;
      if (ep.terminating !== undefined) conditions.terminating = ep.terminating;
      return { addresses: [ep.ip], conditions, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}) };
    }),
  };
}
