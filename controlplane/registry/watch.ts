/**
 * Registry watches: a store watch filtered through label and field selectors the way
 * kube-apiserver's cacher filters (an object that stops matching is reported as DELETED to
 * that watcher, one that starts matching as ADDED), with periodic BOOKMARK events and a
 * server-side timeout.
 */
import type { WatchEvent, WatchEventType, WatchStream } from '../../lib/kube/client.js';
import type { Clock, Timer } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import type { StoreWatch } from '../store/index.js';
import { AsyncQueue } from '../store/index.js';
import type { Obj } from './meta.js';

/** Parameters of {@link startWatch}. */
export interface WatchPipeOptions {
  clock: Clock;
  logger?: Logger;
  /** The store watch to read from (already positioned). */
  source: StoreWatch<Obj>;
  /** Synthetic ADDED events sent first (RV unset/"0", or sendInitialEvents). */
  initial?: Obj[];
  /** The revision the watch starts at (the initial state's revision or the requested one). */
  startRevision: number;
  /** True when the object passes the label and field selectors. */
  matches: (obj: Obj) => boolean;
  /** `kind`/`apiVersion` for BOOKMARK objects. */
  kind: string;
  apiVersion: string;
  /** Emit BOOKMARKs every `bookmarkIntervalMs`. */
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  /** After the initial events, one BOOKMARK annotated `k8s.io/initial-events-end`. */
  initialEventsEndBookmark?: boolean;
  /** End the watch after this many seconds. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
  /** Turns an unexpected source failure into an ERROR event object (a Status). */
  errorToStatus: (err: unknown) => unknown;
}

/** Starts piping a store watch into a filtered client watch stream. */
export function startWatch(o: WatchPipeOptions): WatchStream<Obj> {
  const timers: Timer[] = [];
  let lastRevision = o.startRevision;
  const queue = new AsyncQueue<WatchEvent<Obj>>({
    maxBuffered: 100_000,
    onClose: () => {
      for (const t of timers) t.cancel();
      o.source.close();
      o.signal?.removeEventListener('abort', onAbort);
    },
  });
  const onAbort = (): void => queue.close();
  if (o.signal?.aborted) queue.close();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const bookmark = (annotations?: Record<string, string>): void => {
    const metadata: Record<string, unknown> = { resourceVersion: String(lastRevision) };
    if (annotations) metadata.annotations = annotations;
    queue.push({ type: 'BOOKMARK', object: { kind: o.kind, apiVersion: o.apiVersion, metadata } as Obj });
  };

  for (const obj of o.initial ?? []) queue.push({ type: 'ADDED', object: obj });
  if (o.initialEventsEndBookmark) bookmark({ 'k8s.io/initial-events-end': 'true' });

  if (o.bookmarks && o.bookmarkIntervalMs > 0) {
    const tick = (): void => {
      if (queue.closed) return;
      bookmark();
      timers.push(o.clock.setTimer(o.bookmarkIntervalMs, tick));
    };
    timers.push(o.clock.setTimer(o.bookmarkIntervalMs, tick));
  }
  if (o.timeoutSeconds !== undefined && o.timeoutSeconds > 0) {
    timers.push(o.clock.setTimer(o.timeoutSeconds * 1000, () => queue.end()));
  }

  void (async () => {
    try {
      for await (const ev of o.source) {
        if (queue.closed) break;
        lastRevision = ev.revision;
        const now = o.matches(ev.object);
        const before = ev.prevObject !== undefined && o.matches(ev.prevObject);
        let type: WatchEventType | undefined;
        if (ev.type === 'ADDED') type = now ? 'ADDED' : undefined;
        else if (ev.type === 'DELETED') type = before ? 'DELETED' : undefined;
        else if (now && before) type = 'MODIFIED';
        else if (now) type = 'ADDED';
        else if (before) type = 'DELETED';
        if (type) queue.push({ type, object: ev.object });
      }
      queue.end();
    } catch (err) {
      o.logger?.debug({ err: errorMessage(err) }, 'watch source ended with an error');
      queue.push({ type: 'ERROR', object: o.errorToStatus(err) as Obj });
      queue.end();
    }
  })();

  return {
    close: () => queue.close(),
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}
