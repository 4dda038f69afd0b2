/**
 * The API resources Skiff knows, described once and shared by the clients (agent,
 * controllers, tests) and by the companion apiserver's discovery documents.
 */

/** One REST resource: where it lives and how discovery describes it. */
export interface ResourceType {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name as it appears in the URL (`pods`). */
  readonly resource: string;
  /** Lower-case singular (`pod`). */
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Verbs discovery advertises. */
  readonly verbs: readonly string[];
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  /** Subresources served, e.g. `status`, `binding`, `scale`, `log`. */
  readonly subresources?: readonly string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

function rt(r: Omit<ResourceType, 'verbs'> & { verbs?: readonly string[] }): ResourceType {
  return Object.freeze({ verbs: ALL_VERBS, ...r });
}

/** `apiVersion` string of a resource type (`v1`, `apps/v1`). */
export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export const Namespaces = rt({ group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'], subresources: ['status', 'finalize'] });
export const Nodes = rt({ group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: ['status', 'proxy'] });
export const Pods = rt({ group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'eviction', 'proxy'] });
export const Services = rt({ group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', namespaced: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['svc'], categories: ['all'], subresources: ['status', 'proxy'] });
export const Endpoints = rt({ group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] });
export const ConfigMaps = rt({ group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] });
export const Secrets = rt({ group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true });
export const ServiceAccounts = rt({ group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], subresources: ['token'] });
export const Events = rt({ group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'] });
export const Deployments = rt({ group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] });
export const ReplicaSets = rt({ group: 'apps', version: 'v1', resource: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] });
export const EndpointSlices = rt({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true });
/** EndpointSlice as served by Kubernetes 1.20 (v1 arrived in 1.21). */
export const EndpointSlicesV1beta1 = rt({ group: 'discovery.k8s.io', version: 'v1beta1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true });
export const Leases = rt({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', singular: 'lease', kind: 'Lease', namespaced: true });

/** Every resource the companion control plane serves, in discovery order. */
export const SERVED_RESOURCES: readonly ResourceType[] = Object.freeze([
  Namespaces, Nodes, Pods, Services, Endpoints, ConfigMaps, Secrets, ServiceAccounts, Events,
  Deployments, ReplicaSets, EndpointSlices, Leases,
]);

/**
 * The URL path of a collection or object: `/api/v1/namespaces/ns/pods/name/status`.
 * `namespace` is ignored for cluster-scoped types; omit it to address all namespaces.
 */
export function resourcePath(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  if (t.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${t.resource}`;
  if (name !== undefined) {
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}
