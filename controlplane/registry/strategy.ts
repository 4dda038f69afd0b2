/**
 * Per-kind behaviour of the generic REST store, after kube-apiserver's
 * `pkg/registry/<group>/<kind>/strategy.go` files: what a create resets, which parts an
 * update of the main resource or of `status` may change, when `metadata.generation`
 * moves, which kinds may be created by an update, and graceful deletion of pods.
 */
import type { ResourceType } from '../../lib/kube/resources.js';
import { deepEqual, type Obj } from './meta.js';

/** How one kind is handled. */
export interface Strategy {
  readonly type: ResourceType;
  /** The kind has a `status` subresource: main updates keep the stored status. */
  readonly hasStatus: boolean;
  /** `metadata.generation` starts at 1 and bumps on spec changes. */
  readonly tracksGeneration: boolean;
  /** A PUT on a missing object creates it (kube's `AllowCreateOnUpdate`). */
  readonly allowCreateOnUpdate: boolean;
  /** A delete that removes the object returns the object itself, not a Status. */
  readonly returnDeletedObject: boolean;
  /** Objects expire after this many seconds (events: `--event-ttl`). */
  readonly ttlSeconds?: number;
  /** Resets what a create may not set (status, mostly). */
  prepareForCreate(obj: Obj): void;
  /** Main-resource update: keep what only subresources may change, bump generation. */
  prepareForUpdate(obj: Obj, old: Obj): void;
  /** Status update: keep everything but status (and labels/annotations). */
  prepareForStatusUpdate(obj: Obj, old: Obj): void;
  /**
   * Graceful deletion: the grace period (seconds) to apply, or undefined to delete at once
   * (kube's `CheckGracefulDelete`). `requested` is the caller's `gracePeriodSeconds`.
   */
  gracePeriod?(obj: Obj, requested: number | undefined): number | undefined;
}

function bumpGenerationIf(obj: Obj, old: Obj, changed: boolean): void {
  obj.metadata.generation = (old.metadata.generation ?? 0) + (changed ? 1 : 0);
  if (!obj.metadata.generation) delete obj.metadata.generation;
}

class GenericStrategy implements Strategy {
  readonly hasStatus: boolean;
  readonly tracksGeneration: boolean;
  readonly allowCreateOnUpdate: boolean;
  readonly returnDeletedObject: boolean;
  readonly ttlSeconds?: number;

  constructor(
    readonly type: ResourceType,
    o: { generation?: boolean; createOnUpdate?: boolean; returnDeleted?: boolean; ttlSeconds?: number } = {},
  ) {
    this.hasStatus = (type.subresources ?? []).includes('status');
    this.tracksGeneration = !!o.generation;
    this.allowCreateOnUpdate = !!o.createOnUpdate;
    this.returnDeletedObject = !!o.returnDeleted;
    this.ttlSeconds = o.ttlSeconds;
  }

  prepareForCreate(obj: Obj): void {
    if (this.tracksGeneration) obj.metadata.generation = 1;
    else delete obj.metadata.generation;
    if (this.hasStatus) this.resetStatusOnCreate(obj);
  }

  protected resetStatusOnCreate(obj: Obj): void {
    obj.status = {};
  }

  prepareForUpdate(obj: Obj, old: Obj): void {
    if (this.hasStatus) {
      if (old.status === undefined) delete obj.status;
      else obj.status = old.status;
    }
    if (this.tracksGeneration) bumpGenerationIf(obj, old, this.specChanged(obj, old));
    else if (old.metadata.generation !== undefined) obj.metadata.generation = old.metadata.generation;
    else delete obj.metadata.generation;
  }

  protected specChanged(obj: Obj, old: Obj): boolean {
    return !deepEqual(obj.spec, old.spec);
  }

  prepareForStatusUpdate(obj: Obj, old: Obj): void {
    const status = obj.status;
    const labels = obj.metadata.labels;
    const annotations = obj.metadata.annotations;
    for (const k of Object.keys(obj)) if (k !== 'status') delete obj[k];
    for (const [k, v] of Object.entries(old)) if (k !== 'status') obj[k] = v;
    obj.metadata = { ...old.metadata };
    if (labels === undefined) delete obj.metadata.labels;
    else obj.metadata.labels = labels;
    if (annotations === undefined) delete obj.metadata.annotations;
    else obj.metadata.annotations = annotations;
    if (status === undefined) delete obj.status;
    else obj.status = status;
  }
}

/** Pods: status reset to Pending + QoS class on create; graceful deletion. */
class PodStrategy extends GenericStrategy {
  protected override resetStatusOnCreate(obj: Obj): void {
    obj.status = { phase: 'Pending', qosClass: podQosClass(obj) };
  }

  override prepareForStatusUpdate(obj: Obj, old: Obj): void {
    super.prepareForStatusUpdate(obj, old);
  }

  gracePeriod(obj: Obj, requested: number | undefined): number | undefined {
    const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = (obj.status as { phase?: string } | undefined)?.phase;
    let period = requested ?? spec.terminationGracePeriodSeconds ?? 30;
    // kube deletes unscheduled and terminated pods at once: no kubelet needs to act.
    if (!spec.nodeName) period = 0;
    if (phase === 'Failed' || phase === 'Succeeded') period = 0;
    if (period < 0) period = 1;
    return period;
  }
}

/** Deployments: generation also bumps on annotation changes (they are copied to ReplicaSets). */
class DeploymentStrategy extends GenericStrategy {
  protected override specChanged(obj: Obj, old: Obj): boolean {
    return !deepEqual(obj.spec, old.spec) || !deepEqual(obj.metadata.annotations, old.metadata.annotations);
  }
}

/** Services: status starts as `{loadBalancer: {}}`. */
class ServiceStrategy extends GenericStrategy {
  protected override resetStatusOnCreate(obj: Obj): void {
    obj.status = { loadBalancer: {} };
  }
}

/** Nodes: the kubelet registers a node with its status, which kube keeps on create. */
class NodeStrategy extends GenericStrategy {
  protected override resetStatusOnCreate(_obj: Obj): void {}
}

/** Namespaces: `spec.finalizers: [kubernetes]`, phase Active, the metadata.name label. */
class NamespaceStrategy extends GenericStrategy {
  override prepareForCreate(obj: Obj): void {
    super.prepareForCreate(obj);
    obj.spec = { ...(obj.spec ?? {}), finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
    setNamespaceNameLabel(obj);
  }

  override prepareForUpdate(obj: Obj, old: Obj): void {
    super.prepareForUpdate(obj, old);
    // Only the finalize subresource changes spec.finalizers.
    obj.spec = { ...(obj.spec ?? {}), finalizers: (old.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [] };
    if (!(obj.spec.finalizers as string[]).length) delete obj.spec.finalizers;
    setNamespaceNameLabel(obj);
  }

  override prepareForStatusUpdate(obj: Obj, old: Obj): void {
    super.prepareForStatusUpdate(obj, old);
    setNamespaceNameLabel(obj);
  }
}

function setNamespaceNameLabel(obj: Obj): void {
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
}

const QUANTITY_SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

function quantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2] in QUANTITY_SUFFIX)) return undefined;
  return Number(m[1]) * QUANTITY_SUFFIX[m[2]];
}

/** The pod's QoS class (`Guaranteed`, `Burstable` or `BestEffort`), as kube's `GetPodQOS`. */
export function podQosClass(pod: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  type Res = { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  const spec = (pod.spec ?? {}) as { containers?: { resources?: Res }[]; initContainers?: { resources?: Res }[] };
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let isGuaranteed = true;
  for (const c of containers) {
    const r = c.resources ?? {};
    for (const [name, v] of Object.entries(r.requests ?? {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const n = quantity(v);
      if (n !== undefined && n !== 0) requests.set(name, (requests.get(name) ?? 0) + n);
    }
    const seen = new Set<string>();
    for (const [name, v] of Object.entries(r.limits ?? {})) {
      if (name !== 'cpu' && name !== 'memory') continue;
      const n = quantity(v);
      if (n !== undefined && n !== 0) {
        seen.add(name);
        limits.set(name, (limits.get(name) ?? 0) + n);
      }
    }
    if (!seen.has('cpu') || !seen.has('memory')) isGuaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (isGuaranteed) {
    for (const [name, v] of requests) if (limits.get(name) !== v) isGuaranteed = false;
  }
  return isGuaranteed && limits.size === 2 ? 'Guaranteed' : 'Burstable';
}

/** The strategy for `type` (keyed by group and resource). */
export function strategyFor(type: ResourceType): Strategy {
  const id = `${type.group}/${type.resource}`;
  switch (id) {
    case '/pods':
      return new PodStrategy(type, { returnDeleted: true });
    case '/services':
      return new ServiceStrategy(type, { returnDeleted: true });
    case '/nodes':
      return new NodeStrategy(type);
    case '/namespaces':
      return new NamespaceStrategy(type, { returnDeleted: true });
    case '/endpoints':
      return new GenericStrategy(type, { createOnUpdate: true });
    case '/events':
      // kube-apiserver's default --event-ttl is one hour.
      return new GenericStrategy(type, { createOnUpdate: true, ttlSeconds: 3600 });
    case 'apps/deployments':
      return new DeploymentStrategy(type, { generation: true });
    case 'apps/replicasets':
      return new GenericStrategy(type, { generation: true });
    case 'discovery.k8s.io/endpointslices':
      return new GenericStrategy(type, { createOnUpdate: true });
    case 'coordination.k8s.io/leases':
      return new GenericStrategy(type, { createOnUpdate: true });
    default:
      return new GenericStrategy(type);
  }
}
