/**
 * What every controller receives: the client, the shared informers, the clock, the logger
 * and an Event recorder factory.
 */
import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import type { KubeClient, KubeObject } from '../../../lib/kube/client.js';
import type { ResourceType } from '../../../lib/kube/resources.js';
import type { ComponentRecorder } from './events.js';
import type { SharedInformers } from './informers.js';
import { controllerOf } from './owners.js';

/** Dependencies of a controller. */
export interface ControllerContext {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  informers: SharedInformers;
  /** A recorder whose Events carry `source.component: component`. */
  recorder(component: string): ComponentRecorder;
}

/** A running controller. */
export interface Controller {
  /** kube-controller-manager's name for it (`replicaset`, `deployment`, …). */
  readonly name: string;
  /** Starts the workers; call once the shared informers have synced. */
  start(): void;
  /** Stops the workers (and any timers). */
  stop(): Promise<void>;
}

/** Index name: objects by the UID of their controller owner reference. */
export const BY_CONTROLLER_UID = 'controllerUID';

/** Adds the {@link BY_CONTROLLER_UID} index to the informer of `type`. */
export function indexByControllerUid(ctx: ControllerContext, type: ResourceType): void {
  ctx.informers.ensureIndex<KubeObject>(type, BY_CONTROLLER_UID, (o) => {
    const ref = controllerOf(o);
    return ref ? [ref.uid] : [];
  });
}
