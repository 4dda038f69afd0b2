/**
 * Pod status fields an older apiserver does not know.
 *
 * Skiff computes the status kubelet 1.32 would, but it may talk to an older kube-apiserver
 * (1.20 is our reference). A strategic merge patch naming a field the server's Go types lack
 * fails as a whole (`500 unable to find api field in struct PodStatus for the json field
 * "hostIPs"`), so the status would never be written. Deviation from kubelet (which never
 * runs against an older apiserver: the skew policy forbids it): Skiff drops such fields
 * before patching. It knows them two ways:
 *
 * - from the server's version (`GET /version`), with the table below of the release that
 *   added each field Skiff may write;
 * - and, for anything the table misses (a backport, a field added later), from the server's
 *   own error: the field it names is dropped from then on and the patch is sent again at once.
 *
 * ```
 *   status ─► prune(fields unknown to the server) ─► strategic merge patch
 *                                                      │ 500 "unable to find api field in
 *                                                      │     struct S for the json field f"
 *                                                      └► learn(S.f) ─► prune again ─► resend
 * ```
 */
import type { ContainerStatus, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';

/** The Go struct names the apiserver's error uses, and where they sit in a pod status. */
type Struct = 'PodStatus' | 'ContainerStatus' | 'PodCondition';

/** The minor release (of Kubernetes 1.x) that added each field Skiff may write. */
export const POD_STATUS_FIELDS_SINCE: Readonly<Record<Struct, Readonly<Record<string, number>>>> = Object.freeze({
  PodStatus: Object.freeze({ hostIPs: 28, resize: 27, resourceClaimStatuses: 28, observedGeneration: 33, podIPs: 16, ephemeralContainerStatuses: 16 }),
  ContainerStatus: Object.freeze({ started: 16, allocatedResources: 27, resources: 27, volumeMounts: 30, user: 31, allocatedResourcesStatus: 31, stopSignal: 33 }),
  PodCondition: Object.freeze({ observedGeneration: 33 }),
});

const UNKNOWN_FIELD = /unable to find api field in struct (\w+) for the json field "(\w+)"/;

/** Parses `v1.20.2`, `v1.28.3+k3s1`, `1.30` into `{ major, minor }`; undefined when it cannot. */
export function parseServerVersion(gitVersion: string | undefined, minor?: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(gitVersion ?? '');
  if (m) return { major: Number(m[1]), minor: Number(m[2]) };
  // /version's `minor` can carry a `+` (`"20+"`) on some distributions.
  const n = /^(\d+)/.exec(minor ?? '');
  return n ? { major: 1, minor: Number(n[1]) } : undefined;
}

/** The pod status fields to leave out for one apiserver; see the module comment. */
export class PodStatusCompat {
  private readonly dropped: Record<Struct, Set<string>> = { PodStatus: new Set(), ContainerStatus: new Set(), PodCondition: new Set() };

  /** Drops every field the table says `major.minor` lacks. */
  setServerVersion(v: { major: number; minor: number }): void {
    if (v.major !== 1) return;
    for (const [struct, fields] of Object.entries(POD_STATUS_FIELDS_SINCE) as [Struct, Record<string, number>][]) {
      for (const [field, since] of Object.entries(fields)) if (v.minor < since) this.dropped[struct].add(field);
    }
  }

  /**
   * Learns a field the server refused from its error message. True when the error was such a
   * refusal of a field not dropped before (sending again may now succeed).
   */
  learn(err: unknown): boolean {
    const m = UNKNOWN_FIELD.exec(err instanceof Error ? err.message : String(err));
    if (!m || !(m[1] in this.dropped)) return false;
    const set = this.dropped[m[1] as Struct];
    if (set.has(m[2])) return false;
    set.add(m[2]);
    return true;
  }

  /** The fields dropped so far, as `Struct.field` (diagnostics, tests). */
  droppedFields(): string[] {
    return (Object.entries(this.dropped) as [Struct, Set<string>][]).flatMap(([s, f]) => [...f].map((x) => `${s}.${x}`)).sort();
  }

  /** `status` without the dropped fields (the same object when nothing is dropped). */
  prune(status: PodStatus): PodStatus {
    const d = this.dropped;
    if (d.PodStatus.size === 0 && d.ContainerStatus.size === 0 && d.PodCondition.size === 0) return status;
    const out = omit(status, d.PodStatus);
    const cs = (l: ContainerStatus[] | undefined): ContainerStatus[] | undefined => (l && d.ContainerStatus.size ? l.map((c) => omit(c, d.ContainerStatus)) : l);
    for (const key of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses'] as const) {
      if (out[key]) out[key] = cs(out[key]);
    }
    if (out.conditions && d.PodCondition.size) out.conditions = out.conditions.map((c: PodCondition) => omit(c, d.PodCondition));
    return out;
  }
}

function omit<T extends object>(o: T, fields: ReadonlySet<string>): T {
  const out = { ...o } as Record<string, unknown>;
  for (const f of fields) delete out[f];
  return out as T;
}
