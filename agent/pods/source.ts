/**
 * The pod source: an informer on the pods bound to this node (`spec.nodeName=<node>`) that
 * tells the pod workers about additions, meaningful updates and removals (kubelet's
 * apiserver config source + `podStorage.merge`). Updates that only touch the status or the
 * resourceVersion (our own status patches, mostly) are not passed on: they would only make
 * the worker sync again for nothing. A pod recreated under the same name (new uid) is a
 * removal followed by an addition.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { escapeFieldValue, Informer, Pods, type KubeClient } from '../../lib/kube/index.js';

/** Receives pod changes. */
export interface PodSourceHandlers {
  onAdd(pod: Pod): void;
  onUpdate(pod: Pod): void;
  onDelete(pod: Pod): void;
  /** Every update of a known pod, status-only ones included (status reconciliation). */
  onObserved?(pod: Pod): void;
}

/** Options of {@link PodSource}. */
export interface PodSourceOptions {
  client: KubeClient;
  nodeName: string;
  clock: Clock;
  logger: Logger;
}

/** True when an update changes something a worker acts on (`podsDifferSemantically` + deletion). */
export function podChangedSemantically(a: Pod, b: Pod): boolean {
  if (a.metadata?.uid !== b.metadata?.uid) return true;
  if (a.metadata?.deletionTimestamp !== b.metadata?.deletionTimestamp) return true;
  if (a.metadata?.deletionGracePeriodSeconds !== b.metadata?.deletionGracePeriodSeconds) return true;
  if (JSON.stringify(a.metadata?.labels ?? {}) !== JSON.stringify(b.metadata?.labels ?? {})) return true;
  if (JSON.stringify(a.metadata?.annotations ?? {}) !== JSON.stringify(b.metadata?.annotations ?? {})) return true;
  if (JSON.stringify(a.spec) !== JSON.stringify(b.spec)) return true;
  // A terminal phase set by someone else ends the pod here too.
  const terminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
  if (terminal(a) !== terminal(b)) return true;
  // Conditions others own (readiness gates) feed the Ready condition.
  if (b.spec?.readinessGates?.length && JSON.stringify(a.status?.conditions) !== JSON.stringify(b.status?.conditions)) return true;
  return false;
}

/** Watches this node's pods. */
export class PodSource {
  private readonly informer: Informer<Pod>;
  private readonly byUid = new Map<string, Pod>();

  constructor(opts: PodSourceOptions, handlers: PodSourceHandlers) {
    this.informer = new Informer<Pod>(opts.client, Pods, {
      fieldSelector: `spec.nodeName=${escapeFieldValue(opts.nodeName)}`,
      logger: opts.logger,
      clock: opts.clock,
      transform: (p) => (p.metadata?.managedFields ? { ...p, metadata: { ...p.metadata, managedFields: undefined } } : p),
    });
    this.informer.addHandler({
      onAdd: (p) => {
        this.byUid.set(p.metadata?.uid ?? '', p);
        handlers.onAdd(p);
      },
      onUpdate: (old, p) => {
        if (old.metadata?.uid !== p.metadata?.uid) {
          this.byUid.delete(old.metadata?.uid ?? '');
          handlers.onDelete(old);
          this.byUid.set(p.metadata?.uid ?? '', p);
          handlers.onAdd(p);
          return;
        }
        this.byUid.set(p.metadata?.uid ?? '', p);
        if (podChangedSemantically(old, p)) handlers.onUpdate(p);
        handlers.onObserved?.(p);
      },
      onDelete: (p) => {
        this.byUid.delete(p.metadata?.uid ?? '');
        handlers.onDelete(p);
      },
    });
  }

  /** Starts the informer. */
  start(): void {
    this.informer.start();
  }

  /** Stops the informer. */
  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Resolves once the first list is in. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    return this.informer.waitForSync(signal);
  }

  /** True once the first list is in. */
  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** The newest object of the pod with `uid` (frozen: copy before changing). */
  get(uid: string): Pod | undefined {
    return this.byUid.get(uid);
  }

  /** The pod `namespace/name`. */
  byName(namespace: string, name: string): Pod | undefined {
    return this.informer.get(`${namespace}/${name}`);
  }

  /** Every pod bound to this node. */
  list(): Pod[] {
    return this.informer.list();
  }
}
