/**
 * The strategic merge patch that moves a Node's status from what the apiserver has to what the
 * agent computed, in the spirit of kubelet's `nodeutil.PatchNodeStatus` (a two-way merge patch
 * of the status): only changed fields are sent, except `conditions`, which are always sent in
 * full for the types the agent owns (they carry the heartbeat). Conditions and addresses merge
 * by `type` on the server; capacity/allocatable are maps (removed keys are sent as null);
 * images are replaced as a whole.
 */
import type { NodeStatus } from 'kubernetes-types/core/v1.js';

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as Record<string, unknown>)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Deep equality on JSON values, ignoring key order; `undefined` equals a missing value. */
function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function mapPatch(orig: Record<string, string> | undefined, want: Record<string, string> | undefined): Record<string, string | null> | undefined {
  if (same(orig ?? {}, want ?? {})) return undefined;
  const out: Record<string, string | null> = { ...(want ?? {}) };
  for (const k of Object.keys(orig ?? {})) if (!(k in out)) out[k] = null;
  return out;
}

/** Builds `{ status: { … } }` for a PATCH of `nodes/<name>/status` (strategic merge). */
export function buildStatusPatch(original: NodeStatus | undefined, desired: NodeStatus, ownedConditionTypes: readonly string[]): { status: Record<string, unknown> } {
  const status: Record<string, unknown> = {};
  status.conditions = (desired.conditions ?? []).filter((c) => ownedConditionTypes.includes(c.type));
  const cap = mapPatch(original?.capacity, desired.capacity);
  if (cap) status.capacity = cap;
  const alloc = mapPatch(original?.allocatable, desired.allocatable);
  if (alloc) status.allocatable = alloc;
  if (!same(original?.nodeInfo, desired.nodeInfo)) status.nodeInfo = desired.nodeInfo;
  if (!same(original?.addresses, desired.addresses)) status.addresses = desired.addresses;
  if (!same(original?.daemonEndpoints, desired.daemonEndpoints)) status.daemonEndpoints = desired.daemonEndpoints;
  if (!same(original?.images ?? [], desired.images ?? [])) status.images = desired.images ?? [];
  return { status };
}

/**
 * True when the status changed in anything but condition heartbeats (kubelet's
 * `nodeStatusHasChanged`): then it is posted at once instead of at the report interval.
 */
export function statusChanged(original: NodeStatus | undefined, desired: NodeStatus, conditionsChanged: boolean): boolean {
  if (conditionsChanged) return true;
  return (
    !same(original?.capacity ?? {}, desired.capacity ?? {}) ||
    !same(original?.allocatable ?? {}, desired.allocatable ?? {}) ||
    !same(original?.nodeInfo, desired.nodeInfo) ||
    !same(original?.addresses, desired.addresses) ||
    !same(original?.daemonEndpoints, desired.daemonEndpoints) ||
    !same(original?.images ?? [], desired.images ?? [])
  );
}
