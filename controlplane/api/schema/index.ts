/**
 * Hand-written schemas of every kind the companion apiserver serves. One description feeds
 * unknown-field detection, strategic merge patch and (later) OpenAPI v3 documents.
 */
import type { ResourceType } from '../../../lib/kube/resources.js';
import './kinds.js';
import { getType, hasType, type FieldSchema, type FieldType, type ObjectSchema } from './types.js';

export {
  getType, hasType, typeNames,
  type FieldSchema, type FieldType, type ObjectSchema, type PatchStrategy, type ScalarKind,
} from './types.js';

/** The schema name of a top-level kind at a group/version (`EndpointSlice.v1beta1` for the 1.20 form). */
export function kindSchemaName(group: string, version: string, kind: string): string {
  if (group === 'discovery.k8s.io' && version === 'v1beta1' && kind === 'EndpointSlice') return 'EndpointSlice.v1beta1';
  return kind;
}

/** The schema of the objects of `type`, or undefined for a kind without one. */
export function schemaForType(type: Pick<ResourceType, 'group' | 'version' | 'kind'>): ObjectSchema | undefined {
  const name = kindSchemaName(type.group, type.version, type.kind);
  return hasType(name) ? getType(name) : undefined;
}

/** The object schema a field type points at (objects only; lists and maps are unwrapped by callers). */
export function objectOf(t: FieldType): ObjectSchema | undefined {
  return t.kind === 'object' ? getType(t.ref) : undefined;
}

/** The field `name` of `schema`, or undefined when the schema does not define it. */
export function fieldOf(schema: ObjectSchema | undefined, name: string): FieldSchema | undefined {
  if (!schema) return undefined;
  return Object.prototype.hasOwnProperty.call(schema.fields, name) ? schema.fields[name] : undefined;
}
