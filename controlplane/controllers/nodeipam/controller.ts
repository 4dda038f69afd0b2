/**
 * Node IPAM with kube's range allocator (`pkg/controller/nodeipam/ipam/range_allocator.go`):
 * every node gets `spec.podCIDR`/`spec.podCIDRs` from the cluster CIDR(s). The in-use set is
 * rebuilt from the nodes at start before anything is handed out, a CIDR is never given twice,
 * and a deleted node's CIDRs return to the pool. When the pool is empty the node gets a
 * `CIDRNotAvailable` Event and is retried with backoff.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { errorMessage, hasCode } from '../../../lib/errors.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Nodes } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import type { ComponentRecorder } from '../common/events.js';
import { QueueWorker } from '../common/worker.js';
import { CIDR_EXHAUSTED, CidrSet } from './cidr-set.js';

/** Options of {@link NodeIpamController}. */
export interface NodeIpamOptions {
  /** `--cluster-cidr`: one CIDR, or an IPv4 and an IPv6 one separated by a comma. */
  clusterCidr: string;
  /** `--node-cidr-mask-size` (IPv4 default 24, IPv6 default 64). */
  nodeCidrMaskSize?: number;
  nodeCidrMaskSizeIPv6?: number;
}

function podCidrsOf(node: Node): string[] {
  const list = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  return [...list];
}

/** Assigns pod CIDRs to nodes. */
export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  private readonly sets: CidrSet[];
  private readonly nodes: Informer<Node>;
  private readonly worker: QueueWorker;
  private readonly log: Logger;
  private readonly events: ComponentRecorder;
  private started = false;

  constructor(private readonly ctx: ControllerContext, opts: NodeIpamOptions) {
    this.log = ctx.logger.child({ controller: this.name });
    this.events = ctx.recorder('cidrAllocator');
    this.sets = opts.clusterCidr
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => new CidrSet(c, c.includes(':') ? (opts.nodeCidrMaskSizeIPv6 ?? 64) : (opts.nodeCidrMaskSize ?? 24)));
    this.nodes = ctx.informers.informerFor<Node>(Nodes);
    this.worker = new QueueWorker({
      clock: ctx.clock,
      logger: this.log,
      workers: 1,
      sync: (k) => this.sync(k),
      retry: { initialMs: 1000, maxMs: 5 * 60_000, factor: 2 },
    });
    this.nodes.addHandler({
      onAdd: (n) => this.observe(n),
      onUpdate: (_o, n) => this.observe(n),
      onDelete: (n) => {
        for (const c of podCidrsOf(n)) this.release(c);
      },
    });
  }

  /** Starts allocating; every existing node's CIDRs are occupied first. */
  start(): void {
    for (const n of this.nodes.list()) for (const c of podCidrsOf(n)) this.occupy(c, n);
    this.started = true;
    for (const n of this.nodes.list()) if (podCidrsOf(n).length === 0) this.worker.queue.add(n.metadata?.name ?? '');
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private observe(n: Node): void {
    const cidrs = podCidrsOf(n);
    if (cidrs.length) for (const c of cidrs) this.occupy(c, n);
    else if (this.started) this.worker.queue.add(n.metadata?.name ?? '');
  }

  private occupy(cidr: string, n: Node): void {
    const set = this.sets.find((s) => s.sameFamily(cidr));
    if (!set?.occupy(cidr)) this.log.warn({ node: n.metadata?.name, cidr }, 'node CIDR is outside the cluster CIDR');
  }

  private release(cidr: string): void {
    this.sets.find((s) => s.sameFamily(cidr))?.release(cidr);
  }

  private async sync(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node || podCidrsOf(node).length) return;
    const allocated: string[] = [];
    try {
      for (const set of this.sets) allocated.push(set.allocateNext());
    } catch (err) {
      for (const c of allocated) this.release(c);
      if (hasCode(err, CIDR_EXHAUSTED)) {
        this.events.event(Nodes, { ...node, metadata: { ...node.metadata, uid: name } }, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
      }
      throw err;
    }
    try {
      const next = structuredClone(node) as Node;
      next.spec = { ...(next.spec ?? {}), podCIDR: allocated[0], podCIDRs: allocated };
      await this.ctx.client.update(Nodes, next);
      this.log.info({ node: name, podCIDRs: allocated }, 'allocated pod CIDRs');
    } catch (err) {
      for (const c of allocated) this.release(c);
      if (isApiNotFound(err)) return;
      this.log.warn({ node: name, err: errorMessage(err) }, 'assigning pod CIDR failed');
      throw err;
    }
  }
}
