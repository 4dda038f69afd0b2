/**
 * The storage interface of the companion control plane. It has etcd3's semantics so that
 * the memory implementation and an etcd implementation are interchangeable:
 *
 * - one global, monotonic revision counter; every write (create, update, delete, TTL
 *   expiry) bumps it by one;
 * - an object's `metadata.resourceVersion` is its mod revision (the store sets it on every
 *   object it returns and strips it from what it persists);
 * - `update` and `delete` can compare-and-swap on the key's mod revision;
 * - `watch` replays events after a revision from a bounded history window; a revision older
 *   than the window fails with an `Expired` {@link StorageError}, as a compacted etcd does;
 * - objects are stored as JSON text: nothing a caller holds is shared with the store.
 *
 * Keys look like kube-apiserver's: `/registry/<resource>/<namespace>/<name>`.
 */
import type { KubeObject } from '../../lib/kube/client.js';

/** The type of a change, as a watch reports it. */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change of one key. */
export interface StoreEvent<T extends KubeObject = KubeObject> {
  type: StoreEventType;
  key: string;
  /** The revision of this change. */
  revision: number;
  /**
   * The object after the change (resourceVersion = `revision`). For `DELETED`, the last
   * state before deletion, its resourceVersion set to the deletion's revision (as etcd3's
   * watcher reports it).
   */
  object: T;
  /** The object before the change (absent for `ADDED`). */
  prevObject?: T;
}

/** An open watch on a key prefix. Iterate it; `close()` ends it. */
export interface StoreWatch<T extends KubeObject = KubeObject> extends AsyncIterable<StoreEvent<T>> {
  close(): void;
}

/** Options of {@link Store.list}. */
export interface StoreListOptions {
  /** List the state as of this revision (0/absent: the current state). */
  revision?: number;
  /** Only keys strictly greater than or equal to this one (pagination). */
  startKey?: string;
  /** At most this many items (0/absent: no limit). */
  limit?: number;
}

/** Result of {@link Store.list}. */
export interface StoreListResult<T extends KubeObject = KubeObject> {
  items: T[];
  /** Keys of `items`, in the same order. */
  keys: string[];
  /** The revision the list reflects. */
  revision: number;
  /** Items after the last returned one (only counted when `limit` cut the list). */
  remaining: number;
}

/** Options of a write. */
export interface StoreWriteOptions {
  /** Compare-and-swap: fail with `Conflict` unless the key's mod revision equals this. */
  expectedRevision?: number;
  /** Expire (delete) the key this many seconds after the write, as an etcd lease does. */
  ttlSeconds?: number;
}

/** Return value of a `guaranteedUpdate` callback. */
export interface UpdateDecision<T extends KubeObject> {
  /** The new object to store. Returning the current object unchanged writes nothing. */
  object: T;
  ttlSeconds?: number;
}

/** The storage backend. All methods return deep copies; callers may mutate what they get. */
export interface Store {
  /** `memory` or `etcd3`. */
  readonly kind: string;
  /** The revision of the latest write. */
  currentRevision(): Promise<number>;
  /** The object at `key`, or undefined. */
  get<T extends KubeObject>(key: string): Promise<T | undefined>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list<T extends KubeObject>(prefix: string, opts?: StoreListOptions): Promise<StoreListResult<T>>;
  /** Stores a new key; fails with `KeyExists` when present. Returns the stored object. */
  create<T extends KubeObject>(key: string, obj: T, opts?: StoreWriteOptions): Promise<T>;
  /** Replaces an existing key; fails with `KeyNotFound` or (CAS) `Conflict`. */
  update<T extends KubeObject>(key: string, obj: T, opts?: StoreWriteOptions): Promise<T>;
  /** Removes a key; returns its last state with the deletion's revision. */
  delete<T extends KubeObject>(key: string, opts?: Pick<StoreWriteOptions, 'expectedRevision'>): Promise<T>;
  /**
   * Events on keys under `prefix` after `fromRevision` (exclusive), then live ones.
   * Throws `Expired` when `fromRevision` is older than the history window, `TooLarge`
   * when it is in the future.
   */
  watch<T extends KubeObject>(prefix: string, fromRevision: number): Promise<StoreWatch<T>>;
  /**
   * Read-modify-write with compare-and-swap, retried on conflict (apiserver's
   * `GuaranteedUpdate`). `tryUpdate` gets a private copy of the current object and returns
   * the new one (or throws to abort). A result equal to the current object is not written.
   */
  guaranteedUpdate<T extends KubeObject>(
    key: string,
    tryUpdate: (current: T) => UpdateDecision<T> | Promise<UpdateDecision<T>>,
  ): Promise<T>;
  /** Stops timers, writes a final snapshot where configured, ends every watch. */
  close(): Promise<void>;
}
