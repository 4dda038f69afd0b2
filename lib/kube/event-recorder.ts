/**
 * Records Kubernetes Events the way client-go's EventRecorder + EventCorrelator do (used by
 * the agent as kubelet, and by the control plane's scheduler and controllers): events with the same (object, type, reason, message) within 10 minutes are
 * aggregated into one Event whose `count` and `lastTimestamp` advance; sending is
 * asynchronous, rate-limited (eventRecordQPS / eventBurst) and never blocks or throws to
 * the caller. Failures are logged and dropped, as upstream does, because an Event is advice,
 * not state.
 */
import { randomBytes } from 'node:crypto';
import type { Event, ObjectReference } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { KubeClient, KubeObject } from './client.js';
import { isApiNotFound } from './errors.js';
import { TokenBucket } from './rate-limiter.js';
import { Events } from './resources.js';

/** `Normal` or `Warning`, as core/v1 Event.type. */
export type EventType = 'Normal' | 'Warning';

/** Emits Events about objects. */
export interface EventRecorder {
  /** Records an event about `obj` (a Pod, Node, Service…); `fieldPath` names a container (`spec.containers{web}`). */
  event(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void;
}

/** Options of {@link ApiEventRecorder}. */
export interface RecorderOptions {
  client: KubeClient;
  /** `source.component`, e.g. `kubelet`. */
  component: string;
  /** `source.host`, the node name. */
  host: string;
  clock: Clock;
  logger: Logger;
  qps?: number;
  burst?: number;
  /** Most events kept for aggregation. */
  cacheSize?: number;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

const AGGREGATION_WINDOW_MS = 10 * 60 * 1000;

/** Builds an ObjectReference for an object. */
export function referenceOf(obj: KubeObject, fieldPath?: string): ObjectReference {
  const ref: ObjectReference = {
    kind: obj.kind,
    apiVersion: obj.apiVersion,
    namespace: obj.metadata?.namespace,
    name: obj.metadata?.name,
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
  };
  if (fieldPath) ref.fieldPath = fieldPath;
  return ref;
}

/** Sends Events to the apiserver. */
export class ApiEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly limiter: TokenBucket;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(private readonly opts: RecorderOptions) {
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100, opts.clock);
  }

  event(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    const ref = referenceOf(obj, fieldPath);
    // Events about cluster-scoped objects (Nodes) live in `default`, as kubelet does.
    const namespace = ref.namespace || 'default';
    const key = [ref.kind, namespace, ref.name, ref.uid, fieldPath ?? '', type, reason, message].join('\u0000');
    const now = this.opts.clock.now();
    const nowIso = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    this.opts.logger.debug({ object: `${ref.kind}/${namespace}/${ref.name}`, type, reason, msg2: message }, 'event');
    const prev = this.seen.get(key);
    if (prev && now - prev.at < AGGREGATION_WINDOW_MS) {
      prev.count++;
      prev.at = now;
      const patch = { count: prev.count, lastTimestamp: nowIso };
      this.enqueue(async () => {
        try {
          await this.opts.client.patch(Events, prev.namespace, prev.name, 'merge', patch);
        } catch (err) {
          if (!isApiNotFound(err)) throw err;
          this.seen.delete(key);
        }
      });
      return;
    }
    const name = `${ref.name ?? 'unknown'}.${now.toString(16)}${randomBytes(2).toString('hex')}`;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      source: { component: this.opts.component, host: this.opts.host },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host,
    };
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: nowIso, at: now });
    this.trim();
    this.enqueue(async () => {
      await this.opts.client.create(Events, ev);
    });
  }

  /** Resolves when every queued Event has been sent or dropped. */
  flush(): Promise<void> {
    return this.queue;
  }

  private enqueue(send: () => Promise<void>): void {
    if (this.pending > 1000) return; // The apiserver is away and the backlog is full: drop, as upstream's bounded queue does.
    this.pending++;
    this.queue = this.queue
      .then(() => this.limiter.acquire())
      .then(send)
      .catch((err) => this.opts.logger.warn({ err: errorMessage(err) }, 'dropping event'))
      .finally(() => {
        this.pending--;
      });
  }

  private trim(): void {
    const max = this.opts.cacheSize ?? 4096;
    if (this.seen.size <= max) return;
    const cutoff = this.opts.clock.now() - AGGREGATION_WINDOW_MS;
    for (const [k, v] of this.seen) if (v.at < cutoff || this.seen.size > max) this.seen.delete(k);
  }
}

/** Keeps events in memory, for tests. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { ref: ObjectReference; type: EventType; reason: string; message: string }[] = [];
  event(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    this.events.push({ ref: referenceOf(obj, fieldPath), type, reason, message });
  }
  /** Reasons recorded so far, in order. */
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}
