/**
 * What the Deployment sync steps share: the client, clock, logger and recorder, and the
 * mutable state of one sync (a private copy of the Deployment, kept at the server's latest
 * resourceVersion after each status write).
 */
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Clock } from '../../../lib/clock.js';
import type { KubeClient } from '../../../lib/kube/client.js';
import { Deployments, ReplicaSets } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { ComponentRecorder } from '../common/events.js';
import { formatTime } from '../common/time.js';

/** Dependencies of the sync steps. */
export interface SyncEnv {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  events: ComponentRecorder;
  /** Requeues the Deployment after `ms`. */
  enqueueAfter(key: string, ms: number): void;
  /** Reads a ReplicaSet from the cache. */
  cachedReplicaSet(namespace: string, name: string): ReplicaSet | undefined;
}

/** One sync of one Deployment. */
export interface SyncState {
  /** The Deployment being synced (a private, mutable copy). */
  d: Deployment;
  key: string;
}

/** `metav1.Now()` from the injected clock. */
export function now(env: SyncEnv): string {
  return formatTime(env.clock.now());
}

/** Writes `st.d`'s status (and annotations, which the status strategy keeps) and refreshes `st.d`. */
export async function updateDeploymentStatus(env: SyncEnv, st: SyncState): Promise<void> {
  st.d = await env.client.update<Deployment>(Deployments, st.d, { subresource: 'status' });
}

/** Records an Event on the Deployment. */
export function deploymentEvent(env: SyncEnv, st: SyncState, type: 'Normal' | 'Warning', reason: string, message: string): void {
  env.events.event(Deployments, st.d, type, reason, message);
}

/** Writes a ReplicaSet (main resource). */
export async function updateReplicaSet(env: SyncEnv, rs: ReplicaSet): Promise<ReplicaSet> {
  return env.client.update<ReplicaSet>(ReplicaSets, rs);
}
