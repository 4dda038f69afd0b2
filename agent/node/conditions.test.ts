import { describe, expect, it } from 'vitest';
import { aggregateMessage, computeConditions, conditionsChanged, metaTime } from './conditions.js';

const T0 = Date.UTC(2026, 10, 22, 4, 0, 0);
const ok = { memory: false, disk: false, pid: false };

describe('node conditions', () => {
  it('creates all four conditions, Ready last, events for the pressures only', () => {
    const r = computeConditions(undefined, { now: T0, pressure: ok, notReadyReasons: [] });
    expect(r.conditions.map((c) => c.type)).toEqual(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    expect(r.events.map((e) => e.reason)).toEqual(['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID']);
    expect(r.conditions[3]).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastHeartbeatTime: '2026-11-22T04:00:00Z',
      lastTransitionTime: '2026-11-22T04:00:00Z',
    });
  });

  it('moves lastTransitionTime only on a status change, heartbeats always', () => {
    const a = computeConditions(undefined, { now: T0, pressure: ok, notReadyReasons: [] }).conditions;
    const b = computeConditions(a, { now: T0 + 10_000, pressure: ok, notReadyReasons: [] });
    expect(b.events).toEqual([]);
    expect(b.conditions.every((c) => c.lastHeartbeatTime === '2026-11-22T04:00:10Z' && c.lastTransitionTime === '2026-11-22T04:00:00Z')).toBe(true);
    expect(conditionsChanged(a, b.conditions)).toBe(false);
    const c = computeConditions(b.conditions, { now: T0 + 20_000, pressure: { ...ok, disk: true }, notReadyReasons: ['container runtime is down'] });
    expect(c.events.map((e) => e.reason)).toEqual(['NodeHasDiskPressure', 'NodeNotReady']);
    const ready = c.conditions.find((x) => x.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down', lastTransitionTime: '2026-11-22T04:00:20Z' });
    expect(conditionsChanged(b.conditions, c.conditions)).toBe(true);
    // A different NotReady message is a change but not a transition.
    const d = computeConditions(c.conditions, { now: T0 + 30_000, pressure: { ...ok, disk: true }, notReadyReasons: ['x'] });
    expect(d.conditions.find((x) => x.type === 'Ready')?.lastTransitionTime).toBe('2026-11-22T04:00:20Z');
    expect(d.events).toEqual([]);
  });

  it('keeps conditions owned by others', () => {
    const prev = [{ type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated' }];
    const r = computeConditions(prev, { now: T0, pressure: ok, notReadyReasons: [] });
    expect(r.conditions.map((c) => c.type)).toEqual(['NetworkUnavailable', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
    expect(r.conditions[0]).toEqual(prev[0]);
  });

  it('aggregates messages like apimachinery', () => {
    expect(aggregateMessage([])).toBe('');
    expect(aggregateMessage(['a'])).toBe('a');
    expect(aggregateMessage(['a', 'b', 'a'])).toBe('[a, b]');
    expect(metaTime(T0 + 999)).toBe('2026-11-22T04:00:00Z');
  });
});
