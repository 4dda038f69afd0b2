/**
 * Small helpers over loosely-typed objects: the registry works on JSON documents whose
 * shape the API helpers have validated, so it uses a mutable view of object metadata.
 */
import { randomUUID } from 'node:crypto';
import type { ManagedFieldsEntry, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../../lib/kube/client.js';

/** Mutable object metadata (kubernetes-types marks several fields readonly). */
export interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  selfLink?: string;
  [k: string]: unknown;
}

/** A JSON object with metadata, as the registry handles it. */
export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: Record<string, unknown> & { [k: string]: unknown };
  status?: Record<string, unknown> & { [k: string]: unknown };
  [k: string]: unknown;
}

/** Views a KubeObject as an {@link Obj}, creating `metadata` when missing. */
export function asObj(o: KubeObject | unknown): Obj {
  const obj = o as Obj;
  if (!obj.metadata || typeof obj.metadata !== 'object') obj.metadata = {};
  return obj;
}

/** Deep copy through JSON. */
export function clone<T>(o: T): T {
  return o === undefined ? o : (JSON.parse(JSON.stringify(o)) as T);
}

/** JSON with sorted keys, for semantic comparison. */
export function stableStringify(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableStringify(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

/** Semantic deep equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

/** RFC 3339 with second precision, as `metav1.Time` serializes. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A UUID v4 for `metadata.uid`. */
export function newUid(): string {
  return randomUUID();
}

/** kube's `utilrand.String` alphabet: lower-case alphanumerics without vowels and look-alikes. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** `prefix` + 5 random characters, as `generateName` does. */
export function generateName(prefix: string, random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHANUMS[Math.floor(random() * ALPHANUMS.length) % ALPHANUMS.length];
  // kube truncates the prefix so the result stays within 63 characters.
  const max = 63 - 5;
  return (prefix.length > max ? prefix.slice(0, max) : prefix) + s;
}
