/**
 * Field-selector attributes per kind: what kube-apiserver's `GetAttrs`/`ToSelectableFields`
 * expose and what its field label conversion functions accept, with their error texts.
 */
import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import { parseFieldSelector, type FieldSelector } from '../../lib/kube/selectors.js';

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (typeof v === 'object' && v !== null ? (v as Loose) : {});
const s = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** A kind's selectable fields: the extractor and whether it has its own conversion function. */
interface KindAttrs {
  /** Extra fields beyond metadata.name / metadata.namespace. */
  fields: Record<string, (o: Loose) => string>;
  /**
   * Kinds with their own field label conversion reject with `field label not supported: X`;
   * the others use the default metav1 conversion and its `"X" is not a known field selector` text.
   */
  customConversion: boolean;
  /** Cluster-scoped kinds with a custom conversion accept no `metadata.namespace`. */
  noNamespace?: boolean;
}

const ATTRS: Record<string, KindAttrs> = {
  '/Pod': {
    customConversion: true,
    fields: {
      'spec.nodeName': (o) => s(obj(o.spec).nodeName),
      'spec.restartPolicy': (o) => s(obj(o.spec).restartPolicy),
      'spec.schedulerName': (o) => s(obj(o.spec).schedulerName),
      'spec.serviceAccountName': (o) => s(obj(o.spec).serviceAccountName),
      'spec.hostNetwork': (o) => String(obj(o.spec).hostNetwork === true),
      'status.phase': (o) => s(obj(o.status).phase),
      // `status.podIP` is the first of podIPs (as kube's PodToSelectableFields reads it).
      'status.podIP': (o) => {
        const st = obj(o.status);
        const ips = Array.isArray(st.podIPs) ? (st.podIPs as Loose[]) : [];
        return ips.length ? s(ips[0].ip) : s(st.podIP);
      },
      'status.nominatedNodeName': (o) => s(obj(o.status).nominatedNodeName),
    },
  },
  '/Event': {
    customConversion: true,
    fields: {
      'involvedObject.kind': (o) => s(obj(o.involvedObject).kind),
      'involvedObject.namespace': (o) => s(obj(o.involvedObject).namespace),
      'involvedObject.name': (o) => s(obj(o.involvedObject).name),
      'involvedObject.uid': (o) => s(obj(o.involvedObject).uid),
      'involvedObject.apiVersion': (o) => s(obj(o.involvedObject).apiVersion),
      'involvedObject.resourceVersion': (o) => s(obj(o.involvedObject).resourceVersion),
      'involvedObject.fieldPath': (o) => s(obj(o.involvedObject).fieldPath),
      reason: (o) => s(o.reason),
      reportingComponent: (o) => s(o.reportingComponent),
      source: (o) => s(obj(o.source).component),
      type: (o) => s(o.type),
    },
  },
  '/Node': { customConversion: true, noNamespace: true, fields: { 'spec.unschedulable': (o) => String(obj(o.spec).unschedulable === true) } },
  '/Namespace': { customConversion: true, noNamespace: true, fields: { 'status.phase': (o) => s(obj(o.status).phase) } },
  '/Secret': { customConversion: true, fields: { type: (o) => s(o.type) } },
  'apps/ReplicaSet': { customConversion: true, fields: { 'status.replicas': (o) => String(obj(o.status).replicas ?? 0) } },
  // Kubernetes 1.31 added spec.clusterIP and spec.type as Service field selectors.
  '/Service': {
    customConversion: true,
    fields: { 'spec.clusterIP': (o) => s(obj(o.spec).clusterIP), 'spec.type': (o) => s(obj(o.spec).type) },
  },
};

function attrsOf(type: Pick<ResourceType, 'group' | 'kind'>): KindAttrs {
  return ATTRS[`${type.group}/${type.kind}`] ?? { customConversion: false, fields: {} };
}

/** The field names a fieldSelector may use on `type`, `metadata.name` first. */
export function allowedFieldSelectors(type: Pick<ResourceType, 'group' | 'kind' | 'namespaced'>): string[] {
  const a = attrsOf(type);
  const base = a.noNamespace ? ['metadata.name'] : ['metadata.name', 'metadata.namespace'];
  return [...base, ...Object.keys(a.fields)];
}

/**
 * The fields of `obj` that a fieldSelector may name, with their string values, as
 * kube-apiserver's `GetAttrs` exposes them per kind (`metadata.name`, `spec.nodeName`, …).
 */
export function selectableFields(type: ResourceType, o: KubeObject): Record<string, string> {
  const a = attrsOf(type);
  const out: Record<string, string> = { 'metadata.name': o.metadata?.name ?? '' };
  // Cluster-scoped objects expose metadata.namespace as "" (ObjectMetaFieldsSet does not add it,
  // and a missing field reads as "").
  out['metadata.namespace'] = type.namespaced ? (o.metadata?.namespace ?? '') : '';
  for (const [k, f] of Object.entries(a.fields)) out[k] = f(o as unknown as Loose);
  return out;
}

/** The error text kube-apiserver gives for a field selector naming `field` on `type`. */
export function unknownFieldSelectorMessage(type: Pick<ResourceType, 'group' | 'kind'>, field: string): string {
  if (attrsOf(type).customConversion) return `field label not supported: ${field}`;
  return `${JSON.stringify(field)} is not a known field selector: only "metadata.name", "metadata.namespace"`;
}

/**
 * Parses a field selector for a list or watch of `type` and checks every field it names.
 * Throws `ApiError` 400 BadRequest with kube's message for bad syntax or an unknown field.
 */
export function compileFieldSelector(type: ResourceType, selector: string | undefined): FieldSelector {
  let sel: FieldSelector;
  try {
    sel = parseFieldSelector(selector);
  } catch (err) {
    throw new ApiError(statusFailure(400, 'BadRequest', (err as Error).message), { cause: err });
  }
  const allowed = new Set(allowedFieldSelectors(type));
  for (const f of sel.fields) {
    if (!allowed.has(f)) throw new ApiError(statusFailure(400, 'BadRequest', unknownFieldSelectorMessage(type, f)));
  }
  return sel;
}

/** True when `o` matches the compiled field selector `sel`. */
export function matchesFieldSelector(type: ResourceType, o: KubeObject, sel: FieldSelector): boolean {
  return sel.empty || sel.matches(selectableFields(type, o));
}
