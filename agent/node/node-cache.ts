/**
 * The agent's view of its own Node object: an informer on `nodes` with
 * `fieldSelector=metadata.name=<node>`, merged with the objects the agent itself gets back from
 * create / get / patch calls (which can be newer than the watch), and change notifications for
 * the rest of the agent (pod admission reads allocatable; the pod CIDR sync reads spec).
 *
 * Objects handed out are deep-frozen; copy before changing them.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { Informer, Nodes, type KubeClient } from '../../lib/kube/index.js';

/** Called with the new Node (undefined once deleted) and the previous one. */
export type NodeChangeListener = (node: Node | undefined, previous: Node | undefined) => void;

function freeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) freeze(v);
  }
  return o;
}

function rvNumber(n: Node | undefined): bigint | undefined {
  const rv = n?.metadata?.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/** True when `candidate` should replace `current`. */
export function isNewerNode(current: Node | undefined, candidate: Node): boolean {
  if (!current) return true;
  if (current.metadata?.uid !== candidate.metadata?.uid) return true;
  const a = rvNumber(current);
  const b = rvNumber(candidate);
  // resourceVersions are opaque; when both are integers (etcd and the companion store), compare.
  if (a !== undefined && b !== undefined) return b > a;
  return current.metadata?.resourceVersion !== candidate.metadata?.resourceVersion;
}

/** Options of {@link NodeCache}. */
export interface NodeCacheOptions {
  client: KubeClient;
  nodeName: string;
  clock: Clock;
  logger: Logger;
}

/** Holds the newest known version of the agent's Node. */
export class NodeCache {
  private current?: Node;
  private listeners: NodeChangeListener[] = [];
  private waiters: ((n: Node) => void)[] = [];
  private readonly informer: Informer<Node>;

  constructor(private readonly opts: NodeCacheOptions) {
    this.informer = new Informer<Node>(opts.client, Nodes, {
      fieldSelector: `metadata.name=${opts.nodeName}`,
      clock: opts.clock,
      logger: opts.logger,
      transform: (n) => {
        // managedFields are noise for the agent.
        if (!n.metadata?.managedFields) return n;
        const { managedFields: _m, ...meta } = n.metadata;
        return { ...n, metadata: meta };
      },
    });
    this.informer.addHandler({
      onAdd: (n) => this.observe(n),
      onUpdate: (_o, n) => this.observe(n),
      onDelete: (n) => this.forget(n),
    });
  }

  /** Starts the watch. */
  start(): void {
    this.informer.start();
  }

  /** Stops the watch. */
  async stop(): Promise<void> {
    await this.informer.stop();
  }

  /** The newest known Node, or undefined. */
  get(): Node | undefined {
    return this.current;
  }

  /** Resolves with the Node as soon as one is known. */
  waitFor(signal?: AbortSignal): Promise<Node> {
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
    });
  }

  /** Subscribes to changes; returns an unsubscribe function. */
  onChange(cb: NodeChangeListener): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== cb);
    };
  }

  /** Offers a Node object read or written by the agent; kept when newer than the cached one. */
  observe(node: Node): void {
    if (node.metadata?.name !== this.opts.nodeName) return;
    if (!isNewerNode(this.current, node)) return;
    const prev = this.current;
    this.current = freeze(structuredCloneIfNeeded(node));
    for (const w of this.waiters.splice(0)) w(this.current);
    this.emit(this.current, prev);
  }

  private forget(node: Node): void {
    if (!this.current || this.current.metadata?.uid !== node.metadata?.uid) return;
    const prev = this.current;
    this.current = undefined;
    this.emit(undefined, prev);
  }

  private emit(node: Node | undefined, prev: Node | undefined): void {
    for (const cb of this.listeners) {
      try {
        cb(node, prev);
      } catch (err) {
        this.opts.logger.error({ err: errorMessage(err) }, 'node change listener failed');
      }
    }
  }
}

function structuredCloneIfNeeded(n: Node): Node {
  return Object.isFrozen(n) ? n : structuredClone(n);
}
