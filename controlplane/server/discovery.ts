/**
 * Discovery documents, legacy (`APIVersions`, `APIGroupList`, `APIGroup`,
 * `APIResourceList`) and aggregated (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`,
 * which kubectl 1.32 asks for first), all derived from `SERVED_RESOURCES` plus the create-only
 * review APIs (`tokenreviews`, `subjectaccessreviews`, `selfsubjectaccessreviews`).
 */
import { SERVED_RESOURCES, type ResourceType } from '../../lib/kube/resources.js';
import { REVIEW_RESOURCES } from '../../lib/kube/review-resources.js';

/** Every resource discovery lists: the stored ones and the review APIs. */
export const DISCOVERED_RESOURCES: readonly ResourceType[] = Object.freeze([...SERVED_RESOURCES, ...REVIEW_RESOURCES]);

interface SubresourceInfo {
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

/** What each subresource is, as kube-apiserver's discovery describes it. */
function subresourceInfo(t: ResourceType, sub: string): SubresourceInfo {
  switch (sub) {
    case 'status':
      return { kind: t.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { kind: 'Binding', verbs: ['create'] };
    case 'eviction':
      return { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'attach':
      return { kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    case 'portforward':
      return { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'proxy':
      return { kind: `${t.kind}ProxyOptions`, verbs: ['create', 'delete', 'get', 'patch', 'update'] };
    case 'finalize':
      return { kind: t.kind, verbs: ['update'] };
    case 'token':
      return { kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] };
    default:
      return { kind: t.kind, verbs: ['get'] };
  }
}

/** Group versions served, core first, in discovery order. */
export function servedGroupVersions(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  for (const t of DISCOVERED_RESOURCES) if (!out.some((g) => g.group === t.group && g.version === t.version)) out.push({ group: t.group, version: t.version });
  return out;
}

/** `/api`. */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string): object {
  const versions = servedGroupVersions()
    .filter((g) => g.group === group)
    .map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** `/apis`. */
export function apiGroupList(): object {
  const groups = [...new Set(servedGroupVersions().map((g) => g.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

/** `/apis/<group>`, or undefined when not served. */
export function apiGroupDoc(group: string): object | undefined {
  if (!servedGroupVersions().some((g) => g.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
export function apiResourceList(group: string, version: string): object | undefined {
  const types = DISCOVERED_RESOURCES.filter((t) => t.group === group && t.version === version);
  if (!types.length) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    const r: Record<string, unknown> = { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: [...t.verbs] };
    if (t.shortNames?.length) r.shortNames = [...t.shortNames];
    if (t.categories?.length) r.categories = [...t.categories];
    resources.push(r);
    for (const sub of t.subresources ?? []) {
      const info = subresourceInfo(t, sub);
      const s: Record<string, unknown> = { name: `${t.resource}/${sub}`, singularName: '', namespaced: t.namespaced, kind: info.kind, verbs: info.verbs };
      if (info.group !== undefined) {
        s.group = info.group;
        s.version = info.version;
      }
      resources.push(s);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

/** Aggregated discovery for `/api` (core) or `/apis` (every other group). */
export function aggregatedDiscovery(core: boolean, version: 'v2' | 'v2beta1'): object {
  const gvs = servedGroupVersions().filter((g) => (g.group === '') === core);
  const groups = [...new Set(gvs.map((g) => g.group))];
  const items = groups.map((group) => ({
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: gvs
      .filter((g) => g.group === group)
      .map((g) => ({
        version: g.version,
        resources: DISCOVERED_RESOURCES.filter((t) => t.group === g.group && t.version === g.version).map((t) => {
          const r: Record<string, unknown> = {
            resource: t.resource,
            responseKind: { group: t.group, version: t.version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: [...t.verbs],
          };
          if (t.shortNames?.length) r.shortNames = [...t.shortNames];
          if (t.categories?.length) r.categories = [...t.categories];
          if (t.subresources?.length) {
            r.subresources = t.subresources.map((sub) => {
              const info = subresourceInfo(t, sub);
              return {
                subresource: sub,
                responseKind: { group: info.group ?? t.group, version: info.version ?? t.version, kind: info.kind },
                verbs: info.verbs,
              };
            });
          }
          return r;
        }),
        freshness: 'Current',
      })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
