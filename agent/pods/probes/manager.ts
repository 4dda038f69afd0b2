/**
 * The probe manager: one worker per (pod, container, probe kind), as kubelet's
 * `pkg/kubelet/prober` (`prober_manager.go`, `worker.go`).
 *
 * ```
 * container starts (new id) ──► result = initial (readiness: failure, liveness: success,
 *        │                       startup: unknown), next probe at startedAt + initialDelaySeconds
 *        ▼
 *   ┌── probe every periodSeconds ◄─────────────────────────────────────────────┐
 *   │   liveness/readiness wait until the startup probe has succeeded            │
 *   │   the same result successThreshold / failureThreshold times in a row       │
 *   │      └► result published ── onChange ──────────────────────────────────────┤
 *   │   liveness/startup failure published ─► onChange(restart) and on hold ─────┘
 *   └── until a new container id arrives (syncPod) or the pod is removed
 * ```
 *
 * Every failed probe records an `Unhealthy` Warning event (`Liveness probe failed: …`);
 * a redirect to another host records `ProbeWarning`; internal errors record
 * `… probe errored and resulted in unknown state: …` and leave the result unchanged.
 * While a pod is being deleted, liveness and startup stop and count as success.
 *
 * Deviation: kubelet's ticker starts when the worker starts, so the first probe after
 * `initialDelaySeconds` can come up to one period late; here the first probe of each
 * container runs at `startedAt + initialDelaySeconds`, and readiness runs at once when the
 * startup probe succeeds (kubelet triggers it from its status loop).
 */
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { EventRecorder } from '../../events/index.js';
import type { RuntimeService } from '../../runtime/index.js';
import { runProbeWithRetries, type ProbeOutcome } from './runner.js';

/** The three probe kinds. */
export type ProbeKind = 'readiness' | 'liveness' | 'startup';

/** A published probe result change, or a liveness/startup failure that requires a restart. */
export interface ProbeChangeEvent {
  podUid: string;
  container: string;
  kind: ProbeKind;
  result: 'success' | 'failure';
  /** Probe output for probe results; for `restart`, kubelet's Killing message (`Container web failed liveness probe, will be restarted`). */
  message: string;
  /** Liveness or startup failed past failureThreshold: kill and restart the container. */
  restart: boolean;
}

/** Runs container probes and keeps their results. */
export interface ProbeManager {
  /**
   * Starts/updates probe workers for a pod's containers once they run (containerId per
   * container name; call again when ids change). `startedAt` is the container's start time
   * in ms since the epoch (CRI nanosecond timestamps are recognised and converted).
   * Containers absent from `running` are treated as not running (not ready, not started).
   */
  syncPod(pod: Pod, running: Map<string, { containerId: string; startedAt: number }>): void;
  /** Stops and forgets every worker of the pod. */
  removePod(podUid: string): void;
  /** Readiness as last probed: undefined when no readiness probe (caller treats running = ready), false until the first success after initialDelaySeconds. */
  readiness(podUid: string, container: string): boolean | undefined;
  /** Startup probe status: undefined when no startup probe. */
  started(podUid: string, container: string): boolean | undefined;
  /**
   * Called on every result change (so the pod worker can resync status) and on
   * liveness/startup failure past failureThreshold (`restart: true`, so it can kill and
   * restart the container with kubelet's `Killing` event message).
   */
  onChange(cb: (ev: ProbeChangeEvent) => void): void;
  /** Stops every worker. */
  stop(): void;
}

/** Options of {@link createProbeManager}. */
export interface ProbeManagerOptions {
  runtime: RuntimeService;
  clock: Clock;
  logger: Logger;
  events: EventRecorder;
  /** The pod's IP, the default host of httpGet/tcpSocket probes and the grpc target. */
  podIP: (uid: string) => string | undefined;
}

type Result = 'success' | 'failure' | 'unknown';

interface NormalizedProbe {
  probe: Probe;
  periodMs: number;
  initialDelaySeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

const KIND_TITLE: Record<ProbeKind, string> = { readiness: 'Readiness', liveness: 'Liveness', startup: 'Startup' };
const INITIAL: Record<ProbeKind, Result> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };

function normalize(p: Probe, kind: ProbeKind): NormalizedProbe {
  const pos = (v: number | undefined, d: number): number => (v !== undefined && v > 0 ? v : d);
  return {
    probe: p,
    periodMs: pos(p.periodSeconds, 10) * 1000,
    initialDelaySeconds: Math.max(0, p.initialDelaySeconds ?? 0),
    // Liveness and startup require successThreshold 1 (API validation).
    successThreshold: kind === 'readiness' ? pos(p.successThreshold, 1) : 1,
    failureThreshold: pos(p.failureThreshold, 3),
  };
}

/** CRI timestamps are nanoseconds; accept ns, µs or ms. */
function toMillis(t: number): number {
  if (t > 1e17) return Math.floor(t / 1e6);
  if (t > 1e14) return Math.floor(t / 1e3);
  return t;
}

function probesOf(c: Container): [ProbeKind, Probe][] {
  const out: [ProbeKind, Probe][] = [];
  if (c.startupProbe) out.push(['startup', c.startupProbe]);
  if (c.readinessProbe) out.push(['readiness', c.readinessProbe]);
  if (c.livenessProbe) out.push(['liveness', c.livenessProbe]);
  return out;
}

/** Creates the {@link ProbeManager}. */
export function createProbeManager(opts: ProbeManagerOptions): ProbeManager {
  return new Manager(opts);
}

class Worker {
  timer?: Timer;
  stopped = false;
  /** Liveness/startup stopped for a pod being deleted. */
  done = false;
  probing = false;
  running = false;
  containerId?: string;
  startedAt = 0;
  result: Result;
  lastResult?: Result;
  resultRun = 0;
  onHold = false;

  constructor(
    readonly m: Manager,
    readonly kind: ProbeKind,
    public pod: Pod,
    readonly container: Container,
    readonly spec: NormalizedProbe,
    readonly fieldPath: string,
  ) {
    this.result = INITIAL[kind];
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  schedule(ms: number): void {
    this.timer?.cancel();
    if (this.stopped || this.done) return;
    this.timer = this.m.clock.setTimer(Math.max(0, ms), () => void this.tick());
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** A new container (or the first one) is running. */
  newContainer(containerId: string, startedAt: number): void {
    this.containerId = containerId;
    this.startedAt = toMillis(startedAt);
    this.running = true;
    this.onHold = false;
    this.done = false;
    this.publish(INITIAL[this.kind], '');
    if (!this.probing) {
      const wait = this.startedAt + this.spec.initialDelaySeconds * 1000 - this.m.clock.now();
      this.schedule(wait);
    }
  }

  /** The container is no longer running: not ready, not started (kubelet sets Failure). */
  notRunning(): void {
    if (!this.running) return;
    this.running = false;
    if (this.kind !== 'liveness') this.publish('failure', '');
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.done || this.probing) return;
    const next = await this.step();
    if (next !== undefined) this.schedule(next);
  }

  /** One pass of kubelet's `doProbe`; returns the delay to the next pass, undefined to stop. */
  private async step(): Promise<number | undefined> {
    const period = this.spec.periodMs;
    if (!this.running || !this.containerId || this.onHold) return period;
    if (this.pod.metadata?.deletionTimestamp && this.kind !== 'readiness') {
      // Graceful shutdown: a quiet last result, and no more probing.
      this.publish('success', '');
      this.done = true;
      return undefined;
    }
    const elapsed = this.m.clock.now() - this.startedAt;
    const delayMs = this.spec.initialDelaySeconds * 1000;
    if (Math.trunc(elapsed / 1000) < this.spec.initialDelaySeconds) return Math.min(period, Math.max(0, delayMs - elapsed));
    const started = this.m.isStarted(this.uid, this.container.name);
    if (this.kind === 'startup' && started) return period;
    if (this.kind !== 'startup' && !started) return period;

    const id = this.containerId;
    this.probing = true;
    let outcome: ProbeOutcome;
    try {
      outcome = await this.m.probe(this);
    } finally {
      this.probing = false;
    }
    if (this.stopped) return undefined;
    if (this.containerId !== id || !this.running) {
      // The container changed while we probed: this result belongs to the old one.
      return Math.max(0, this.startedAt + delayMs - this.m.clock.now());
    }
    if (outcome.error) return period;
    const result: Result = outcome.result === 'success' || outcome.result === 'warning' ? 'success' : 'failure';
    if (this.lastResult === result) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    if ((result === 'failure' && this.resultRun < this.spec.failureThreshold) || (result === 'success' && this.resultRun < this.spec.successThreshold)) {
      return period;
    }
    if (result === 'failure' && this.kind !== 'readiness') {
      // One notification carries both the change and the restart request.
      this.result = 'failure';
      // The container will be restarted: stop probing until a new container id shows up.
      this.onHold = true;
      this.resultRun = 0;
      this.m.emit({
        podUid: this.uid,
        container: this.container.name,
        kind: this.kind,
        result: 'failure',
        message: `Container ${this.container.name} failed ${this.kind} probe, will be restarted`,
        restart: true,
      });
      return period;
    }
    this.publish(result, outcome.output);
    return period;
  }

  publish(result: Result, message: string): void {
    if (this.result === result) return;
    this.result = result;
    if (result === 'unknown') return;
    this.m.emit({ podUid: this.uid, container: this.container.name, kind: this.kind, result, message, restart: false });
    if (this.kind === 'startup' && result === 'success') this.m.startupSucceeded(this.uid, this.container.name);
  }
}

function key(uid: string, container: string, kind: ProbeKind): string {
  return `${uid}\u0000${container}\u0000${kind}`;
}

class Manager implements ProbeManager {
  readonly clock: Clock;
  private readonly workers = new Map<string, Worker>();
  private readonly listeners: ((ev: ProbeChangeEvent) => void)[] = [];
  private stopped = false;

  constructor(private readonly opts: ProbeManagerOptions) {
    this.clock = opts.clock;
  }

  syncPod(pod: Pod, running: Map<string, { containerId: string; startedAt: number }>): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const containers: [Container, string][] = [
      ...(pod.spec?.containers ?? []).map((c): [Container, string] => [c, `spec.containers{${c.name}}`]),
      // Sidecars (restartable init containers) are probed too.
      ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c): [Container, string] => [c, `spec.initContainers{${c.name}}`]),
    ];
    for (const [c, fieldPath] of containers) {
      for (const [kind, probe] of probesOf(c)) {
        const k = key(uid, c.name, kind);
        let w = this.workers.get(k);
        if (!w) {
          w = new Worker(this, kind, pod, c, normalize(probe, kind), fieldPath);
          this.workers.set(k, w);
        }
        w.pod = pod;
      }
      const r = running.get(c.name);
      for (const [kind] of probesOf(c)) {
        const w = this.workers.get(key(uid, c.name, kind))!;
        if (!r) w.notRunning();
        else if (r.containerId !== w.containerId || !w.running) w.newContainer(r.containerId, r.startedAt);
        else if (pod.metadata?.deletionTimestamp && kind !== 'readiness' && !w.done && !w.probing) w.schedule(0);
      }
    }
  }

  removePod(podUid: string): void {
    for (const [k, w] of this.workers) {
      if (w.uid !== podUid) continue;
      w.stop();
      this.workers.delete(k);
    }
  }

  readiness(podUid: string, container: string): boolean | undefined {
    const w = this.workers.get(key(podUid, container, 'readiness'));
    if (!w) return undefined;
    return w.running && w.result === 'success';
  }

  started(podUid: string, container: string): boolean | undefined {
    const w = this.workers.get(key(podUid, container, 'startup'));
    if (!w) return undefined;
    return w.running && w.result === 'success';
  }

  onChange(cb: (ev: ProbeChangeEvent) => void): void {
    this.listeners.push(cb);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.workers.values()) w.stop();
    this.workers.clear();
  }

  /** A container counts as started when it has no startup probe or that probe succeeded. */
  isStarted(uid: string, container: string): boolean {
    return this.started(uid, container) ?? true;
  }

  /** The startup probe just succeeded: probe readiness now rather than at the next tick. */
  startupSucceeded(uid: string, container: string): void {
    const w = this.workers.get(key(uid, container, 'readiness'));
    if (w && w.running && !w.probing) w.schedule(0);
  }

  emit(ev: ProbeChangeEvent): void {
    for (const cb of this.listeners) {
      try {
        cb(ev);
      } catch (err) {
        this.opts.logger.error({ err: errorMessage(err) }, 'probe change listener failed');
      }
    }
  }

  /** One probe run with kubelet's events. */
  async probe(w: Worker): Promise<ProbeOutcome> {
    const title = KIND_TITLE[w.kind];
    const out = await runProbeWithRetries(w.spec.probe, {
      container: w.container,
      containerId: w.containerId ?? '',
      podIP: this.opts.podIP(w.uid),
      runtime: this.opts.runtime,
      clock: this.clock,
    });
    const log = { pod: `${w.pod.metadata?.namespace}/${w.pod.metadata?.name}`, container: w.container.name, probe: w.kind };
    if (out.error) {
      const msg = `${title} probe errored and resulted in ${out.result} state: ${out.error.message}`;
      this.opts.logger.info({ ...log, err: out.error.message }, 'probe errored');
      this.opts.events.event(w.pod, 'Warning', 'Unhealthy', msg, w.fieldPath);
    } else if (out.result === 'failure' || out.result === 'unknown') {
      this.opts.logger.info({ ...log, output: out.output }, 'probe failed');
      this.opts.events.event(w.pod, 'Warning', 'Unhealthy', `${title} probe failed: ${out.output}`, w.fieldPath);
    } else if (out.result === 'warning') {
      this.opts.events.event(w.pod, 'Warning', 'ProbeWarning', `${title} probe warning: ${out.output}`, w.fieldPath);
    }
    return out;
  }
}
