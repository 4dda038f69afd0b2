/**
 * Pod CIDR → pod network. When the Node's `spec.podCIDRs` (or `spec.podCIDR`) is set — or,
 * while the Node has none, the configured `podCIDR` — the CNI conflist for it is written into
 * the runtime's CNI config dir and the runtime is told the CIDR (CRI `UpdateRuntimeConfig`),
 * as kubelet's `updatePodCIDR` does (it sends the CIDRs joined by commas).
 *
 * Work is serialized; a failure is retried with backoff (500 ms doubling to 30 s) and the
 * CIDR counts as applied only once both steps succeeded.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { backoffDelay } from '../../lib/backoff.js';
import { errorMessage, InvalidInputError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { buildConflist, writeConflist, type CniConflist, type WriteConflistResult } from '../../cni/index.js';
import type { RuntimeService } from '../runtime/index.js';

/** Options of {@link PodCidrSync}. */
export interface PodCidrSyncOptions {
  /** Directory the runtime loads CNI conflists from (`config.cni.confDir`). */
  confDir: string;
  /** host-local IPAM's data directory (`config.cni.dataDir`); the CNI default when unset. */
  dataDir?: string;
  /** `config.podCIDR`: used while the Node has no pod CIDR. */
  fallbackCidr?: string;
  runtime: Pick<RuntimeService, 'updateRuntimeConfig'>;
  clock: Clock;
  logger: Logger;
  /** Replaces the conflist writer (tests). */
  writeConflist?: (dir: string, conflist: CniConflist) => Promise<WriteConflistResult>;
}

/** The pod CIDRs a Node asks for: `spec.podCIDRs`, else `spec.podCIDR`, else []. */
export function podCidrsOf(node: Node | undefined): string[] {
  const list = node?.spec?.podCIDRs?.filter(Boolean) ?? [];
  if (list.length > 0) return [...list];
  return node?.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

/** Keeps the CNI config and the runtime's pod CIDR in line with the Node. */
export class PodCidrSync {
  private applied?: string;
  private desired?: string[];
  private running: Promise<void> = Promise.resolve();
  private retryTimer?: Timer;
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: PodCidrSyncOptions) {}

  /** The CIDR(s) last applied, comma-joined, or undefined. */
  current(): string | undefined {
    return this.applied;
  }

  /** Offers the latest Node (or undefined when unknown/deleted). */
  update(node: Node | undefined): void {
    const fromNode = podCidrsOf(node);
    const want = fromNode.length > 0 ? fromNode : this.opts.fallbackCidr ? [this.opts.fallbackCidr] : [];
    if (want.length === 0) return;
    this.desired = want;
    this.kick();
  }

  /** Resolves when no work is in progress (tests). */
  idle(): Promise<void> {
    return this.running;
  }

  /** Stops retries. */
  stop(): void {
    this.stopped = true;
    this.retryTimer?.cancel();
  }

  private kick(): void {
    this.running = this.running.then(() => this.apply());
  }

  private async apply(): Promise<void> {
    if (this.stopped || !this.desired) return;
    const want = this.desired;
    const joined = want.join(',');
    if (joined === this.applied) return;
    this.retryTimer?.cancel();
    const log = this.opts.logger.child({ podCIDR: joined });
    try {
      const conflist = buildConflist({ podCidr: want, dataDir: this.opts.dataDir });
      const res = await (this.opts.writeConflist ?? writeConflist)(this.opts.confDir, conflist);
      if (res.changed) log.info({ path: res.path }, 'wrote CNI configuration');
      log.info({ originalPodCIDR: this.applied ?? '' }, 'updating runtime config through cri with podcidr');
      await this.opts.runtime.updateRuntimeConfig(joined);
      this.applied = joined;
      this.failures = 0;
    } catch (err) {
      if (err instanceof InvalidInputError) {
        // A malformed CIDR will not get better by retrying; wait for the Node to change.
        log.error({ err: errorMessage(err) }, 'invalid pod CIDR, not applied');
        return;
      }
      const delay = backoffDelay({ initialMs: 500, maxMs: 30_000 }, this.failures++);
      log.error({ err: errorMessage(err), retryInMs: delay }, 'failed to apply pod CIDR');
      this.retryTimer = this.opts.clock.setTimer(delay, () => this.kick());
    }
  }
}
