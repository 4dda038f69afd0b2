/**
 * The scheduling queue (kube's `PriorityQueue`, simplified): pods waiting to be scheduled,
 * highest priority first then oldest first; a pod that did not fit waits out a per-pod
 * backoff (1 s doubling to 10 s by default) and is retried when it expires, or as soon as a
 * cluster event (a node or pod change) arrives after it expired.
 *
 * ```
 *   add ──► active ──pop──► in flight ──fit──► done (removed)
 *             ▲                 │
 *             │ backoff expired │ no fit: attempts++, backoff = min(max, initial·2^(n-1))
 *             └── unschedulable ◄┘  (timer at expiry; moveAll() re-checks on cluster events)
 * ```
 */
import type { Clock, Timer } from '../../lib/clock.js';

interface Entry {
  key: string;
  priority: number;
  /** When the pod (re-)entered the active queue, for FIFO order within a priority. */
  since: number;
  seq: number;
  state: 'active' | 'inflight' | 'unschedulable';
  attempts: number;
  backoffUntil: number;
  timer?: Timer;
}

/** Options of {@link SchedulingQueue}. */
export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Pods waiting for a scheduling attempt. */
export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private active: Entry[] = [];
  private waiters: ((key: string | undefined) => void)[] = [];
  private seq = 0;
  private closed = false;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly clock: Clock,
    opts: QueueOptions = {},
  ) {
    this.initialMs = opts.initialBackoffMs ?? 1000;
    this.maxMs = opts.maxBackoffMs ?? 10_000;
  }

  /** Adds a pod (or makes a known one eligible again if its backoff expired). */
  add(key: string, priority: number): void {
    if (this.closed) return;
    const e = this.entries.get(key);
    if (!e) {
      const entry: Entry = { key, priority, since: this.clock.now(), seq: this.seq++, state: 'unschedulable', attempts: 0, backoffUntil: 0 };
      this.entries.set(key, entry);
      this.activate(entry);
      return;
    }
    e.priority = priority;
    if (e.state === 'unschedulable' && e.backoffUntil <= this.clock.now()) this.activate(e);
  }

  /** Waits for the next pod to schedule; `undefined` once closed. */
  pop(): Promise<string | undefined> {
    const e = this.active.shift();
    if (e) {
      e.state = 'inflight';
      return Promise.resolve(e.key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The pod did not fit (or its binding failed): back off, then retry. */
  markUnschedulable(key: string): void {
    const e = this.entries.get(key);
    if (!e || this.closed) return;
    this.removeFromActive(e);
    e.state = 'unschedulable';
    e.attempts++;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** (e.attempts - 1));
    e.backoffUntil = this.clock.now() + delay;
    e.timer?.cancel();
    e.timer = this.clock.setTimer(delay, () => {
      e.timer = undefined;
      if (this.entries.get(key) === e && e.state === 'unschedulable') this.activate(e);
    });
  }

  /** A cluster event may have made unschedulable pods fit: retry those out of backoff. */
  moveAll(): void {
    const now = this.clock.now();
    for (const e of this.entries.values()) if (e.state === 'unschedulable' && e.backoffUntil <= now) this.activate(e);
  }

  /** Forgets a pod (bound, deleted, or no longer ours). */
  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.timer?.cancel();
    this.removeFromActive(e);
    this.entries.delete(key);
  }

  /** True when the pod is known to the queue. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Failed attempts so far. */
  attempts(key: string): number {
    return this.entries.get(key)?.attempts ?? 0;
  }

  /** Number of pods known (active, in flight or backing off). */
  size(): number {
    return this.entries.size;
  }

  /** Ends every pending `pop` and cancels the backoff timers. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.timer?.cancel();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private removeFromActive(e: Entry): void {
    const i = this.active.indexOf(e);
    if (i >= 0) this.active.splice(i, 1);
  }

  private activate(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
    e.state = 'active';
    e.since = this.clock.now();
    e.seq = this.seq++;
    const w = this.waiters.shift();
    if (w) {
      e.state = 'inflight';
      w(e.key);
      return;
    }
    // Insert keeping (priority desc, since asc, seq asc).
    let i = this.active.length;
    while (i > 0) {
      const o = this.active[i - 1];
      if (o.priority > e.priority || (o.priority === e.priority && (o.since < e.since || (o.since === e.since && o.seq < e.seq)))) break;
      i--;
    }
    this.active.splice(i, 0, e);
  }
}
