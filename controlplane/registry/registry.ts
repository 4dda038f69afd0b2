/**
 * The generic REST registry of the companion apiserver: kube-apiserver's
 * `genericregistry.Store` semantics over a {@link Store}, for every type in
 * `SERVED_RESOURCES`, with per-kind strategies (strategy.ts), the default admission
 * (NamespaceLifecycle, pod defaults), Service IP/port allocation and the subresources
 * `status`, `scale`, `binding`, `eviction` and `finalize`.
 *
 * Both the HTTPS server and the in-process client call this class, so requests take the
 * same path (defaulting, validation, admission, storage) whichever way they arrive.
 *
 * Deviations from kube-apiserver, on purpose:
 * - no `managedFields` (no server-side apply: apply patches are refused with 415);
 * - authorization is left to the caller (the server allows every authenticated user);
 * - `dryRun` skips the write but returns the object without a resourceVersion.
 */
import type { ListMeta, Status } from 'kubernetes-types/meta/v1.js';
import type {
  DeleteOptions,
  KubeObject,
  ListOptions,
  ObjectList,
  PatchType,
  WatchOptions,
  WatchStream,
  WriteOptions,
} from '../../lib/kube/client.js';
import { ApiError } from '../../lib/kube/errors.js';
import { apiVersionOf, Namespaces, Pods, SERVED_RESOURCES, Services, type ResourceType } from '../../lib/kube/resources.js';
import { labelSelectorFromObject, parseLabelSelector, type Selector } from '../../lib/kube/selectors.js';
import { realClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import {
  applyDefaults,
  applyPatch,
  findUnknownFields,
  unknownFieldMessages,
  unknownFieldsError,
  compileFieldSelector,
  matchesFieldSelector,
  validateObject,
  type FieldError,
} from '../api/index.js';
import {
  asStorageError,
  isKeyExists,
  isKeyNotFound,
  isStorageConflict,
  keyPrefix,
  objectStoreKey,
  type Store,
} from '../store/index.js';
import { IPAllocator, PortAllocator } from './allocator.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  internalError,
  invalid,
  methodNotAllowed,
  notFound,
  qualifiedResource,
  statusSuccess,
  timeout,
  unsupportedMediaType,
} from './errors.js';
import { asObj, clone, deepEqual, generateName, newUid, rfc3339, type Obj } from './meta.js';
import { ServiceAllocations, type AllocationTxn } from './services.js';
import { strategyFor, type Strategy } from './strategy.js';
import { startWatch } from './watch.js';

/** Who makes a request (from the client certificate, or the in-process client's identity). */
export interface UserInfo {
  username: string;
  groups: string[];
  uid?: string;
}

/** Per-request context. */
export interface RequestContext {
  user?: UserInfo;
  /** Warnings for the client (`Warning: 299` headers over HTTP). The registry appends. */
  warnings?: string[];
}

/** Options of {@link Registry}. */
export interface RegistryOptions {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** `--service-cluster-ip-range`; default `10.96.0.0/16`. */
  serviceCidr?: string;
  /** `--service-node-port-range`; default `30000-32767`. */
  nodePortRange?: string;
  /** Random source for generateName and allocation (tests make it deterministic). */
  random?: () => number;
  /** How often watches with `allowWatchBookmarks` get a BOOKMARK; default 60 s. */
  bookmarkIntervalMs?: number;
}

/** The `autoscaling/v1` Scale subresource's type descriptor (for patch application). */
export const ScaleType: ResourceType = Object.freeze({
  group: 'autoscaling',
  version: 'v1',
  resource: 'scale',
  singular: 'scale',
  kind: 'Scale',
  namespaced: true,
  verbs: ['get', 'patch', 'update'],
});

/** Namespaces kube-apiserver refuses to delete (NamespaceLifecycle's immortal namespaces). */
export const IMMORTAL_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public'];

/** Write options the registry understands (WriteOptions without the client-only signal). */
export type RegistryWriteOptions = Omit<WriteOptions, 'signal'>;

type UpdateMode = 'main' | 'status' | 'finalize';

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

const MAX_CONFLICT_RETRIES = 20;

/** kube's `Precondition failed: ...` conflict messages. */
function checkPreconditions(t: ResourceType, name: string, cur: Obj, pre: DeleteOptions['preconditions']): void {
  if (pre?.uid && pre.uid !== cur.metadata.uid) {
    throw conflict(t, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw conflict(
      t,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`,
    );
  }
}

function parseRV(rv: string, what = 'resourceVersion'): number {
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid ${what}: ${JSON.stringify(rv)}: must be a non-negative integer`);
  return Number(rv);
}

/** Builds a selector from a string, turning parse failures into 400s. */
function compileSelector(_kind: 'label', s: string | undefined): Selector {
  try {
    return parseLabelSelector(s);
  } catch (err) {
    throw badRequest(`unable to parse requirement: ${errorMessage(err)}`, err);
  }
}

/** The registry: REST semantics for every served resource. */
export class Registry {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly allocations: ServiceAllocations;
  private readonly random: () => number;
  private readonly bookmarkIntervalMs: number;
  private readonly strategies = new Map<ResourceType, Strategy>();

  constructor(opts: RegistryOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger;
    this.random = opts.random ?? Math.random;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.allocations = new ServiceAllocations(
      new IPAllocator(opts.serviceCidr ?? '10.96.0.0/16', this.random),
      new PortAllocator(opts.nodePortRange ?? '30000-32767', this.random),
    );
    for (const t of SERVED_RESOURCES) this.strategies.set(t, strategyFor(t));
  }

  /** Rebuilds Service allocations from the stored Services (call once at start). */
  async init(): Promise<void> {
    const svcs = await this.store.list<Obj>(keyPrefix(Services));
    for (const s of svcs.items) this.allocations.restore(s);
  }

  /** The served type for a URL's group, version and plural resource. */
  resolve(group: string, version: string, resource: string): ResourceType | undefined {
    return SERVED_RESOURCES.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  /** The strategy of a served type (throws 404 for types not served). */
  strategy(type: ResourceType): Strategy {
    const s = this.strategies.get(type) ?? [...this.strategies.values()].find((x) => x.type.group === type.group && x.type.resource === type.resource);
    if (!s) throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 404, reason: 'NotFound', message: `the server could not find the requested resource (${qualifiedResource(type)})` });
    return s;
  }

  private key(type: ResourceType, ns: string | undefined, name: string): string {
    return objectStoreKey(type, ns, name);
  }

  private nsOf(type: ResourceType, ns: string | undefined): string | undefined {
    if (!type.namespaced) return undefined;
    if (!ns) throw badRequest(`a namespace is required for ${qualifiedResource(type)}`);
    return ns;
  }

  private now(): string {
    return rfc3339(this.clock.now());
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  /** One object (404 when missing). */
  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<Obj> {
    this.strategy(type);
    const ns = this.nsOf(type, namespace);
    const obj = await this.store.get<Obj>(this.key(type, ns, name));
    if (!obj) throw notFound(type, name);
    return obj;
  }

  /** A subresource read: `status` (the object) or `scale` (an autoscaling/v1 Scale). */
  async getSubresource(type: ResourceType, namespace: string | undefined, name: string, sub: string): Promise<KubeObject> {
    if (sub === 'status' && this.strategy(type).hasStatus) return this.get(type, namespace, name);
    if (sub === 'scale' && (type.subresources ?? []).includes('scale')) return this.toScale(await this.get(type, namespace, name));
    throw notFound({ group: type.group, resource: `${type.resource}/${sub}` }, name);
  }

  private matcher(type: ResourceType, opts: { labelSelector?: string; fieldSelector?: string }): { matches: (o: Obj) => boolean; filtered: boolean } {
    const labels = compileSelector('label', opts.labelSelector);
    // 400 with kube's message for a field the kind does not support.
    const fields = compileFieldSelector(type, opts.fieldSelector);
    return {
      filtered: !labels.empty || !fields.empty,
      matches: (o) => (labels.empty || labels.matches(o.metadata.labels ?? {})) && matchesFieldSelector(type, o, fields),
    };
  }

  /** A list, with selectors, pagination (`limit`/`continue`) and resourceVersion semantics. */
  async list(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<Obj>> {
    this.strategy(type);
    const ns = type.namespaced ? opts.namespace || undefined : undefined;
    const prefix = keyPrefix(type, ns);
    const { matches, filtered } = this.matcher(type, opts);
    let revision: number | undefined;
    let startKey: string | undefined;
    if (opts.continue) {
      if (opts.resourceVersion && opts.resourceVersion !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      let tok: ContinueToken;
      try {
        tok = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8')) as ContinueToken;
        if (typeof tok.rv !== 'number' || typeof tok.start !== 'string') throw new Error('missing fields');
      } catch (err) {
        throw badRequest(`continue key is not valid: ${errorMessage(err)}`, err);
      }
      revision = tok.rv;
      startKey = prefix + tok.start;
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const n = parseRV(opts.resourceVersion);
      const current = await this.store.currentRevision();
      if (opts.resourceVersionMatch === 'Exact') revision = n;
      else if (n > current) throw timeout(`Too large resource version: ${n}, current: ${current}`);
    } else if (opts.resourceVersionMatch === 'Exact') {
      throw badRequest(`resourceVersionMatch "Exact" is forbidden for resourceVersion "${opts.resourceVersion ?? ''}"`);
    }
    let page;
    try {
      page = await this.store.list<Obj>(prefix, { revision, startKey });
    } catch (err) {
      throw this.storageToApi(type, '', err, opts.continue ? 'continue' : undefined);
    }
    const items: Obj[] = [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let lastKey: string | undefined;
    let remaining = 0;
    for (let i = 0; i < page.items.length; i++) {
      const o = page.items[i];
      if (!matches(o)) continue;
      if (items.length >= limit) {
        remaining++;
        continue;
      }
      items.push(o);
      lastKey = page.keys[i];
    }
    const meta: ListMeta & { resourceVersion: string } = { resourceVersion: String(page.revision) };
    if (remaining > 0 && lastKey !== undefined) {
      const tok: ContinueToken = { v: 'meta.k8s.io/v1', rv: page.revision, start: `${lastKey.slice(prefix.length)}\u0000` };
      (meta as { continue?: string }).continue = Buffer.from(JSON.stringify(tok)).toString('base64');
      if (!filtered) (meta as { remainingItemCount?: number }).remainingItemCount = remaining;
    }
    // kube-apiserver's JSON lists carry no kind/apiVersion on their items.
    for (const o of items) {
      delete o.kind;
      delete o.apiVersion;
    }
    return { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata: meta, items };
  }

  /**
   * A watch. With resourceVersion unset or "0" it starts with synthetic ADDED events for
   * the current state; otherwise it replays events after that revision (410 when too old).
   */
  async watch(type: ResourceType, opts: WatchOptions & { sendInitialEvents?: boolean } = {}): Promise<WatchStream<Obj>> {
    this.strategy(type);
    const ns = type.namespaced ? opts.namespace || undefined : undefined;
    const prefix = keyPrefix(type, ns);
    const { matches } = this.matcher(type, opts);
    const rv = opts.resourceVersion;
    let initial: Obj[] | undefined;
    let start: number;
    const sendInitial = opts.sendInitialEvents ?? (!rv || rv === '0');
    if (sendInitial) {
      if (rv && rv !== '0') {
        const n = parseRV(rv);
        const cur = await this.store.currentRevision();
        if (n > cur) throw timeout(`Too large resource version: ${n}, current: ${cur}`);
      }
      const l = await this.store.list<Obj>(prefix);
      initial = l.items.filter(matches);
      start = l.revision;
    } else {
      start = parseRV(rv!);
    }
    let source;
    try {
      source = await this.store.watch<Obj>(prefix, start);
    } catch (err) {
      throw this.storageToApi(type, '', err);
    }
    return startWatch({
      clock: this.clock,
      logger: this.logger,
      source,
      initial,
      startRevision: start,
      matches,
      kind: type.kind,
      apiVersion: apiVersionOf(type),
      bookmarks: !!opts.allowWatchBookmarks,
      bookmarkIntervalMs: this.bookmarkIntervalMs,
      initialEventsEndBookmark: !!opts.allowWatchBookmarks && opts.sendInitialEvents === true,
      timeoutSeconds: opts.timeoutSeconds,
      signal: opts.signal,
      errorToStatus: (err) => this.storageToApi(type, '', err).status,
    });
  }

  // ---------------------------------------------------------------------------------------
  // Writes

  private checkTypeMeta(type: ResourceType, obj: Obj, expectKind = type.kind, expectVersion = apiVersionOf(type)): void {
    if (obj.apiVersion !== undefined && obj.apiVersion !== expectVersion) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expectVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== expectKind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${expectKind})`);
    }
  }

  /** `fieldValidation`: Strict → 400, Warn (the server default) → warnings, Ignore → nothing. */
  private checkUnknownFields(type: ResourceType, body: unknown, opts: RegistryWriteOptions, ctx: RequestContext, verb: 'create' | 'update' | 'patch'): void {
    const mode = opts.fieldValidation ?? 'Warn';
    if (mode === 'Ignore') return;
    const unknown = findUnknownFields(type, body);
    if (!unknown.length) return;
    if (mode === 'Strict') throw unknownFieldsError(type, unknown, verb);
    (ctx.warnings ??= []).push(...unknownFieldMessages(unknown));
  }

  private validate(type: ResourceType, obj: Obj, old?: Obj): void {
    const errs = validateObject(type, obj, old);
    if (errs.length) throw invalid(type, obj.metadata.name ?? '', errs);
  }

  /** NamespaceLifecycle: the namespace must exist and not be terminating. */
  private async admitNamespace(type: ResourceType, ns: string, name: string): Promise<void> {
    const nsObj = await this.store.get<Obj>(this.key(Namespaces, undefined, ns));
    if (!nsObj) throw notFound(Namespaces, ns);
    if (nsObj.metadata.deletionTimestamp || (nsObj.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      throw forbidden(type, name, `unable to create new content in namespace ${ns} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }

  /** Creates an object (POST on a collection). */
  async create(type: ResourceType, namespace: string | undefined, body: KubeObject, opts: RegistryWriteOptions = {}, ctx: RequestContext = {}): Promise<Obj> {
    const strategy = this.strategy(type);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
    const obj = asObj(clone(body));
    this.checkTypeMeta(type, obj);
    let ns: string | undefined;
    if (type.namespaced) {
      ns = namespace || obj.metadata.namespace;
      if (!ns) throw badRequest(`a namespace is required for ${qualifiedResource(type)}`);
      if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = ns;
    } else {
      delete obj.metadata.namespace;
    }
    this.checkUnknownFields(type, body, opts, ctx, 'create');
    if (obj.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    const requestedName = obj.metadata.name;
    if (!requestedName && !obj.metadata.generateName) {
      throw invalid(type, '', [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    }
    if (ns) await this.admitNamespace(type, ns, requestedName ?? obj.metadata.generateName ?? '');

    // kube retries a generateName collision a few times before answering AlreadyExists.
    for (let attempt = 0; ; attempt++) {
      const o = clone(obj);
      if (!requestedName) o.metadata.name = generateName(o.metadata.generateName ?? '', this.random);
      const name = o.metadata.name!;
      o.apiVersion = apiVersionOf(type);
      o.kind = type.kind;
      applyDefaults(type, o);
      asObj(o);
      // BeforeCreate: system fields.
      o.metadata.uid = newUid();
      o.metadata.creationTimestamp = this.now();
      delete o.metadata.deletionTimestamp;
      delete o.metadata.deletionGracePeriodSeconds;
      delete o.metadata.selfLink;
      delete o.metadata.managedFields;
      strategy.prepareForCreate(o);
      this.validate(type, o);
      let txn: AllocationTxn | undefined;
      if (type.group === '' && type.resource === 'services') txn = this.allocations.allocateCreate(o);
      if (opts.dryRun) {
        txn?.rollback();
        return o;
      }
      try {
        const stored = await this.store.create(this.key(type, ns, name), o, { ttlSeconds: strategy.ttlSeconds });
        txn?.commit();
        return stored;
      } catch (err) {
        txn?.rollback();
        if (isKeyExists(err)) {
          if (!requestedName && attempt < 7) continue;
          throw alreadyExists(type, name);
        }
        throw this.storageToApi(type, name, err);
      }
    }
  }

  /**
   * The read-modify-write loop of every update-like request. `mutate` gets a private copy
   * of the current object (undefined when missing) and returns the desired object; the
   * loop then applies the update strategy for `mode`, defaulting, validation and the
   * compare-and-swap write, retrying on a storage conflict unless the caller pinned a
   * resourceVersion.
   */
  private async updateLoop(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    mode: UpdateMode,
    opts: RegistryWriteOptions,
    ctx: RequestContext,
    mutate: (cur: Obj | undefined) => Obj | { create: Obj },
  ): Promise<Obj> {
    const strategy = this.strategy(type);
    const key = this.key(type, ns, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get<Obj>(key);
      const r = mutate(cur ? clone(cur) : undefined);
      if ('create' in r && !('metadata' in r)) return this.create(type, ns, r.create, opts, ctx);
      if (!cur) throw notFound(type, name);
      const next = asObj(r as Obj);
      const pinned = next.metadata.resourceVersion;
      if (pinned && pinned !== cur.metadata.resourceVersion) throw conflict(type, name);
      if (next.metadata.uid && next.metadata.uid !== cur.metadata.uid) {
        throw invalid(type, name, [{ type: 'FieldValueInvalid', field: 'metadata.uid', message: `Invalid value: ${JSON.stringify(next.metadata.uid)}: field is immutable` }]);
      }
      // BeforeUpdate: what no update may change.
      next.apiVersion = apiVersionOf(type);
      next.kind = type.kind;
      next.metadata.name = cur.metadata.name;
      if (type.namespaced) next.metadata.namespace = cur.metadata.namespace;
      else delete next.metadata.namespace;
      next.metadata.uid = cur.metadata.uid;
      next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      else delete next.metadata.deletionTimestamp;
      if (cur.metadata.deletionGracePeriodSeconds !== undefined) next.metadata.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
      else delete next.metadata.deletionGracePeriodSeconds;
      delete next.metadata.selfLink;
      delete next.metadata.managedFields;
      applyDefaults(type, next, { operation: 'update' });
      asObj(next);
      if (mode === 'status') strategy.prepareForStatusUpdate(next, cur);
      else if (mode === 'main') strategy.prepareForUpdate(next, cur);
      this.validate(type, next, cur);
      let txn: AllocationTxn | undefined;
      if (mode === 'main' && type.group === '' && type.resource === 'services') txn = this.allocations.allocateUpdate(next, cur);
      const rv = Number(cur.metadata.resourceVersion);
      try {
        if (this.shouldDeleteDuringUpdate(type, next, cur)) {
          if (opts.dryRun) return next;
          const deleted = await this.store.delete<Obj>(key, { expectedRevision: rv });
          txn?.rollback();
          this.onRemoved(type, deleted);
          return deleted;
        }
        const curCmp = { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } };
        const nextCmp = { ...next, metadata: { ...next.metadata, resourceVersion: undefined } };
        if (deepEqual(curCmp, nextCmp) && strategy.ttlSeconds === undefined) {
          txn?.commit();
          return cur;
        }
        if (opts.dryRun) {
          txn?.rollback();
          return next;
        }
        const stored = await this.store.update<Obj>(key, next, { expectedRevision: rv, ttlSeconds: strategy.ttlSeconds });
        txn?.commit();
        return stored;
      } catch (err) {
        txn?.rollback();
        if (isStorageConflict(err)) {
          if (pinned || attempt >= MAX_CONFLICT_RETRIES) throw conflict(type, name, undefined, err);
          continue;
        }
        if (isKeyNotFound(err)) {
          if (attempt >= MAX_CONFLICT_RETRIES) throw notFound(type, name);
          continue;
        }
        throw this.storageToApi(type, name, err);
      }
    }
  }

  private shouldDeleteDuringUpdate(type: ResourceType, next: Obj, cur: Obj): boolean {
    if (!cur.metadata.deletionTimestamp || (next.metadata.finalizers ?? []).length > 0) return false;
    if (type.group === '' && type.resource === 'namespaces') {
      return ((next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length === 0;
    }
    // genericregistry.ShouldDeleteDuringUpdate: finalizers emptied on an object whose
    // deletion is no longer waiting on a grace period.
    return cur.metadata.deletionGracePeriodSeconds === 0;
  }

  /** Replaces an object (PUT), or its `status`/`scale`/`finalize` subresource. */
  async update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    opts: RegistryWriteOptions = {},
    ctx: RequestContext = {},
  ): Promise<KubeObject> {
    const strategy = this.strategy(type);
    const ns = this.nsOf(type, namespace);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
    const sub = opts.subresource;
    if (sub === 'scale') return this.updateScale(type, ns, name, () => body, opts, ctx);
    const mode: UpdateMode = sub === 'status' ? 'status' : sub === 'finalize' ? 'finalize' : 'main';
    if (sub && !(mode === 'status' && strategy.hasStatus) && !(mode === 'finalize' && type === Namespaces)) throw methodNotAllowed();
    const obj = asObj(clone(body));
    this.checkTypeMeta(type, obj);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (type.namespaced && obj.metadata.namespace && obj.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    this.checkUnknownFields(type, body, opts, ctx, 'update');
    obj.metadata.name = name;
    if (ns) obj.metadata.namespace = ns;
    return this.updateLoop(type, ns, name, mode, opts, ctx, (cur) => {
      if (!cur) {
        if (mode === 'main' && strategy.allowCreateOnUpdate && !obj.metadata.resourceVersion) return { create: clone(obj) };
        throw notFound(type, name);
      }
      const next = clone(obj);
      if (mode === 'finalize') {
        const finalizers = (next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
        cur.spec = { ...(cur.spec ?? {}), finalizers };
        if (!finalizers.length) delete cur.spec.finalizers;
        if (next.metadata.resourceVersion) cur.metadata.resourceVersion = next.metadata.resourceVersion;
        return cur;
      }
      return next;
    });
  }

  /** Applies a patch (json, merge or strategic) to an object or its status/scale. */
  async patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts: RegistryWriteOptions = {},
    ctx: RequestContext = {},
  ): Promise<KubeObject> {
    const strategy = this.strategy(type);
    const ns = this.nsOf(type, namespace);
    // Server-side apply needs managedFields, which this apiserver does not keep.
    if (patchType === 'apply') throw unsupportedMediaType('application/apply-patch+yaml', ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']);
    const sub = opts.subresource;
    if (sub === 'scale') {
      return this.updateScale(type, ns, name, (scale) => applyPatch(ScaleType, scale, patchType, patch), opts, ctx);
    }
    const mode: UpdateMode = sub === 'status' ? 'status' : 'main';
    if (sub && !(mode === 'status' && strategy.hasStatus)) throw methodNotAllowed();
    let warned = false;
    return this.updateLoop(type, ns, name, mode, opts, ctx, (cur) => {
      if (!cur) throw notFound(type, name);
      const next = asObj(applyPatch(type, cur, patchType, patch));
      if (!warned) {
        warned = true;
        this.checkUnknownFields(type, next, opts, ctx, 'patch');
      }
      if (next.metadata.name !== undefined && next.metadata.name !== name) {
        throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`);
      }
      // A resourceVersion the patch did not change is not a precondition.
      if (next.metadata.resourceVersion === cur.metadata.resourceVersion) delete next.metadata.resourceVersion;
      return next;
    });
  }

  private toScale(obj: Obj): KubeObject {
    const spec = (obj.spec ?? {}) as { replicas?: number; selector?: Parameters<typeof labelSelectorFromObject>[0] };
    const status = (obj.status ?? {}) as { replicas?: number };
    const meta: Record<string, unknown> = {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    };
    let selector = '';
    try {
      selector = labelSelectorFromObject(spec.selector).toString();
    } catch {
      selector = '';
    }
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: meta,
      spec: { replicas: spec.replicas ?? 0 },
      status: { replicas: status.replicas ?? 0, selector },
    } as KubeObject;
  }

  private async updateScale(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    newScale: (current: KubeObject) => KubeObject,
    opts: RegistryWriteOptions,
    ctx: RequestContext,
  ): Promise<KubeObject> {
    if (!(type.subresources ?? []).includes('scale')) throw notFound({ group: type.group, resource: `${type.resource}/scale` }, name);
    const updated = await this.updateLoop(type, ns, name, 'main', opts, ctx, (cur) => {
      if (!cur) throw notFound(type, name);
      const scale = asObj(newScale(this.toScale(cur)));
      this.checkTypeMeta(ScaleType, scale, 'Scale', 'autoscaling/v1');
      const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
      if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
        throw invalid(ScaleType, name, [
          { type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` },
        ]);
      }
      if (scale.metadata.resourceVersion && scale.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(type, name);
      const next = clone(cur);
      next.spec = { ...(next.spec ?? {}), replicas: replicas ?? 0 };
      delete next.metadata.resourceVersion;
      return next;
    });
    return this.toScale(updated);
  }

  /** POST to a subresource: `pods/binding`, `pods/eviction`. */
  async createSubresource(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    sub: string,
    body: unknown,
    opts: RegistryWriteOptions = {},
    ctx: RequestContext = {},
  ): Promise<KubeObject> {
    const ns = this.nsOf(type, namespace);
    const isPods = type.group === '' && type.resource === 'pods';
    if (isPods && sub === 'binding') return this.bind(ns!, name, asObj(clone(body)), opts);
    if (isPods && sub === 'eviction') {
      const ev = asObj(clone(body)) as Obj & { deleteOptions?: DeleteOptions };
      await this.delete(type, ns, name, ev.deleteOptions ?? {}, ctx);
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as KubeObject;
    }
    throw methodNotAllowed();
  }

  /** `pods/binding`: sets spec.nodeName once (409 when already bound or deleting). */
  private async bind(ns: string, name: string, binding: Obj, opts: RegistryWriteOptions): Promise<KubeObject> {
    const BindingRes = { group: '', resource: 'pods/binding' };
    if (binding.metadata.name && binding.metadata.name !== name) {
      throw badRequest(`the name of the object (${binding.metadata.name}) does not match the name on the URL (${name})`);
    }
    const target = (binding.target ?? {}) as { kind?: string; name?: string };
    if (!target.name) {
      throw invalid({ group: '', kind: 'Binding' }, name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
    }
    if (target.kind && target.kind !== 'Node') {
      throw invalid({ group: '', kind: 'Binding' }, name, [
        { type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: ${JSON.stringify(target.kind)}: supported values: "Node"` },
      ]);
    }
    const key = this.key(Pods, ns, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get<Obj>(key);
      if (!cur) throw notFound(Pods, name);
      const spec = (cur.spec ?? (cur.spec = {})) as { nodeName?: string };
      if (cur.metadata.deletionTimestamp) throw conflict(BindingRes, name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (spec.nodeName) throw conflict(BindingRes, name, `pod ${name} is already assigned to node ${JSON.stringify(spec.nodeName)}`);
      spec.nodeName = target.name;
      if (binding.metadata.annotations) cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), ...binding.metadata.annotations };
      // kube's BindingREST also records PodScheduled=True (setPodHostAndAnnotations).
      const status = (cur.status ?? (cur.status = {})) as { conditions?: { type: string; status: string; lastProbeTime?: string | null; lastTransitionTime?: string }[] };
      const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: this.now() });
      status.conditions = conds;
      if (opts.dryRun) break;
      try {
        await this.store.update(key, cur, { expectedRevision: Number(cur.metadata.resourceVersion) });
        break;
      } catch (err) {
        if (isStorageConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw this.storageToApi(Pods, name, err);
      }
    }
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as KubeObject;
  }

  // ---------------------------------------------------------------------------------------
  // Deletes

  /**
   * Deletes an object: preconditions, graceful deletion (pods), finalizers and the
   * propagation-policy finalizers (`orphan`, `foregroundDeletion`). An object that lingers
   * is returned (with deletionTimestamp); one removed now is returned for pods, services and
   * namespaces and otherwise reported by a success Status, as kube-apiserver does.
   */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
    _ctx: RequestContext = {},
  ): Promise<KubeObject | Status> {
    const strategy = this.strategy(type);
    const ns = this.nsOf(type, namespace);
    const isNamespace = type.group === '' && type.resource === 'namespaces';
    if (isNamespace && IMMORTAL_NAMESPACES.includes(name)) throw forbidden(type, name, 'this namespace may not be deleted');
    const key = this.key(type, ns, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get<Obj>(key);
      if (!cur) throw notFound(type, name);
      checkPreconditions(type, name, cur, opts.preconditions);
      const next = clone(cur);
      const rv = Number(cur.metadata.resourceVersion);
      let graceful = false;
      let pending = false;

      if (isNamespace) {
        const specFinalizers = (cur.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
        if (!cur.metadata.deletionTimestamp && specFinalizers.length > 0) {
          next.metadata.deletionTimestamp = this.now();
          next.status = { ...(next.status ?? {}), phase: 'Terminating' };
          this.applyGcFinalizers(next, opts);
          graceful = true;
        } else if (specFinalizers.length > 0) {
          pending = true;
        }
      } else if (cur.metadata.deletionTimestamp) {
        const grace = cur.metadata.deletionGracePeriodSeconds;
        if (grace !== undefined && grace > 0) {
          const requested = opts.gracePeriodSeconds;
          if (requested === undefined || requested >= grace) pending = true;
          else if (requested > 0) {
            // Only a shorter grace period may be given; the deadline moves earlier.
            const deadline = Date.parse(cur.metadata.deletionTimestamp) - grace * 1000 + requested * 1000;
            next.metadata.deletionTimestamp = rfc3339(deadline);
            next.metadata.deletionGracePeriodSeconds = requested;
            graceful = true;
          }
        }
      } else if (strategy.gracePeriod) {
        const period = strategy.gracePeriod(cur, opts.gracePeriodSeconds);
        if (period !== undefined && period > 0) {
          next.metadata.deletionTimestamp = rfc3339(this.clock.now() + period * 1000);
          next.metadata.deletionGracePeriodSeconds = period;
          if (next.metadata.generation) next.metadata.generation += 1;
          graceful = true;
        }
      }
      if (pending) return cur;
      if (!isNamespace) this.applyGcFinalizers(next, opts);
      const finalizers = next.metadata.finalizers ?? [];
      if (graceful || finalizers.length > 0) {
        if (!graceful && !next.metadata.deletionTimestamp) {
          // markAsDeleting: finalizers hold the object; no grace period to wait for.
          next.metadata.deletionTimestamp = this.now();
          next.metadata.deletionGracePeriodSeconds = 0;
          if (next.metadata.generation) next.metadata.generation += 1;
        }
        if (deepEqual(next, cur)) return cur;
        if (opts.dryRun) return next;
        try {
          return await this.store.update<Obj>(key, next, { expectedRevision: rv });
        } catch (err) {
          if ((isStorageConflict(err) || isKeyNotFound(err)) && attempt < MAX_CONFLICT_RETRIES) continue;
          throw this.storageToApi(type, name, err);
        }
      }
      if (opts.dryRun) return strategy.returnDeletedObject ? cur : statusSuccess(type, name, cur.metadata.uid);
      try {
        const deleted = await this.store.delete<Obj>(key, { expectedRevision: rv });
        this.onRemoved(type, deleted);
        return strategy.returnDeletedObject ? deleted : statusSuccess(type, name, cur.metadata.uid);
      } catch (err) {
        if ((isStorageConflict(err) || isKeyNotFound(err)) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw this.storageToApi(type, name, err);
      }
    }
  }

  /** deletionFinalizersForGarbageCollection: the policy's finalizer replaces the other one. */
  private applyGcFinalizers(obj: Obj, opts: DeleteOptions): void {
    const policy = opts.propagationPolicy;
    if (!policy) return;
    let f = (obj.metadata.finalizers ?? []).filter((x) => x !== 'orphan' && x !== 'foregroundDeletion');
    if (policy === 'Orphan') f = [...f, 'orphan'];
    if (policy === 'Foreground') f = [...f, 'foregroundDeletion'];
    if (f.length) obj.metadata.finalizers = f;
    else delete obj.metadata.finalizers;
  }

  /** Deletes every object of a collection matching the selectors. Returns the results as a list. */
  async deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    listOpts: ListOptions = {},
    opts: DeleteOptions = {},
    ctx: RequestContext = {},
  ): Promise<ObjectList<KubeObject>> {
    if (!type.verbs.includes('deletecollection')) throw methodNotAllowed();
    const list = await this.list(type, { ...listOpts, namespace, limit: undefined, continue: undefined });
    const items: KubeObject[] = [];
    for (const o of list.items) {
      try {
        const r = await this.delete(type, o.metadata.namespace, o.metadata.name ?? '', opts, ctx);
        if ((r as Status).kind !== 'Status') items.push(r as KubeObject);
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 404)) throw err;
      }
    }
    return { apiVersion: apiVersionOf(type), kind: `${type.kind}List`, metadata: { resourceVersion: String(await this.store.currentRevision()) }, items };
  }

  /** Bookkeeping after an object left the store. */
  private onRemoved(type: ResourceType, obj: Obj): void {
    if (type.group === '' && type.resource === 'services') this.allocations.release(obj);
  }

  /** Turns storage failures into API errors. */
  storageToApi(type: ResourceType, name: string, err: unknown, context?: 'continue'): ApiError {
    if (err instanceof ApiError) return err;
    const se = asStorageError(err);
    if (se?.kind === 'KeyNotFound') return notFound(type, name);
    if (se?.kind === 'KeyExists') return alreadyExists(type, name);
    if (se?.kind === 'Conflict') return conflict(type, name, undefined, err);
    if (se?.kind === 'Expired') {
      if (context === 'continue') {
        return expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          err,
        );
      }
      return expired(se.message, err);
    }
    if (se?.kind === 'TooLarge') return timeout(se.message);
    return internalError(errorMessage(err), err);
  }

  /** Validation errors as a 422 for `type` (for callers composing their own checks). */
  invalid(type: ResourceType, name: string, errs: FieldError[]): ApiError {
    return invalid(type, name, errs);
  }
}
