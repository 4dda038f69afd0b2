/**
 * The in-memory {@link Store}: the companion control plane's embedded default.
 *
 * Values are kept as JSON text (so nothing is shared with callers), with etcd-like
 * create/mod revisions. A bounded history of events serves watches from a past revision
 * and lists at a past revision (by undoing newer events over the current state); older
 * revisions are "compacted" and fail with `Expired`. Optionally the whole state is written
 * to a JSON snapshot file periodically and on close, and loaded at start; the history is
 * not persisted, so after a restart watches must start from the loaded revision or later.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KubeObject } from '../../lib/kube/client.js';
import { realClock, type Clock, type Timer } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import { StorageError } from './errors.js';
import { AsyncQueue } from './queue.js';
import type {
  Store,
  StoreEvent,
  StoreEventType,
  StoreListOptions,
  StoreListResult,
  StoreWatch,
  StoreWriteOptions,
  UpdateDecision,
} from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  clock?: Clock;
  logger?: Logger;
  /** Events kept for watch replay and historical lists (the "compaction" window). Default 10000. */
  historySize?: number;
  /** JSON snapshot file: loaded at construction when present, written on close. */
  snapshotFile?: string;
  /** Also write the snapshot this often (ms) when something changed. 0/absent: only on close. */
  snapshotIntervalMs?: number;
  /** Events a slow watcher may have buffered before it is closed. Default 100000. */
  watcherBuffer?: number;
}

interface Entry {
  /** JSON of the object, without `metadata.resourceVersion`. */
  value: string;
  createRevision: number;
  modRevision: number;
  /** Epoch ms when a TTL expires the key. */
  expiresAt?: number;
}

interface HistoryEvent {
  type: StoreEventType;
  key: string;
  revision: number;
  /** For ADDED/MODIFIED the new value; for DELETED the last value. */
  value: string;
  prev?: Entry;
}

interface Watcher {
  prefix: string;
  queue: AsyncQueue<StoreEvent>;
}

/** Format of the snapshot file. */
interface Snapshot {
  version: 1;
  revision: number;
  entries: { key: string; createRevision: number; modRevision: number; expiresAt?: number; object: unknown }[];
}

function withRV<T extends KubeObject>(value: string, rev: number): T {
  const obj = JSON.parse(value) as T;
  obj.metadata = obj.metadata ?? {};
  (obj.metadata as { resourceVersion?: string }).resourceVersion = String(rev);
  return obj;
}

function serialize(obj: KubeObject): string {
  if (!obj.metadata || obj.metadata.resourceVersion === undefined) return JSON.stringify(obj);
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return JSON.stringify({ ...obj, metadata: meta });
}

/** The embedded memory store. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly clock: Clock;
  private readonly logger?: Logger;
  private readonly historySize: number;
  private readonly watcherBuffer: number;
  private readonly snapshotFile?: string;
  private data = new Map<string, Entry>();
  private history: HistoryEvent[] = [];
  private revision = 1;
  /** Every event with a revision above this one is in `history`. */
  private compacted = 0;
  private watchers = new Set<Watcher>();
  private ttlTimer?: { at: number; timer: Timer };
  private snapshotTimer?: Timer;
  private dirty = false;
  private closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger;
    this.historySize = Math.max(1, opts.historySize ?? 10_000);
    this.watcherBuffer = opts.watcherBuffer ?? 100_000;
    this.snapshotFile = opts.snapshotFile;
    if (this.snapshotFile && existsSync(this.snapshotFile)) this.loadSnapshot(this.snapshotFile);
    this.scheduleTtl();
    const every = opts.snapshotIntervalMs ?? 0;
    if (this.snapshotFile && every > 0) {
      const tick = (): void => {
        if (this.closed) return;
        const done = this.dirty ? this.saveSnapshot() : Promise.resolve();
        void done.finally(() => {
          if (!this.closed) this.snapshotTimer = this.clock.setTimer(every, tick);
        });
      };
      this.snapshotTimer = this.clock.setTimer(every, tick);
    }
  }

  private loadSnapshot(file: string): void {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    if (snap.version !== 1) throw new StorageError('Internal', '', `unsupported snapshot version ${String(snap.version)} in ${file}`);
    for (const e of snap.entries) {
      this.data.set(e.key, {
        value: JSON.stringify(e.object),
        createRevision: e.createRevision,
        modRevision: e.modRevision,
        expiresAt: e.expiresAt,
      });
    }
    this.revision = Math.max(1, snap.revision);
    this.compacted = this.revision;
    this.logger?.info({ file, revision: this.revision, keys: this.data.size }, 'loaded store snapshot');
  }

  /** Writes the snapshot file now (atomically: temp file + rename, mode 0600). */
  async saveSnapshot(): Promise<void> {
    if (!this.snapshotFile) return;
    const snap: Snapshot = { version: 1, revision: this.revision, entries: [] };
    for (const [key, e] of [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      snap.entries.push({ key, createRevision: e.createRevision, modRevision: e.modRevision, expiresAt: e.expiresAt, object: JSON.parse(e.value) });
    }
    this.dirty = false;
    const tmp = `${this.snapshotFile}.tmp-${process.pid}`;
    try {
      await mkdir(dirname(this.snapshotFile), { recursive: true });
      await writeFile(tmp, JSON.stringify(snap), { mode: 0o600 });
      await rename(tmp, this.snapshotFile);
    } catch (err) {
      this.dirty = true;
      this.logger?.error({ err: errorMessage(err), file: this.snapshotFile }, 'writing store snapshot failed');
      throw new StorageError('Internal', '', `writing snapshot ${this.snapshotFile}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async currentRevision(): Promise<number> {
    return this.revision;
  }

  /** Synchronous {@link currentRevision}, for the memory store's own users. */
  revisionNow(): number {
    return this.revision;
  }

  /** The oldest revision a watch may still start from. */
  compactedRevision(): number {
    return this.compacted;
  }

  async get<T extends KubeObject>(key: string): Promise<T | undefined> {
    const e = this.data.get(key);
    return e ? withRV<T>(e.value, e.modRevision) : undefined;
  }

  async list<T extends KubeObject>(prefix: string, opts: StoreListOptions = {}): Promise<StoreListResult<T>> {
    let view: Map<string, Entry> = this.data;
    let revision = this.revision;
    if (opts.revision && opts.revision !== this.revision) {
      if (opts.revision > this.revision) {
        throw new StorageError('TooLarge', prefix, `Too large resource version: ${opts.revision}, current: ${this.revision}`, {
          requestedRevision: opts.revision,
          currentRevision: this.revision,
        });
      }
      view = this.stateAt(prefix, opts.revision);
      revision = opts.revision;
    }
    const keys: string[] = [];
    for (const k of view.keys()) if (k.startsWith(prefix) && (!opts.startKey || k >= opts.startKey)) keys.push(k);
    keys.sort();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : keys.length;
    const page = keys.slice(0, limit);
    return {
      items: page.map((k) => {
        const e = view.get(k)!;
        return withRV<T>(e.value, e.modRevision);
      }),
      keys: page,
      revision,
      remaining: keys.length - page.length,
    };
  }

  /** The entries under `prefix` as they were at `rev`, rebuilt by undoing newer events. */
  private stateAt(prefix: string, rev: number): Map<string, Entry> {
    if (rev < this.compacted) {
      throw new StorageError('Expired', prefix, `too old resource version: ${rev} (${this.compacted})`, {
        requestedRevision: rev,
        compactedRevision: this.compacted,
      });
    }
    const view = new Map<string, Entry>();
    for (const [k, e] of this.data) if (k.startsWith(prefix)) view.set(k, e);
    for (let i = this.history.length - 1; i >= 0 && this.history[i].revision > rev; i--) {
      const ev = this.history[i];
      if (!ev.key.startsWith(prefix)) continue;
      if (ev.prev) view.set(ev.key, ev.prev);
      else view.delete(ev.key);
    }
    return view;
  }

  async create<T extends KubeObject>(key: string, obj: T, opts: StoreWriteOptions = {}): Promise<T> {
    this.assertOpen(key);
    if (this.data.has(key)) throw new StorageError('KeyExists', key, `key exists: ${key}`);
    const rev = ++this.revision;
    const entry: Entry = { value: serialize(obj), createRevision: rev, modRevision: rev, expiresAt: this.expiry(opts.ttlSeconds) };
    this.data.set(key, entry);
    this.commit({ type: 'ADDED', key, revision: rev, value: entry.value });
    return withRV<T>(entry.value, rev);
  }

  async update<T extends KubeObject>(key: string, obj: T, opts: StoreWriteOptions = {}): Promise<T> {
    this.assertOpen(key);
    const prev = this.data.get(key);
    if (!prev) throw new StorageError('KeyNotFound', key, `key not found: ${key}`);
    this.checkRevision(key, prev, opts.expectedRevision);
    const rev = ++this.revision;
    const entry: Entry = {
      value: serialize(obj),
      createRevision: prev.createRevision,
      modRevision: rev,
      expiresAt: opts.ttlSeconds !== undefined ? this.expiry(opts.ttlSeconds) : prev.expiresAt,
    };
    this.data.set(key, entry);
    this.commit({ type: 'MODIFIED', key, revision: rev, value: entry.value, prev });
    return withRV<T>(entry.value, rev);
  }

  async delete<T extends KubeObject>(key: string, opts: Pick<StoreWriteOptions, 'expectedRevision'> = {}): Promise<T> {
    this.assertOpen(key);
    return this.deleteNow<T>(key, opts.expectedRevision);
  }

  private deleteNow<T extends KubeObject>(key: string, expectedRevision?: number): T {
    const prev = this.data.get(key);
    if (!prev) throw new StorageError('KeyNotFound', key, `key not found: ${key}`);
    this.checkRevision(key, prev, expectedRevision);
    const rev = ++this.revision;
    this.data.delete(key);
    this.commit({ type: 'DELETED', key, revision: rev, value: prev.value, prev });
    return withRV<T>(prev.value, rev);
  }

  async guaranteedUpdate<T extends KubeObject>(
    key: string,
    tryUpdate: (current: T) => UpdateDecision<T> | Promise<UpdateDecision<T>>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const cur = this.data.get(key);
      if (!cur) throw new StorageError('KeyNotFound', key, `key not found: ${key}`);
      const decision = await tryUpdate(withRV<T>(cur.value, cur.modRevision));
      const next = serialize(decision.object);
      const now = this.data.get(key);
      if (!now) throw new StorageError('KeyNotFound', key, `key not found: ${key}`);
      if (now.modRevision !== cur.modRevision) {
        if (attempt > 100) throw new StorageError('Conflict', key, `too many conflicts updating ${key}`);
        continue;
      }
      if (next === cur.value && decision.ttlSeconds === undefined) return withRV<T>(cur.value, cur.modRevision);
      return this.update<T>(key, decision.object, { expectedRevision: cur.modRevision, ttlSeconds: decision.ttlSeconds });
    }
  }

  async watch<T extends KubeObject>(prefix: string, fromRevision: number): Promise<StoreWatch<T>> {
    this.assertOpen(prefix);
    if (fromRevision < this.compacted) {
      throw new StorageError('Expired', prefix, `too old resource version: ${fromRevision} (${this.compacted})`, {
        requestedRevision: fromRevision,
        compactedRevision: this.compacted,
      });
    }
    const watcher: Watcher = {
      prefix,
      queue: new AsyncQueue<StoreEvent>({
        maxBuffered: this.watcherBuffer,
        onClose: () => this.watchers.delete(watcher),
        overflowError: () => new StorageError('Internal', prefix, 'watcher fell too far behind and was closed'),
      }),
    };
    for (const ev of this.history) {
      if (ev.revision > fromRevision && ev.key.startsWith(prefix)) watcher.queue.push(toEvent(ev));
    }
    this.watchers.add(watcher);
    const q = watcher.queue as unknown as AsyncQueue<StoreEvent<T>>;
    return {
      close: () => q.close(),
      [Symbol.asyncIterator]: () => q[Symbol.asyncIterator](),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ttlTimer?.timer.cancel();
    this.snapshotTimer?.cancel();
    for (const w of [...this.watchers]) w.queue.end();
    this.watchers.clear();
    if (this.snapshotFile) await this.saveSnapshot();
  }

  private assertOpen(key: string): void {
    if (this.closed) throw new StorageError('Internal', key, 'store is closed');
  }

  private checkRevision(key: string, e: Entry, expected: number | undefined): void {
    if (expected !== undefined && expected !== e.modRevision) {
      throw new StorageError('Conflict', key, `revision mismatch on ${key}: expected ${expected}, have ${e.modRevision}`, {
        currentRevision: e.modRevision,
      });
    }
  }

  private expiry(ttlSeconds: number | undefined): number | undefined {
    if (ttlSeconds === undefined || ttlSeconds <= 0) return undefined;
    return this.clock.now() + ttlSeconds * 1000;
  }

  private commit(ev: HistoryEvent): void {
    this.dirty = true;
    this.history.push(ev);
    while (this.history.length > this.historySize) this.compacted = this.history.shift()!.revision;
    for (const w of this.watchers) if (ev.key.startsWith(w.prefix)) w.queue.push(toEvent(ev));
    if (ev.type !== 'DELETED') {
      const e = this.data.get(ev.key);
      if (e?.expiresAt !== undefined) this.scheduleTtl();
    }
  }

  /** Arms one timer for the earliest TTL expiry; the sweep deletes every expired key. */
  private scheduleTtl(): void {
    if (this.closed) return;
    let earliest = Infinity;
    for (const e of this.data.values()) if (e.expiresAt !== undefined && e.expiresAt < earliest) earliest = e.expiresAt;
    if (earliest === Infinity) return;
    if (this.ttlTimer && this.ttlTimer.at <= earliest) return;
    this.ttlTimer?.timer.cancel();
    const at = earliest;
    this.ttlTimer = {
      at,
      timer: this.clock.setTimer(at - this.clock.now(), () => {
        this.ttlTimer = undefined;
        this.sweep();
      }),
    };
  }

  private sweep(): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (const [key, e] of [...this.data.entries()]) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) this.deleteNow(key);
    }
    this.scheduleTtl();
  }
}

function toEvent(ev: HistoryEvent): StoreEvent {
  const out: StoreEvent = { type: ev.type, key: ev.key, revision: ev.revision, object: withRV(ev.value, ev.revision) };
  if (ev.prev) out.prevObject = withRV(ev.prev.value, ev.prev.modRevision);
  return out;
}
