/**
 * A shared informer: list, then watch from the list's resourceVersion, keeping a local cache
 * and calling handlers for each change (client-go's Reflector + DeltaFIFO + Indexer, reduced
 * to what Skiff needs).
 *
 * ```
 *   start ──► LIST (paged) ──► replace cache, emit add/update/delete diffs ──► synced
 *                ▲                                                         │
 *                │ 410 Gone / ERROR 410                                    ▼
 *                └───────────────────────────────────── WATCH from lastRV ◄─┐
 *                      connection error: back off, re-WATCH from lastRV ────┘
 * ```
 *
 * Objects in the cache are deep-frozen by default: handlers and readers must copy before
 * changing anything (`structuredClone`).
 */
import type { Status } from 'kubernetes-types/meta/v1.js';
import { realClock, type Clock } from '../clock.js';
import { isAborted, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { KeyedBackoff } from '../backoff.js';
import { ApiError, isGone } from './errors.js';
import type { ResourceType } from './resources.js';
import { objectKey, type KubeClient, type KubeObject } from './client.js';

/** Callbacks for cache changes. They run synchronously; keep them short (enqueue a key). */
export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the initial list. Default 500. */
  pageSize?: number;
  /** Deep-freeze cached objects (default true). */
  freeze?: boolean;
  /** Trims each object before caching (e.g. drop managedFields). */
  transform?: (obj: T) => T;
  logger?: Logger;
  clock?: Clock;
  /** Random source for watch timeouts and backoff jitter. */
  random?: () => number;
}

type IndexFn<T> = (obj: T) => string[];

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** Keeps a cache of one resource type in sync with the apiserver. */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly indexers = new Map<string, { fn: IndexFn<T>; index: Map<string, Set<string>> }>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: KeyedBackoff;
  private ac?: AbortController;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private lastRV = '';
  private running?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    private readonly type: ResourceType,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.logger = (opts.logger ?? silentLogger()).child({ informer: type.resource });
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.backoff = new KeyedBackoff({ initialMs: 800, maxMs: 30_000, factor: 2, jitter: 0.5, resetAfterMs: 120_000 }, this.clock, this.random);
  }

  /** Registers handlers. Added after sync, the handler first receives `onAdd` for every cached object. */
  addHandler(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    if (this.synced) for (const o of this.cache.values()) h.onAdd?.(o);
  }

  /** Adds a secondary index (e.g. pods by node, slices by service). */
  addIndex(name: string, fn: IndexFn<T>): void {
    const index = new Map<string, Set<string>>();
    for (const [k, o] of this.cache) for (const v of fn(o)) (index.get(v) ?? index.set(v, new Set()).get(v)!).add(k);
    this.indexers.set(name, { fn, index });
  }

  /** Cached objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const ix = this.indexers.get(name);
    if (!ix) throw new Error(`informer ${this.type.resource}: no index ${name}`);
    return [...(ix.index.get(value) ?? [])].map((k) => this.cache.get(k)!).filter(Boolean);
  }

  /** The cached object with key `namespace/name` (or `name`). */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** The resourceVersion of the last list, watch event or bookmark. */
  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the first list has been loaded. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Starts the list/watch loop in the background. */
  start(): void {
    if (this.running) return;
    this.ac = new AbortController();
    this.running = this.run(this.ac.signal);
  }

  /** Stops the loop and waits for it to end. */
  async stop(): Promise<void> {
    this.ac?.abort();
    await this.running;
    this.running = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        await this.watchOnce(signal);
        this.backoff.reset('watch');
      } catch (err) {
        if (signal.aborted || isAborted(err)) return;
        if (isGone(err)) {
          this.logger.info({ rv: this.lastRV }, 'watch expired, relisting');
          needList = true;
          continue;
        }
        const delay = this.backoff.next('watch');
        this.logger.warn({ err: errorMessage(err), retryInMs: Math.round(delay) }, needList ? 'list failed' : 'watch failed');
        try {
          await this.clock.sleep(delay, signal);
        } catch {
          return;
        }
      }
    }
  }

  private listOpts(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    return { namespace: this.opts.namespace, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private prepare(obj: T): T {
    let o = this.opts.transform ? this.opts.transform(obj) : obj;
    if (o.kind === undefined && this.type.kind) o = { ...o, kind: this.type.kind };
    return this.opts.freeze === false ? o : deepFreeze(o);
  }

  private async relist(signal: AbortSignal): Promise<void> {
    // With an empty cache a list has nothing to remove: each page goes to the handlers as it
    // arrives, so they work while the next page is on its way (a large first list). Otherwise
    // the cache is replaced at once, deletions judged against one complete list.
    const incremental = this.cache.size === 0;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(this.type, { ...this.listOpts(), limit: this.opts.pageSize ?? 500, continue: cont, signal });
      if (incremental) for (const o of page.items) this.upsert(this.prepare(o));
      else items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    if (!incremental) this.replace(items.map((o) => this.prepare(o)));
    this.lastRV = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = Math.floor(300 + this.random() * 300);
    const stream = await this.client.watch<T>(this.type, {
      ...this.listOpts(),
      resourceVersion: this.lastRV,
      allowWatchBookmarks: true,
      timeoutSeconds,
      signal,
    });
    try {
      for await (const ev of stream) {
        if (ev.type === 'ERROR') {
          const st = ev.object as unknown as Status;
          throw new ApiError({ ...st, kind: 'Status', code: st.code ?? 500 });
        }
        const rv = ev.object?.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (rv) this.lastRV = rv;
          continue;
        }
        const obj = this.prepare(ev.object);
        if (ev.type === 'DELETED') this.remove(objectKey(obj), obj);
        else this.upsert(obj);
        if (rv) this.lastRV = rv;
      }
    } finally {
      stream.close();
    }
  }

  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const o of items) {
      const key = objectKey(o);
      seen.add(key);
      this.upsert(o);
    }
    for (const [key, old] of [...this.cache]) if (!seen.has(key)) this.remove(key, old);
  }

  private upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion && old.metadata?.uid === obj.metadata?.uid) return;
    this.cache.set(key, obj);
    this.reindex(key, old, obj);
    for (const h of this.handlers) {
      try {
        if (old) h.onUpdate?.(old, obj);
        else h.onAdd?.(obj);
      } catch (err) {
        this.logger.error({ err: errorMessage(err), key }, 'informer handler failed');
      }
    }
  }

  private remove(key: string, last: T): void {
    const old = this.cache.get(key);
    if (!old) return;
    this.cache.delete(key);
    this.reindex(key, old, undefined);
    for (const h of this.handlers) {
      try {
        h.onDelete?.(last ?? old);
      } catch (err) {
        this.logger.error({ err: errorMessage(err), key }, 'informer handler failed');
      }
    }
  }

  private reindex(key: string, oldObj: T | undefined, newObj: T | undefined): void {
    for (const { fn, index } of this.indexers.values()) {
      if (oldObj) for (const v of fn(oldObj)) index.get(v)?.delete(key);
      if (newObj) for (const v of fn(newObj)) (index.get(v) ?? index.set(v, new Set()).get(v)!).add(key);
    }
  }
}
