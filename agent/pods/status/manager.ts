/**
 * The status manager (kubelet's `pkg/kubelet/status/status_manager.go`): keeps the latest
 * status the agent generated for each pod, and sends only changes to the apiserver, as a
 * strategic merge patch of `pods/<name>/status` with the pod's uid as precondition.
 *
 * - Sending is serialised per pod and never blocks the caller; when a send fails the
 *   latest status is sent again after a backoff (the apiserver may be away), a 404 means the
 *   pod is gone and ends the pod's entry.
 * - Condition `lastTransitionTime`s move only when a condition's status changes, and
 *   `startTime` is set once.
 * - A terminal phase is never left.
 * - Once a pod with a deletionTimestamp has been terminated and its final status sent, the
 *   manager confirms the deletion with `DELETE` (grace period 0, uid precondition), as
 *   kubelet does when the pod's resources have been reclaimed.
 * - Someone else may change the status the agent wrote: the node-lifecycle controller sets
 *   `Ready=False` on every pod of a node whose heartbeats stopped (an apiserver outage, a
 *   partition). {@link StatusManager.reconcile} compares each pod the informer delivers with
 *   the status the agent holds and writes the agent's again when they differ (kubelet's
 *   `needsReconcile` in `syncBatch`), keeping the conditions the agent does not own.
 */
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../../lib/clock.js';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { KeyedBackoff } from '../../../lib/backoff.js';
import { Pods, isApiNotFound, isConflict, isInvalid, type KubeClient } from '../../../lib/kube/index.js';
import { isAllowedMove, reasonOf } from '../reasons.js';
import { KUBELET_CONDITIONS } from './conditions.js';
import { podStatusEqual } from './equality.js';
import { podStatusPatch } from './patch.js';
import { PodStatusCompat } from './compat.js';
import { isoSeconds } from './time.js';

/** kubelet's total budget for termination messages in one pod status (12 KiB). */
export const MAX_POD_TERMINATION_MESSAGE_BYTES = 12 * 1024;

/** Options of {@link StatusManager}. */
export interface StatusManagerOptions {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** Called after each successful status patch (metrics, tests). */
  onSent?(pod: { uid: string; namespace: string; name: string }, status: PodStatus): void;
  /** The status fields the apiserver does not know (older servers); default: learned from its errors. */
  compat?: PodStatusCompat;
}

interface Entry {
  uid: string;
  namespace: string;
  name: string;
  /** The latest status set. */
  status: PodStatus;
  version: number;
  sentVersion: number;
  /** What the apiserver holds, as far as the manager knows. */
  apiStatus: PodStatus | undefined;
  /** resourceVersion of the pod as the last status patch left it (older informer copies are stale). */
  apiResourceVersion?: string;
  /** True once the agent generated a status for the pod (before that there is nothing to defend). */
  generated: boolean;
  sending: boolean;
  deleteRequested: boolean;
  gone: boolean;
  timerArmed: boolean;
  waiters: (() => void)[];
}

/**
 * True when resourceVersion `a` is newer than `b` (or `b` is unknown). resourceVersions are
 * opaque; when both are integers (etcd's revisions, the companion store's), they are compared.
 */
function newerThan(a: string | undefined, b: string | undefined): boolean {
  if (!b) return true;
  if (!a) return false;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

function terminal(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Sends pod statuses; see the module comment. */
export class StatusManager {
  private readonly entries = new Map<string, Entry>();
  private readonly backoff: KeyedBackoff;
  private readonly compat: PodStatusCompat;
  private stopped = false;

  constructor(private readonly opts: StatusManagerOptions) {
    this.compat = opts.compat ?? new PodStatusCompat();
    this.backoff = new KeyedBackoff({ initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 }, opts.clock);
  }

  /** The latest status set for the pod (what kubelet's `GetPodStatus` returns). */
  getStatus(uid: string): PodStatus | undefined {
    return this.entries.get(uid)?.status;
  }

  /** Records `status` for `pod` (as generated); sends it when it differs from the last one. */
  setStatus(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata?.uid ?? '';
    let e = this.entries.get(uid);
    const base = e?.status ?? pod.status ?? {};
    if (terminal(base.phase) && !terminal(status.phase)) {
      this.opts.logger.warn({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, from: base.phase, to: status.phase }, 'refusing to leave a terminal phase');
      return;
    }
    const merged = this.merge(pod, base, status);
    this.checkMoves(pod, base, merged);
    e ??= this.addEntry(pod, uid);
    if (e.gone) return;
    e.generated = true;
    if (podStatusEqual(merged, e.status)) return;
    e.status = merged;
    e.version++;
    this.kick(e);
  }

  /**
   * Confirms the deletion of a terminated pod that has a deletionTimestamp: after the
   * latest status is sent, `DELETE` with grace period 0 and the uid precondition.
   */
  requestDeletion(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const e = this.entries.get(uid) ?? this.addEntry(pod, uid);
    if (e.gone || e.deleteRequested) return;
    e.deleteRequested = true;
    this.kick(e);
  }

  /**
   * Compares the pod as the apiserver has it (from the informer) with the status the agent
   * holds, and sends the agent's status again when someone else changed it. Conditions the
   * agent does not own are taken from the apiserver. Copies older than the agent's last
   * write, and pods with a send in progress, are left alone.
   */
  reconcile(pod: Pod): void {
    const e = this.entries.get(pod.metadata?.uid ?? '');
    if (!e || e.gone || this.stopped || e.sending || e.timerArmed || !this.idle(e) || !e.generated) return;
    if (!newerThan(pod.metadata?.resourceVersion, e.apiResourceVersion)) return;
    const api = pod.status ?? {};
    const foreign = (api.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.includes(c.type));
    const ours = (e.status.conditions ?? []).filter((c) => KUBELET_CONDITIONS.includes(c.type));
    const desired: PodStatus = { ...e.status, conditions: [...foreign, ...ours] };
    e.apiStatus = api;
    e.apiResourceVersion = pod.metadata?.resourceVersion;
    const patch = podStatusPatch(e.uid, api, this.compat.prune(desired));
    if (!patch) return;
    this.opts.logger.info({ pod: `${e.namespace}/${e.name}`, resourceVersion: pod.metadata?.resourceVersion }, 'pod status changed by someone else; writing the agent’s status again');
    this.opts.logger.debug({ pod: `${e.namespace}/${e.name}`, patch: JSON.stringify(patch) }, 'status reconcile patch');
    e.status = desired;
    e.version++;
    this.kick(e);
  }

  /** Forgets a pod (it left the API and the agent). */
  removePod(uid: string): void {
    const e = this.entries.get(uid);
    if (!e) return;
    e.gone = true;
    this.entries.delete(uid);
    for (const w of e.waiters.splice(0)) w();
  }

  /** Resolves when everything set so far has been sent (or given up because the pod is gone). */
  async flush(): Promise<void> {
    const pending = [...this.entries.values()].filter((e) => !this.idle(e));
    await Promise.all(pending.map((e) => new Promise<void>((r) => e.waiters.push(r))));
  }

  /** True when nothing is waiting to be sent for the pod. */
  isSynced(uid: string): boolean {
    const e = this.entries.get(uid);
    return !e || this.idle(e);
  }

  /** Stops sending. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) for (const w of e.waiters.splice(0)) w();
  }

  /** A new entry for `pod` (under `uid`), holding the status the pod object carries. */
  private addEntry(pod: Pod, uid: string): Entry {
    const e: Entry = {
      uid,
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      status: pod.status ?? {},
      version: 0,
      sentVersion: 0,
      apiStatus: pod.status,
      sending: false,
      deleteRequested: false,
      gone: false,
      timerArmed: false,
      waiters: [],
      generated: false,
    };
    this.entries.set(uid, e);
    return e;
  }

  private idle(e: Entry): boolean {
    return e.gone || (e.sentVersion >= e.version && !e.deleteRequested);
  }

  private merge(pod: Pod, old: PodStatus, next: PodStatus): PodStatus {
    const now = isoSeconds(this.opts.clock.now());
    const s: PodStatus = structuredClone(next);
    for (const c of s.conditions ?? []) {
      if (!KUBELET_CONDITIONS.includes(c.type)) continue;
      const prev = old.conditions?.find((x) => x.type === c.type);
      c.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
      c.lastProbeTime = null as unknown as string;
    }
    s.startTime = old.startTime ?? pod.status?.startTime ?? s.startTime ?? now;
    this.truncateMessages(s);
    return s;
  }

  private truncateMessages(s: PodStatus): void {
    const all = [...(s.initContainerStatuses ?? []), ...(s.containerStatuses ?? [])];
    if (all.length === 0) return;
    const budget = Math.floor(MAX_POD_TERMINATION_MESSAGE_BYTES / all.length);
    for (const cs of all) {
      for (const t of [cs.state?.terminated, cs.lastState?.terminated]) {
        if (t?.message && Buffer.byteLength(t.message) > budget) {
          const b = Buffer.from(t.message);
          t.message = b.subarray(b.length - budget).toString('utf8');
        }
      }
    }
  }

  private checkMoves(pod: Pod, old: PodStatus, next: PodStatus): void {
    const lists: [typeof old.containerStatuses, typeof next.containerStatuses][] = [
      [old.containerStatuses, next.containerStatuses],
      [old.initContainerStatuses, next.initContainerStatuses],
    ];
    for (const [a, b] of lists) {
      for (const cs of b ?? []) {
        const prev = a?.find((x) => x.name === cs.name);
        const from = reasonOf(prev?.state);
        const to = reasonOf(cs.state);
        if (!isAllowedMove(from, to)) {
          this.opts.logger.warn({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, container: cs.name, from, to }, 'unexpected container reason transition');
        }
      }
    }
  }

  private kick(e: Entry): void {
    if (e.sending || e.timerArmed || this.stopped) return;
    void this.send(e);
  }

  private async send(e: Entry): Promise<void> {
    e.sending = true;
    try {
      while (!this.stopped && !e.gone) {
        if (e.sentVersion < e.version) {
          const version = e.version;
          // What goes on the wire: without the fields this apiserver does not know.
          const status = this.compat.prune(e.status);
          const patch = podStatusPatch(e.uid, e.apiStatus, status);
          if (patch) {
            try {
              const updated = await this.opts.client.patch<Pod>(Pods, e.namespace, e.name, 'strategic', patch, { subresource: 'status' });
              e.apiResourceVersion = updated?.metadata?.resourceVersion ?? e.apiResourceVersion;
            } catch (err) {
              if (this.compat.learn(err)) {
                this.opts.logger.info({ pod: `${e.namespace}/${e.name}`, dropped: this.compat.droppedFields() }, 'the apiserver does not know a pod status field; leaving it out');
                continue;
              }
              if (this.handleGone(e, err)) break;
              this.retryLater(e, err, 'status update failed');
              return;
            }
            this.opts.onSent?.({ uid: e.uid, namespace: e.namespace, name: e.name }, status);
          }
          e.apiStatus = status;
          e.sentVersion = version;
          this.backoff.reset(e.uid);
          continue;
        }
        if (e.deleteRequested) {
          try {
            await this.opts.client.delete(Pods, e.namespace, e.name, { gracePeriodSeconds: 0, preconditions: { uid: e.uid } });
            this.opts.logger.debug({ pod: `${e.namespace}/${e.name}` }, 'pod deletion confirmed');
          } catch (err) {
            if (!this.handleGone(e, err)) {
              this.retryLater(e, err, 'pod deletion failed');
              return;
            }
          }
          e.deleteRequested = false;
          e.gone = true;
        }
        break;
      }
    } finally {
      e.sending = false;
    }
    if (this.idle(e)) for (const w of e.waiters.splice(0)) w();
  }

  /** 404: the pod is gone; 409/422 on the uid precondition: a different pod now has the name. */
  private handleGone(e: Entry, err: unknown): boolean {
    if (isApiNotFound(err) || isConflict(err) || isInvalid(err)) {
      this.opts.logger.debug({ pod: `${e.namespace}/${e.name}`, err: errorMessage(err) }, 'pod is gone; dropping its status');
      e.gone = true;
      e.deleteRequested = false;
      return true;
    }
    return false;
  }

  private retryLater(e: Entry, err: unknown, what: string): void {
    const delay = this.backoff.next(e.uid);
    this.opts.logger.warn({ pod: `${e.namespace}/${e.name}`, err: errorMessage(err), retryInMs: Math.round(delay) }, what);
    e.timerArmed = true;
    this.opts.clock.setTimer(delay, () => {
      e.timerArmed = false;
      this.kick(e);
    });
  }
}
