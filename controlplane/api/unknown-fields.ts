/**
 * Strict field validation: the fields of an object that its schema does not define, in
 * kube-apiserver's notation, and the texts kube-apiserver answers with.
 */
import type { ResourceType } from '../../lib/kube/resources.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import { fieldOf, getType, schemaForType, type FieldType, type ObjectSchema } from './schema/index.js';

/** Options of {@link findUnknownFields}. */
export interface UnknownFieldOptions {
  /**
   * Also check `status` (for writes to the `status` subresource). Off by default: the main
   * resource ignores the status a client sends, so its content is not reported.
   */
  includeStatus?: boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walkValue(t: FieldType, v: unknown, path: string, out: string[]): void {
  if (v === null || v === undefined) return;
  switch (t.kind) {
    case 'object':
      if (isPlainObject(v)) walkObject(getType(t.ref), v, path, out);
      return;
    case 'list':
      if (Array.isArray(v)) v.forEach((item, i) => walkValue(t.items, item, `${path}[${i}]`, out));
      return;
    case 'map':
      if (isPlainObject(v) && t.values.kind !== 'scalar' && t.values.kind !== 'free') {
        for (const [k, item] of Object.entries(v)) walkValue(t.values, item, `${path}[${k}]`, out);
      }
      return;
    default:
      return;
  }
}

function walkObject(schema: ObjectSchema, obj: Record<string, unknown>, prefix: string, out: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const f = fieldOf(schema, k);
    if (!f) {
      out.push(path);
      continue;
    }
    walkValue(f.type, v, path, out);
  }
}

/**
 * Paths of fields in `obj` that the schema of `type` does not define, in kube-apiserver's
 * notation (`spec.containers[0].imagePullPolicyy`), for `fieldValidation=Strict|Warn`.
 * Free-form maps (labels, annotations, data, nodeSelector, …) are not looked into;
 * `apiVersion` and `kind` are always known; `status` is skipped unless asked for.
 * Kinds without a schema report nothing.
 */
export function findUnknownFields(type: ResourceType, obj: unknown, opts: UnknownFieldOptions = {}): string[] {
  const schema = schemaForType(type);
  if (!schema || !isPlainObject(obj)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !opts.includeStatus) continue;
    const f = fieldOf(schema, k);
    if (!f) {
      out.push(k);
      continue;
    }
    walkValue(f.type, v, k, out);
  }
  return out;
}

/** `unknown field "spec.foo"` for each path: the text of each `Warning` header in Warn mode. */
export function unknownFieldMessages(paths: readonly string[]): string[] {
  return paths.map((p) => `unknown field ${JSON.stringify(p)}`);
}

/** kube's strict decoding error text: `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`. */
export function strictDecodingErrorMessage(paths: readonly string[]): string {
  return `strict decoding error: ${unknownFieldMessages(paths).join(', ')}`;
}

/**
 * The 400 BadRequest kube-apiserver answers a Strict create/update (or patch) with.
 * Create and update wrap the text as the decoder does:
 * `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: …`;
 * a patch answers with the bare strict decoding error.
 */
export function unknownFieldsError(type: ResourceType, paths: readonly string[], verb: 'create' | 'update' | 'patch' = 'create'): ApiError {
  const strict = strictDecodingErrorMessage(paths);
  const message = verb === 'patch' ? strict : `${type.kind} in version ${JSON.stringify(type.version)} cannot be handled as a ${type.kind}: ${strict}`;
  return new ApiError(statusFailure(400, 'BadRequest', message));
}
