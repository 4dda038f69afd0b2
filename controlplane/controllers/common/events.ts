/**
 * Event recording for the control plane's components, on the same recorder the agent uses
 * (aggregation of repeats, rate limit, never blocking the caller), with kube's
 * `source.component` names (`replicaset-controller`, `default-scheduler`, …).
 */
import type { Clock } from '../../../lib/clock.js';
import type { Logger } from '../../../lib/log.js';
import type { KubeClient, KubeObject } from '../../../lib/kube/client.js';
import { apiVersionOf, type ResourceType } from '../../../lib/kube/resources.js';
import { ApiEventRecorder, type EventRecorder, type EventType } from '../../../lib/kube/event-recorder.js';

/** The recorder interface and Event types of `agent/events`, re-exported for the controllers. */
export type { EventRecorder, EventType };

/** Records Events about objects of known resource types. */
export interface ComponentRecorder {
  /** Records an Event about `obj`, an object of resource `type`. */
  event(type: ResourceType, obj: KubeObject, eventType: EventType, reason: string, message: string): void;
}

/** Options of {@link createRecorder}. */
export interface RecorderDeps {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** `source.component`. */
  component: string;
  /** Replaces the API-backed recorder (tests). */
  recorder?: EventRecorder;
}

/** A recorder that sends Events through the API on behalf of `component`. */
export function createRecorder(deps: RecorderDeps): ComponentRecorder {
  const rec =
    deps.recorder ??
    new ApiEventRecorder({
      client: deps.client,
      component: deps.component,
      host: '',
      clock: deps.clock,
      logger: deps.logger,
      // Controllers emit bursts (a 30-replica scale-up); kube's spam filter is per object.
      qps: 100,
      burst: 1000,
    });
  return {
    event(type, obj, eventType, reason, message) {
      rec.event({ ...obj, apiVersion: apiVersionOf(type), kind: type.kind }, eventType, reason, message);
    },
  };
}
