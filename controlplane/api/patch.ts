/**
 * Patch application as kube-apiserver does it: RFC 6902 JSON patch (evanphx/json-patch
 * semantics, with negative indices), RFC 7386 JSON merge patch, and strategic merge patch
 * (k8s.io/apimachinery/pkg/util/strategicpatch) driven by the hand-written schemas.
 * Pure functions: the original is never mutated.
 */
import type { KubeObject, PatchType } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { ApiError, statusFailure } from '../../lib/kube/errors.js';
import { fieldOf, getType, schemaForType, type FieldSchema, type ObjectSchema } from './schema/index.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObj(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A 400 BadRequest as kube-apiserver returns it (`errors.NewBadRequest`). */
function badRequest(message: string, cause?: unknown): ApiError {
  return new ApiError(statusFailure(400, 'BadRequest', message), { cause });
}

/**
 * A 422 as `errors.NewGenericServerResponse(422, …)` builds it: the generic message, and the
 * underlying error is not part of the Status (kube-apiserver drops it too); it is kept as the
 * `cause` of the thrown error for logs.
 */
function genericInvalid(detail: string): ApiError {
  return new ApiError(statusFailure(422, 'Invalid', 'the server rejected our request due to an error in our request', {}), {
    cause: new Error(detail),
  });
}

// =======================================================================================
// JSON patch (RFC 6902)

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

class PatchOpError extends Error {}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchOpError(`JSON pointer must be empty or start with a "/": ${p}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: Json[], tok: string, forAdd: boolean): number {
  if (tok === '-' && forAdd) return arr.length;
  if (!/^-?\d+$/.test(tok)) throw new PatchOpError(`Unable to access invalid index: ${tok}`);
  let i = Number(tok);
  // evanphx/json-patch supports negative indices (SupportNegativeIndices defaults to true).
  if (i < 0) {
    if (-i > arr.length) throw new PatchOpError(`Unable to access invalid index: ${i}`);
    i += arr.length;
  }
  const max = forAdd ? arr.length : arr.length - 1;
  if (i > max) throw new PatchOpError(`Unable to access invalid index: ${i}`);
  return i;
}

/** Resolves the container of the last token. */
function container(doc: Json, tokens: string[], op: string, path: string): { parent: Json; key: string } {
  let cur: Json = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i];
    if (Array.isArray(cur)) {
      const idx = /^\d+$/.test(t) ? Number(t) : NaN;
      if (!(idx >= 0 && idx < cur.length)) throw new PatchOpError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
      cur = cur[idx];
    } else if (isObj(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, t)) {
        throw new PatchOpError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
      }
      cur = cur[t];
    } else {
      throw new PatchOpError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
    }
  }
  return { parent: cur, key: tokens[tokens.length - 1] };
}

function getAt(doc: Json, path: string, op: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = container(doc, tokens, op, path);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false)];
  if (isObj(parent) && Object.prototype.hasOwnProperty.call(parent, key)) return parent[key];
  throw new PatchOpError(`${op} operation does not apply: doc is missing key: ${path}: missing value`);
}

function addAt(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = container(doc, tokens, 'add', path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else if (isObj(parent)) parent[key] = value;
  else throw new PatchOpError(`add operation does not apply: doc is missing path: "${path}": missing value`);
  return doc;
}

function removeAt(doc: Json, path: string, op = 'remove'): { doc: Json; removed: Json } {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchOpError(`${op} operation does not apply: doc is missing path: "${path}"`);
  const { parent, key } = container(doc, tokens, op, path);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, false);
    const [removed] = parent.splice(i, 1);
    return { doc, removed };
  }
  if (isObj(parent) && Object.prototype.hasOwnProperty.call(parent, key)) {
    const removed = parent[key];
    delete parent[key];
    return { doc, removed };
  }
  throw new PatchOpError(`${op} operation does not apply: doc is missing path: "${path}": missing value`);
}

function replaceAt(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = container(doc, tokens, 'replace', path);
  if (Array.isArray(parent)) {
    parent[arrayIndex(parent, key, false)] = value;
  } else if (isObj(parent) && Object.prototype.hasOwnProperty.call(parent, key)) {
    parent[key] = value;
  } else {
    throw new PatchOpError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
  }
  return doc;
}

/**
 * Applies an RFC 6902 JSON patch to a copy of `doc`. Throws `ApiError` 400 when the patch is
 * not a list of operations, and 422 (kube's generic "the server rejected our request due to
 * an error in our request") when an operation does not apply or a `test` fails.
 */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequest(`json: cannot unmarshal ${typeName(patch)} into Go value of type jsonpatch.Patch`);
  }
  if (patch.length > 10000) {
    throw new ApiError(statusFailure(413, 'RequestEntityTooLarge', `Request entity too large: The allowed maximum operations in a JSON patch is 10000, got ${patch.length}`));
  }
  let cur = clone(doc) as Json;
  for (const raw of patch) {
    if (!isObj(raw)) throw badRequest(`json: cannot unmarshal ${typeName(raw)} into Go value of type jsonpatch.Operation`);
    const op = raw.op;
    const path = raw.path;
    try {
      if (typeof path !== 'string') throw new PatchOpError(`operation missing path`);
      switch (op) {
        case 'add':
          if (!('value' in raw)) throw new PatchOpError('add operation missing value');
          cur = addAt(cur, path, clone(raw.value));
          break;
        case 'remove':
          cur = removeAt(cur, path).doc;
          break;
        case 'replace':
          if (!('value' in raw)) throw new PatchOpError('replace operation missing value');
          cur = replaceAt(cur, path, clone(raw.value));
          break;
        case 'move': {
          if (typeof raw.from !== 'string') throw new PatchOpError('move operation missing from');
          if (path !== raw.from && path.startsWith(`${raw.from}/`)) throw new PatchOpError('move operation cannot move a value into one of its children');
          const r = removeAt(cur, raw.from, 'move');
          cur = addAt(r.doc, path, r.removed);
          break;
        }
        case 'copy': {
          if (typeof raw.from !== 'string') throw new PatchOpError('copy operation missing from');
          const v = getAt(cur, raw.from, 'copy');
          cur = addAt(cur, path, clone(v));
          break;
        }
        case 'test': {
          let actual: Json | undefined;
          try {
            actual = getAt(cur, path, 'test');
          } catch {
            actual = undefined;
          }
          const expected = 'value' in raw ? raw.value : undefined;
          const ok = actual === undefined ? expected === null || expected === undefined : deepEqual(actual, expected);
          if (!ok) throw new PatchOpError(`testing value ${path} failed: test failed`);
          break;
        }
        default:
          throw badRequest(`Unexpected kind: ${String(op)}`);
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw genericInvalid((err as Error).message);
    }
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  return 'bool';
}

// =======================================================================================
// JSON merge patch (RFC 7386)

function mergePatchValue(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: JsonObject = isObj(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatchValue(out[k], v);
  }
  return out;
}

/**
 * Applies an RFC 7386 JSON merge patch to a copy of `doc`: objects merge recursively, `null`
 * deletes, anything else (lists included) replaces. A patch that is not an object is
 * rejected with 400 `Invalid JSON Patch`, as kube-apiserver does.
 */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (!isObj(patch)) throw badRequest('Invalid JSON Patch');
  return mergePatchValue(clone(doc) as Json, patch as Json);
}

// =======================================================================================
// Strategic merge patch

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

/** mergepatch error texts; `code` is the HTTP status kube-apiserver maps each one to. */
const SMP_ERRORS = {
  badJSONDoc: { code: 400, msg: 'invalid JSON document' },
  noListOfLists: { code: 422, msg: 'lists of lists are not supported' },
  badPrimitiveList: { code: 400, msg: 'invalid patch format of primitive list' },
  badRetainKeys: { code: 400, msg: 'invalid patch format of retainKeys' },
  badSetElementOrder: { code: 400, msg: 'invalid patch format of setElementOrder list' },
  notMatchRetainKeys: { code: 422, msg: "patch content doesn't match retainKeys list" },
} as const;

function smpError(kind: keyof typeof SMP_ERRORS): ApiError {
  const e = SMP_ERRORS[kind];
  return e.code === 400 ? badRequest(e.msg) : genericInvalid(e.msg);
}

/**
 * Errors upstream returns unmapped (a 500 there). Deviation: we answer 400 BadRequest, since
 * the request is at fault.
 */
function smpOther(msg: string): ApiError {
  return badRequest(msg);
}

/** Schema context of a value being merged: the object schema, when known. */
type Ctx = ObjectSchema | undefined;

function subSchemaOfField(f: FieldSchema | undefined): { obj: Ctx; itemObj: Ctx } {
  if (!f) return { obj: undefined, itemObj: undefined };
  const t = f.type;
  if (t.kind === 'object') return { obj: getType(t.ref), itemObj: undefined };
  if (t.kind === 'list' && t.items.kind === 'object') return { obj: undefined, itemObj: getType(t.items.ref) };
  return { obj: undefined, itemObj: undefined };
}

function strategyOf(f: FieldSchema | undefined): { merge: boolean; retainKeys: boolean; replace: boolean } {
  const s = f?.patchStrategy ?? '';
  return { merge: s.split(',').includes('merge'), retainKeys: s.split(',').includes('retainKeys'), replace: s === 'replace' };
}

/** Drops nulls from a value taken from the patch as-is (`discardNullValuesFromPatch`). */
function discardNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(discardNulls);
  if (isObj(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = discardNulls(x);
    return out;
  }
  return v;
}

function hasDirectives(v: Json): boolean {
  if (Array.isArray(v)) return v.some(hasDirectives);
  if (isObj(v)) return Object.entries(v).some(([k, x]) => k.startsWith('$') || hasDirectives(x));
  return false;
}

function mergeKeyValue(item: Json, key: string): Json | undefined {
  return isObj(item) ? item[key] : undefined;
}

/** Applies `$retainKeys` to `original` (in place) after checking the patch against it. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  const rk = patch[RETAIN_KEYS];
  if (!Array.isArray(rk) || !rk.every((x) => typeof x === 'string')) throw smpError('badRetainKeys');
  const keep = new Set(rk as string[]);
  for (const k of Object.keys(patch)) {
    if (k.startsWith('$')) continue;
    if (!keep.has(k)) throw smpError('notMatchRetainKeys');
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** `mergeMap`: merges `patch` into `original` (which is owned and mutated). */
function mergeMap(originalIn: Json | undefined, patchIn: JsonObject, schema: Ctx): Json | undefined {
  const patch: JsonObject = { ...patchIn };
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    delete patch[DIRECTIVE];
    // `handleDirectiveInMergeMap`: replace takes the patch as it is, delete leaves an empty
    // map; anything else (even `merge`) is an unknown patch type.
    if (d === 'replace') return stripDirectivesDeep(discardNulls(patch));
    if (d === 'delete') return {};
    throw smpOther(`unknown patch type: ${String(d)} in map: ${JSON.stringify(patchIn)}`);
  }
  const original: JsonObject = isObj(originalIn) ? originalIn : {};

  if (RETAIN_KEYS in patch) {
    applyRetainKeys(original, patch);
    delete patch[RETAIN_KEYS];
  }

  // `$setElementOrder/<field>`: merge that field's list now and order it.
  for (const k of Object.keys(patch)) {
    if (!k.startsWith(SET_ELEMENT_ORDER)) continue;
    const field = k.slice(SET_ELEMENT_ORDER.length);
    const order = patch[k];
    delete patch[k];
    if (!Array.isArray(order)) throw smpError('badSetElementOrder');
    const f = fieldOf(schema, field);
    const mergeKey = f?.patchMergeKey;
    const origList = Array.isArray(original[field]) ? (original[field] as Json[]) : [];
    const hasPatchList = Object.prototype.hasOwnProperty.call(patch, field);
    const patchList = hasPatchList ? patch[field] : undefined;
    if (hasPatchList && !Array.isArray(patchList) && patchList !== null) throw smpError('badSetElementOrder');
    validateSetOrder(Array.isArray(patchList) ? patchList : [], order, mergeKey);
    let merged: Json[];
    if (Array.isArray(patchList)) {
      const r = mergeList(origList, patchList, f, false);
      delete patch[field];
      if (r === undefined) {
        delete original[field];
        continue;
      }
      merged = r;
    } else {
      if (patchList === null) {
        delete patch[field];
        delete original[field];
        continue;
      }
      merged = origList;
    }
    if (!Object.prototype.hasOwnProperty.call(original, field) && merged.length === 0) continue;
    original[field] = normalizeElementOrder(merged, order, origList, mergeKey);
  }

  for (const [rawKey, patchV] of Object.entries(patch)) {
    if (rawKey.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = rawKey.slice(DELETE_FROM_PRIMITIVE.length);
      if (!Array.isArray(patchV)) throw smpError('badPrimitiveList');
      const cur = original[field];
      if (Array.isArray(cur)) {
        const next = cur.filter((x) => !patchV.some((d) => deepEqual(d, x)));
        original[field] = next;
      }
      continue;
    }
    if (rawKey.startsWith('$')) continue;
    const k = rawKey;
    if (patchV === null) {
      delete original[k];
      continue;
    }
    const f = fieldOf(schema, k);
    const exists = Object.prototype.hasOwnProperty.call(original, k) && original[k] !== null;
    const strat = strategyOf(f);
    if (strat.replace) {
      original[k] = stripDirectivesDeep(discardNulls(patchV));
      continue;
    }
    if (isObj(patchV)) {
      // Maps, free-form and unknown fields merge recursively without a schema.
      const sub = subSchemaOfField(f).obj;
      const origV = exists && isObj(original[k]) ? original[k] : undefined;
      const r = mergeMap(origV, patchV, sub);
      if (r === undefined) delete original[k];
      else original[k] = r;
      continue;
    }
    if (Array.isArray(patchV)) {
      const origV = exists && Array.isArray(original[k]) ? (original[k] as Json[]) : [];
      const r = mergeList(origV, patchV, f, !exists);
      if (r === undefined) delete original[k];
      else original[k] = r;
      continue;
    }
    original[k] = patchV;
  }
  return original;
}

function stripDirectivesDeep(v: Json): Json {
  if (Array.isArray(v)) return v.filter((x) => !(isObj(x) && DIRECTIVE in x && Object.keys(x).length === 1)).map(stripDirectivesDeep);
  if (isObj(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectivesDeep(x);
    return out;
  }
  return v;
}

/** `mergeSlice`: merges a patch list into an original list according to the field's strategy. */
function mergeList(original: Json[], patch: Json[], f: FieldSchema | undefined, isNew: boolean): Json[] | undefined {
  const strat = strategyOf(f);
  const mergeKey = f?.patchMergeKey;
  const itemSchema = subSchemaOfField(f).itemObj;
  if (patch.some((x) => Array.isArray(x))) throw smpError('noListOfLists');
  if (!strat.merge) {
    // Atomic (or unknown) lists are replaced; a `$patch: replace` marker element is dropped.
    return stripDirectivesDeep(discardNulls(patch)) as Json[];
  }
  const maps = patch.length > 0 ? isObj(patch[0]) : original.length > 0 && isObj(original[0]);
  if (!maps) {
    // Primitive list with merge strategy: a set union that keeps first occurrences.
    const out: Json[] = [];
    for (const x of [...original, ...patch]) if (!out.some((y) => deepEqual(x, y))) out.push(x);
    return out;
  }
  if (!mergeKey) throw smpOther('map merge key must be specified');
  // Special elements: `$patch: replace` and `$patch: delete`.
  let replace = false;
  const deletes: Json[] = [];
  const plain: JsonObject[] = [];
  for (const item of patch) {
    if (!isObj(item)) throw smpOther(`unable to merge a non-map element into a list of maps: ${JSON.stringify(item)}`);
    if (DIRECTIVE in item) {
      const d = item[DIRECTIVE];
      if (d === 'replace') {
        replace = true;
        continue;
      }
      if (d === 'delete') {
        const kv = item[mergeKey];
        if (kv === undefined) throw smpOther(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
        deletes.push(kv);
        continue;
      }
      if (d === 'merge') throw smpOther('merging lists cannot yet be specified in the patch');
      throw smpOther(`unknown patch type: ${String(d)} in map: ${JSON.stringify(item)}`);
    }
    plain.push(item);
  }
  if (replace) {
    return plain.map((p) => (mergeMap(undefined, p, itemSchema) ?? {}) as Json);
  }
  let result = original.filter((o) => !deletes.some((d) => deepEqual(mergeKeyValue(o, mergeKey), d)));
  for (const p of plain) {
    const kv = p[mergeKey];
    if (kv === undefined) throw smpOther(`map: ${JSON.stringify(p)} does not contain declared merge key: ${mergeKey}`);
    const idx = result.findIndex((o) => deepEqual(mergeKeyValue(o, mergeKey), kv));
    if (idx >= 0) {
      const merged = mergeMap(result[idx], p, itemSchema);
      if (merged === undefined) result = result.filter((_, i) => i !== idx);
      else result[idx] = merged;
    } else {
      const added = mergeMap(undefined, p, itemSchema);
      if (added !== undefined) result.push(added);
    }
  }
  if (isNew && result.length === 0 && patch.length > 0 && deletes.length === patch.length) return undefined;
  return result;
}

function orderIndex(order: Json[], item: Json, mergeKey: string | undefined): number {
  if (mergeKey && isObj(item)) return order.findIndex((o) => isObj(o) && deepEqual(o[mergeKey], item[mergeKey]));
  return order.findIndex((o) => deepEqual(o, item));
}

/** `validatePatchWithSetOrderList`: patch items must appear in the order list, in that order. */
function validateSetOrder(patchList: Json[], order: Json[], mergeKey: string | undefined): void {
  let last = -1;
  for (const item of patchList) {
    if (isObj(item) && DIRECTIVE in item) continue;
    const i = orderIndex(order, item, mergeKey);
    if (i < 0 || i < last) throw smpError('badSetElementOrder');
    last = i;
  }
}

/**
 * `normalizeElementOrder`: items named in `order` come in that order; items only the server
 * has keep their place relative to the original list.
 */
function normalizeElementOrder(merged: Json[], order: Json[], original: Json[], mergeKey: string | undefined): Json[] {
  const inPatch: Json[] = [];
  const serverOnly: Json[] = [];
  for (const m of merged) (orderIndex(order, m, mergeKey) >= 0 ? inPatch : serverOnly).push(m);
  inPatch.sort((a, b) => orderIndex(order, a, mergeKey) - orderIndex(order, b, mergeKey));
  serverOnly.sort((a, b) => orderIndex(original, a, mergeKey) - orderIndex(original, b, mergeKey));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < inPatch.length) {
    if (i >= serverOnly.length) out.push(inPatch[j++]);
    else if (j >= inPatch.length) out.push(serverOnly[i++]);
    else {
      const li = orderIndex(original, serverOnly[i], mergeKey);
      const ri = orderIndex(original, inPatch[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(inPatch[j++]);
    }
  }
  return out;
}

/**
 * Applies a strategic merge patch to a copy of `doc`, driven by `schema` (the kind's schema;
 * undefined falls back to plain recursive merging, as for free-form content). Supports
 * merge-by-key lists, set-merged primitive lists, `$patch` (replace/merge/delete) in maps
 * and list items, `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
 * `$setElementOrder/<field>` and null deletes.
 */
export function applyStrategicMergePatch(doc: unknown, patch: unknown, schema: ObjectSchema | undefined): unknown {
  if (!isObj(patch)) {
    throw badRequest(`json: cannot unmarshal ${typeName(patch)} into Go value of type map[string]interface {}`);
  }
  if (!isObj(doc)) throw smpError('badJSONDoc');
  const r = mergeMap(clone(doc) as JsonObject, patch as JsonObject, schema);
  return r ?? {};
}

/** True when `v` contains strategic-merge directives (`$patch`, `$retainKeys`, …). */
export function containsDirectives(v: unknown): boolean {
  return hasDirectives(v as Json);
}

// =======================================================================================

/**
 * Applies a patch of `patchType` to a copy of `original` and returns the result.
 * Throws `ApiError` 400 (BadRequest) for a malformed patch, 422 for an invalid one, and
 * 415 for an unsupported type (`apply`: server-side apply is not implemented yet). Never
 * mutates `original`.
 */
export function applyPatch(type: ResourceType, original: KubeObject, patchType: PatchType, patch: unknown): KubeObject {
  let out: unknown;
  switch (patchType) {
    case 'json':
      out = applyJsonPatch(original, patch);
      break;
    case 'merge':
      out = applyMergePatch(original, patch);
      break;
    case 'strategic':
      out = applyStrategicMergePatch(original, patch, schemaForType(type));
      break;
    default:
      throw new ApiError(
        statusFailure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`),
      );
  }
  if (!isObj(out)) throw badRequest(`json: cannot unmarshal ${typeName(out)} into Go value of type ${type.kind}`);
  return out as KubeObject;
}
