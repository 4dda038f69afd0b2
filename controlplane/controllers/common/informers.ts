/**
 * One informer per resource type, shared by every controller of the process (client-go's
 * `SharedInformerFactory`). Cached objects drop `managedFields`, which no controller reads.
 */
import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import type { KubeClient, KubeObject } from '../../../lib/kube/client.js';
import { Informer } from '../../../lib/kube/informer.js';
import type { ResourceType } from '../../../lib/kube/resources.js';

/** Index name: objects by `metadata.namespace`. */
export const BY_NAMESPACE = 'namespace';

function dropManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Lazily created, shared informers keyed by resource type. */
export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly indexes = new Map<string, Set<string>>();
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The shared informer of `type` (created on first use, started if the factory runs). */
  informerFor<T extends KubeObject>(type: ResourceType): Informer<T> {
    const id = `${type.group}/${type.version}/${type.resource}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new Informer<KubeObject>(this.client, type, { clock: this.clock, logger: this.logger, transform: dropManagedFields });
      this.informers.set(id, inf);
      this.indexes.set(id, new Set());
      inf.addIndex(BY_NAMESPACE, (o) => [o.metadata?.namespace ?? '']);
      this.indexes.get(id)!.add(BY_NAMESPACE);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Adds index `name` to the informer of `type` unless another controller already did. */
  ensureIndex<T extends KubeObject>(type: ResourceType, name: string, fn: (obj: T) => string[]): void {
    const inf = this.informerFor<T>(type);
    const id = `${type.group}/${type.version}/${type.resource}`;
    const set = this.indexes.get(id)!;
    if (set.has(name)) return;
    set.add(name);
    inf.addIndex(name, fn);
  }

  /** Starts every informer created so far and any created later. */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves once every informer has loaded its first list. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    const all = Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    if (!signal) {
      await all;
      return;
    }
    // One abort listener for all informers (not one each).
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
