/**
 * A minimal OpenAPI v3 (`/openapi/v3`, `/openapi/v3/<api/v1|apis/g/v>`): paths and
 * operations only, no schemas. It exists for one client question: kubectl's
 * `--validate=strict` asks whether the PATCH operation of a GroupVersionKind (matched
 * through `x-kubernetes-group-version-kind`) declares the `fieldValidation` query parameter;
 * when it does, kubectl skips client-side validation and lets the server validate.
 *
 * Deviation: schemas are absent, so `kubectl explain` has nothing to show. PATCH request
 * bodies deliberately do not list `application/strategic-merge-patch+json`: kubectl would
 * then compute strategic merge patches from these (empty) schemas instead of from its
 * compiled-in types.
 */
import { createHash } from 'node:crypto';
import type { ResourceType } from '../../lib/kube/resources.js';
import { DISCOVERED_RESOURCES, servedGroupVersions } from './discovery.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const q = (name: string, type = 'string', description = ''): object => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const pathParam = (name: string): object => ({ name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } });

const WRITE_PARAMS = [q('dryRun'), q('fieldManager'), q('fieldValidation', 'string', 'Strict, Warn or Ignore: how the server treats unknown and duplicate fields')];
const LIST_PARAMS = [q('allowWatchBookmarks', 'boolean'), q('continue'), q('fieldSelector'), q('labelSelector'), q('limit', 'integer'), q('resourceVersion'), q('resourceVersionMatch'), q('sendInitialEvents', 'boolean'), q('timeoutSeconds', 'integer'), q('watch', 'boolean')];

function op(action: string, gvk: { group: string; version: string; kind: string }, params: object[], body?: string[]): object {
  const o: Record<string, unknown> = {
    parameters: params,
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  };
  if (body) o.requestBody = { content: Object.fromEntries(body.map((b) => [b, { schema: { type: 'object' } }])), required: true };
  return o;
}

function resourcePaths(t: ResourceType): Record<string, object> {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const coll = t.namespaced ? `${base}/namespaces/{namespace}/${t.resource}` : `${base}/${t.resource}`;
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const nsParams = t.namespaced ? [pathParam('namespace')] : [];
  const patchBodies = ['application/json-patch+json', 'application/merge-patch+json'];
  const paths: Record<string, object> = {};
  if (t.verbs.length === 1 && t.verbs[0] === 'create') {
    // Create-only (the review APIs): a POST on the collection and nothing else.
    paths[coll] = { parameters: nsParams, post: op('post', gvk, WRITE_PARAMS, ['*/*']) };
    return paths;
  }
  paths[coll] = {
    parameters: nsParams,
    get: op('list', gvk, LIST_PARAMS),
    post: op('post', gvk, WRITE_PARAMS, ['*/*']),
    ...(t.verbs.includes('deletecollection') ? { delete: op('deletecollection', gvk, LIST_PARAMS) } : {}),
  };
  paths[`${coll}/{name}`] = {
    parameters: [...nsParams, pathParam('name')],
    get: op('get', gvk, []),
    put: op('put', gvk, WRITE_PARAMS, ['*/*']),
    patch: op('patch', gvk, [...WRITE_PARAMS, q('force', 'boolean')], patchBodies),
    delete: op('delete', gvk, [q('gracePeriodSeconds', 'integer'), q('propagationPolicy'), q('dryRun')]),
  };
  for (const sub of t.subresources ?? []) {
    if (sub !== 'status' && sub !== 'scale') continue;
    const sgvk = sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
    paths[`${coll}/{name}/${sub}`] = {
      parameters: [...nsParams, pathParam('name')],
      get: op('get', sgvk, []),
      put: op('put', sgvk, WRITE_PARAMS, ['*/*']),
      patch: op('patch', sgvk, [...WRITE_PARAMS, q('force', 'boolean')], patchBodies),
    };
  }
  return paths;
}

/** The OpenAPI v3 document of one group version, or undefined when not served. */
export function openApiV3Document(group: string, version: string, serverVersion: string): object | undefined {
  const types = DISCOVERED_RESOURCES.filter((t) => t.group === group && t.version === version);
  if (!types.length) return undefined;
  const paths: Record<string, object> = {};
  for (const t of types) Object.assign(paths, resourcePaths(t));
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: serverVersion }, paths, components: { schemas: {} } };
}

/** `/openapi/v3`: the discovery of per-group-version documents, with content hashes. */
export function openApiV3Root(serverVersion: string): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of servedGroupVersions()) {
    const p = gvPath(group, version);
    const hash = createHash('sha512').update(JSON.stringify(openApiV3Document(group, version, serverVersion))).digest('hex').toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}
