/**
 * The status patch kubelet's status manager sends (`statusutil.PatchPodStatus`): a
 * strategic merge patch of `pods/<name>/status` carrying `metadata.uid` as a precondition
 * (a patch for a recreated pod with the same name fails), the changed status fields, and
 * for merge-keyed lists (conditions by type, podIPs and hostIPs by ip) the changed items,
 * `$setElementOrder` and `$patch: delete` for items that went away.
 */
import type { PodStatus } from 'kubernetes-types/core/v1.js';
import { deepEqual } from './equality.js';

const MERGE_LISTS: Readonly<Record<string, string>> = Object.freeze({ conditions: 'type', podIPs: 'ip', hostIPs: 'ip' });

type Obj = Record<string, unknown>;

function mergeListPatch(key: string, mergeKey: string, base: Obj[] | undefined, next: Obj[] | undefined, out: Obj): void {
  const b = base ?? [];
  const n = next ?? [];
  const items: Obj[] = [];
  for (const item of n) {
    const old = b.find((x) => x[mergeKey] === item[mergeKey]);
    if (!old) items.push(item);
    else if (!deepEqual(old, item)) {
      // A merge-keyed item is merged field by field on the server: a field the item lost
      // (a Ready condition's `reason` once it turns True) must be deleted with null, or the
      // server keeps the old value.
      const patched: Obj = { ...item };
      for (const k of Object.keys(old)) if (!(k in item) && old[k] !== null && old[k] !== undefined) patched[k] = null;
      items.push(patched);
    }
  }
  for (const old of b) {
    if (!n.some((x) => x[mergeKey] === old[mergeKey])) items.push({ [mergeKey]: old[mergeKey], $patch: 'delete' });
  }
  if (items.length === 0) return;
  out[`$setElementOrder/${key}`] = n.map((x) => ({ [mergeKey]: x[mergeKey] }));
  out[key] = items;
}

/** The patch from `base` to `next` for the pod with `uid`; undefined when nothing changed. */
export function podStatusPatch(uid: string, base: PodStatus | undefined, next: PodStatus): Obj | undefined {
  const b = (base ?? {}) as Obj;
  const n = next as Obj;
  const status: Obj = {};
  const keys = new Set([...Object.keys(b), ...Object.keys(n)]);
  for (const key of keys) {
    const mk = MERGE_LISTS[key];
    if (mk) {
      mergeListPatch(key, mk, b[key] as Obj[] | undefined, n[key] as Obj[] | undefined, status);
      continue;
    }
    if (deepEqual(b[key], n[key])) continue;
    status[key] = n[key] === undefined ? null : n[key];
  }
  if (Object.keys(status).length === 0) return undefined;
  return { metadata: { uid }, status };
}
