/**
 * The schema language: a compact description of API object fields, detailed enough for
 * unknown-field detection (strict field validation), strategic merge patch (patch strategy
 * and merge key per field, as upstream's struct tags declare them) and, later, OpenAPI v3
 * `components.schemas` generation.
 */

/** Scalar kinds of a field's value. */
export type ScalarKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  /** `resource.Quantity` (a string such as `100m`, `1Gi`; numbers are accepted). */
  | 'quantity'
  /** `intstr.IntOrString`. */
  | 'intOrString'
  /** `metav1.Time` (RFC 3339, second precision). */
  | 'time'
  /** `metav1.MicroTime` (RFC 3339 with microseconds). */
  | 'microTime'
  /** `[]byte`, base64 in JSON. */
  | 'bytes';

/** The type of a field's value. */
export type FieldType =
  | { readonly kind: 'scalar'; readonly scalar: ScalarKind }
  /** An object of the named type (see {@link ObjectSchema}). */
  | { readonly kind: 'object'; readonly ref: string }
  | { readonly kind: 'list'; readonly items: FieldType }
  /** `map[string]X`: keys are free, values are of type `values`. */
  | { readonly kind: 'map'; readonly values: FieldType }
  /** A free-form value (`runtime.RawExtension`, `FieldsV1`, volume sources we do not model). */
  | { readonly kind: 'free' };

/** `patchStrategy` struct tag values. */
export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';

/** One field of an object type. */
export interface FieldSchema {
  readonly type: FieldType;
  /** Strategic-merge `patchStrategy` as declared upstream. */
  readonly patchStrategy?: PatchStrategy;
  /** Strategic-merge `patchMergeKey` for lists of objects merged by key. */
  readonly patchMergeKey?: string;
  /** `+listType` (server-side apply): atomic, set or map. */
  readonly listType?: 'atomic' | 'set' | 'map';
  /** `+listMapKey`s when `listType` is `map`. */
  readonly listMapKeys?: readonly string[];
  /** Allowed values, when upstream declares an enum. */
  readonly enum?: readonly string[];
}

/** An object type (a Go struct): its JSON fields. */
export interface ObjectSchema {
  /** Type name, e.g. `io.k8s.api.core.v1.Container` is `Container` here. */
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldSchema>>;
}

// ---------------------------------------------------------------------------------------
// Builders used by the hand-written schemas.

const scalar = (s: ScalarKind): FieldType => Object.freeze({ kind: 'scalar', scalar: s });
/** string */
export const S = scalar('string');
/** integer (int32/int64) */
export const I = scalar('integer');
/** number (float) */
export const N = scalar('number');
/** boolean */
export const B = scalar('boolean');
/** resource.Quantity */
export const Q = scalar('quantity');
/** intstr.IntOrString */
export const IOS = scalar('intOrString');
/** metav1.Time */
export const T = scalar('time');
/** metav1.MicroTime */
export const MT = scalar('microTime');
/** []byte */
export const BYTES = scalar('bytes');
/** free-form value */
export const FREE: FieldType = Object.freeze({ kind: 'free' });

/** An object of type `name`. */
export function ref(name: string): FieldType {
  return { kind: 'object', ref: name };
}
/** A list of `items`. */
export function list(items: FieldType): FieldType {
  return { kind: 'list', items };
}
/** `map[string]values` (default: map of string). */
export function mapOf(values: FieldType = S): FieldType {
  return { kind: 'map', values };
}

/** A field declaration: a bare type, or a type with patch metadata. */
export type FieldDecl = FieldType | FieldSchema;

/** A list merged by `key` (`patchStrategy:"merge" patchMergeKey:key`, `+listType=map`). */
export function mergeList(items: FieldType, key: string, opts: { retainKeys?: boolean; listMapKeys?: string[] } = {}): FieldSchema {
  return {
    type: list(items),
    patchStrategy: opts.retainKeys ? 'merge,retainKeys' : 'merge',
    patchMergeKey: key,
    listType: 'map',
    listMapKeys: opts.listMapKeys ?? [key],
  };
}
/** A list of scalars merged as a set (`patchStrategy:"merge"`, `+listType=set`). */
export function setList(items: FieldType = S): FieldSchema {
  return { type: list(items), patchStrategy: 'merge', listType: 'set' };
}
/** An atomic list (replaced whole by a strategic merge patch). */
export function atomicList(items: FieldType): FieldSchema {
  return { type: list(items), listType: 'atomic' };
}
/** A string enum. */
export function enumOf(...values: string[]): FieldSchema {
  return { type: S, enum: values };
}

function isFieldSchema(d: FieldDecl): d is FieldSchema {
  return (d as FieldSchema).type !== undefined;
}

const registry = new Map<string, ObjectSchema>();

/** Registers an object type. Later registrations with the same name replace earlier ones. */
export function defineType(name: string, fields: Record<string, FieldDecl>): ObjectSchema {
  const norm: Record<string, FieldSchema> = {};
  for (const [k, d] of Object.entries(fields)) norm[k] = isFieldSchema(d) ? d : { type: d };
  const schema: ObjectSchema = Object.freeze({ name, fields: Object.freeze(norm) });
  registry.set(name, schema);
  return schema;
}

/** The object type named `name`; throws when it is not defined (a bug in the schemas). */
export function getType(name: string): ObjectSchema {
  const t = registry.get(name);
  if (!t) throw new Error(`schema: type ${name} is not defined`);
  return t;
}

/** True when `name` is a defined type. */
export function hasType(name: string): boolean {
  return registry.has(name);
}

/** Every defined type name (for self-checks and OpenAPI generation). */
export function typeNames(): string[] {
  return [...registry.keys()];
}
