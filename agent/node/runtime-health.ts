/**
 * The container runtime's health as the node's Ready condition sees it: kubelet's
 * `updateRuntimeUp` (every 5 s) feeding `runtimeState`.
 *
 * - Every poll calls `runtime.status()`. A failed call changes nothing but the clock: once no
 *   poll has succeeded for 30 s (`maxWaitForContainerRuntime`) the runtime is
 *   `container runtime is down`; before the first success it is
 *   `container runtime status check may not have completed yet`.
 * - `NetworkReady` false → `container runtime network not ready: NetworkReady=false reason:R message:M`
 *   (initially `network state unknown`).
 * - `RuntimeReady` false → `container runtime not ready: RuntimeReady=false reason:R message:M`;
 *   such a poll does not count as a successful sync either.
 *
 * When the resulting messages change, listeners are called so the node status is posted at once
 * instead of at the next 10 s tick.
 */
import type { Clock } from '../../lib/clock.js';
import { errorMessage, isAborted } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { RuntimeCondition, RuntimeService } from '../runtime/index.js';

/** Options of {@link RuntimeHealth}. */
export interface RuntimeHealthOptions {
  runtime: Pick<RuntimeService, 'status'>;
  clock: Clock;
  logger: Logger;
  /** Poll period; default 5 s. */
  intervalMs?: number;
  /** No successful poll for this long means the runtime is down; default 30 s. */
  downThresholdMs?: number;
}

function describe(c: RuntimeCondition | undefined, type: string): string {
  // Go's `%v` of a nil *RuntimeCondition is `<nil>`.
  if (!c) return '<nil>';
  return `${type}=${c.status} reason:${c.reason} message:${c.message}`;
}

/** Polls the runtime and says why, if at all, it keeps the node from being Ready. */
export class RuntimeHealth {
  private lastSync?: number;
  private runtimeError?: string;
  private networkError: string | undefined = 'network state unknown';
  private listeners: (() => void)[] = [];
  private lastSignature = '';
  private ac?: AbortController;
  private loop?: Promise<void>;
  private readonly intervalMs: number;
  private readonly downThresholdMs: number;

  constructor(private readonly opts: RuntimeHealthOptions) {
    this.intervalMs = opts.intervalMs ?? 5_000;
    this.downThresholdMs = opts.downThresholdMs ?? 30_000;
  }

  /** Calls `cb` whenever the set of runtime/network errors changes. Returns an unsubscribe function. */
  onChange(cb: () => void): () => void {
    this.listeners.push(cb);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== cb);
    };
  }

  /** Runtime errors now (kubelet's `runtimeErrors`), one message per problem. */
  runtimeErrors(): string[] {
    const out: string[] = [];
    const now = this.opts.clock.now();
    if (this.lastSync === undefined) out.push('container runtime status check may not have completed yet');
    else if (now - this.lastSync >= this.downThresholdMs) out.push('container runtime is down');
    if (this.runtimeError) out.push(this.runtimeError);
    return out;
  }

  /** Network errors now (kubelet's `networkErrors`). */
  networkErrors(): string[] {
    return this.networkError ? [this.networkError] : [];
  }

  /** Polls once. Never throws. */
  async check(): Promise<void> {
    try {
      const st = await this.opts.runtime.status();
      const conditions = st?.conditions ?? [];
      const network = conditions.find((c) => c.type === 'NetworkReady');
      if (!network || !network.status) {
        this.networkError = `container runtime network not ready: ${describe(network, 'NetworkReady')}`;
      } else {
        this.networkError = undefined;
      }
      const rt = conditions.find((c) => c.type === 'RuntimeReady');
      if (!rt || !rt.status) {
        this.runtimeError = `container runtime not ready: ${describe(rt, 'RuntimeReady')}`;
      } else {
        this.runtimeError = undefined;
        this.lastSync = this.opts.clock.now();
      }
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'container runtime sanity check failed');
    }
    this.notifyIfChanged();
  }

  /** Starts polling (first poll at once). */
  start(signal?: AbortSignal): void {
    if (this.loop) return;
    this.ac = new AbortController();
    const ac = this.ac;
    if (signal?.aborted) ac.abort();
    else signal?.addEventListener('abort', () => ac.abort(), { once: true });
    this.loop = (async () => {
      while (!ac.signal.aborted) {
        await this.check();
        try {
          await this.opts.clock.sleep(this.intervalMs, ac.signal);
        } catch (err) {
          if (isAborted(err) || ac.signal.aborted) return;
        }
      }
    })();
  }

  /** Stops polling. */
  async stop(): Promise<void> {
    this.ac?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private notifyIfChanged(): void {
    const sig = JSON.stringify([this.runtimeErrors(), this.networkErrors()]);
    if (sig === this.lastSignature) return;
    this.lastSignature = sig;
    for (const cb of this.listeners) {
      try {
        cb();
      } catch (err) {
        this.opts.logger.error({ err: errorMessage(err) }, 'runtime health listener failed');
      }
    }
  }
}
