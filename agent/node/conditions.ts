/**
 * The node conditions kubelet owns, computed like its `nodestatus` setters
 * (`MemoryPressureCondition`, `DiskPressureCondition`, `PIDPressureCondition`,
 * `ReadyCondition`): every condition gets a fresh `lastHeartbeatTime`; `lastTransitionTime`
 * moves only when the status changes; each status change records a node Event. Conditions owned
 * by others (e.g. `NetworkUnavailable`) are kept as they are. `Ready` stays last in the list
 * (kubernetes#16961).
 */
import type { NodeCondition } from 'kubernetes-types/core/v1.js';
import type { Pressure } from './pressure.js';

/** A node Event to record after a condition changed. */
export interface ConditionEvent {
  type: 'Normal' | 'Warning';
  reason: string;
}

/** metav1.Time: RFC 3339 with whole seconds. */
export function metaTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Joins error messages as apimachinery's `utilerrors.NewAggregate(...).Error()` does:
 * duplicates dropped, one message as is, several as `[a, b]`.
 */
export function aggregateMessage(messages: readonly string[]): string {
  const seen: string[] = [];
  for (const m of messages) if (m && !seen.includes(m)) seen.push(m);
  if (seen.length <= 1) return seen[0] ?? '';
  return `[${seen.join(', ')}]`;
}

interface PressureSpec {
  type: string;
  trueReason: string;
  trueMessage: string;
  trueEvent: string;
  falseReason: string;
  falseMessage: string;
  falseEvent: string;
}

const PRESSURES: Record<'memory' | 'disk' | 'pid', PressureSpec> = {
  memory: {
    type: 'MemoryPressure',
    trueReason: 'KubeletHasInsufficientMemory',
    trueMessage: 'kubelet has insufficient memory available',
    trueEvent: 'NodeHasInsufficientMemory',
    falseReason: 'KubeletHasSufficientMemory',
    falseMessage: 'kubelet has sufficient memory available',
    falseEvent: 'NodeHasSufficientMemory',
  },
  disk: {
    type: 'DiskPressure',
    trueReason: 'KubeletHasDiskPressure',
    trueMessage: 'kubelet has disk pressure',
    trueEvent: 'NodeHasDiskPressure',
    falseReason: 'KubeletHasNoDiskPressure',
    falseMessage: 'kubelet has no disk pressure',
    falseEvent: 'NodeHasNoDiskPressure',
  },
  pid: {
    type: 'PIDPressure',
    trueReason: 'KubeletHasInsufficientPID',
    trueMessage: 'kubelet has insufficient PID available',
    trueEvent: 'NodeHasInsufficientPID',
    falseReason: 'KubeletHasSufficientPID',
    falseMessage: 'kubelet has sufficient PID available',
    falseEvent: 'NodeHasSufficientPID',
  },
};

/** Condition types kubelet owns. */
export const OWNED_CONDITIONS: readonly string[] = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'];

/** Inputs of {@link computeConditions}. */
export interface ConditionInputs {
  /** Now, in ms since the epoch. */
  now: number;
  pressure: Pressure;
  /** Why the node is not ready (runtime, network, missing capacity); empty when ready. */
  notReadyReasons: readonly string[];
}

/**
 * Computes the conditions from the previous ones. Returns the full new list (others' conditions
 * kept, in place) and the Events to record.
 */
export function computeConditions(previous: readonly NodeCondition[] | undefined, inputs: ConditionInputs): { conditions: NodeCondition[]; events: ConditionEvent[] } {
  const now = metaTime(inputs.now);
  const list: NodeCondition[] = (previous ?? []).map((c) => ({ ...c }));
  const events: ConditionEvent[] = [];

  for (const key of ['memory', 'disk', 'pid'] as const) {
    const spec = PRESSURES[key];
    let c = list.find((x) => x.type === spec.type);
    const isNew = !c;
    if (!c) c = { type: spec.type, status: 'Unknown' };
    c.lastHeartbeatTime = now;
    if (inputs.pressure[key]) {
      if (c.status !== 'True') {
        Object.assign(c, { status: 'True', reason: spec.trueReason, message: spec.trueMessage, lastTransitionTime: now });
        events.push({ type: 'Normal', reason: spec.trueEvent });
      }
    } else if (c.status !== 'False') {
      Object.assign(c, { status: 'False', reason: spec.falseReason, message: spec.falseMessage, lastTransitionTime: now });
      events.push({ type: 'Normal', reason: spec.falseEvent });
    }
    if (isNew) {
      // Keep Ready last: insert new conditions before it.
      const readyAt = list.findIndex((x) => x.type === 'Ready');
      if (readyAt >= 0) list.splice(readyAt, 0, c);
      else list.push(c);
    }
  }

  const ready: NodeCondition =
    inputs.notReadyReasons.length === 0
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: aggregateMessage(inputs.notReadyReasons), lastHeartbeatTime: now };
  const i = list.findIndex((x) => x.type === 'Ready');
  if (i >= 0) {
    const old = list[i];
    if (old.status === ready.status) ready.lastTransitionTime = old.lastTransitionTime ?? now;
    else {
      ready.lastTransitionTime = now;
      events.push({ type: 'Normal', reason: ready.status === 'True' ? 'NodeReady' : 'NodeNotReady' });
    }
    list.splice(i, 1);
  } else {
    // A node without a Ready condition gets one without an Event, as kubelet does.
    ready.lastTransitionTime = now;
  }
  list.push(ready);
  return { conditions: list, events };
}

/** True when two condition lists differ in anything but heartbeat times (kubelet's `nodeConditionsHaveChanged`). */
export function conditionsChanged(a: readonly NodeCondition[] | undefined, b: readonly NodeCondition[] | undefined): boolean {
  const norm = (l: readonly NodeCondition[] | undefined): string =>
    JSON.stringify(
      [...(l ?? [])]
        .map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? '', message: c.message ?? '', lastTransitionTime: c.lastTransitionTime ?? '' }))
        .sort((x, y) => (x.type < y.type ? -1 : x.type > y.type ? 1 : 0)),
    );
  return norm(a) !== norm(b);
}
