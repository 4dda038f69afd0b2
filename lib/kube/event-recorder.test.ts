import { afterEach, describe, expect, it } from 'vitest';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { FakeClock } from '../clock.js';
import { silentLogger } from '../log.js';
import { Events } from './resources.js';
import { ApiEventRecorder } from './event-recorder.js';

let api: Api | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', uid: 'u1' } };

describe('ApiEventRecorder', () => {
  it('creates an Event, then aggregates repeats into count and lastTimestamp', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 22, 4, 0, 0));
    api = await createApi({ clock });
    const rec = new ApiEventRecorder({ client: api.client, component: 'kubelet', host: 'node-a', clock, logger: silentLogger() });
    rec.event(pod, 'Warning', 'BackOff', 'Back-off pulling image "nope:1"', 'spec.containers{c}');
    await clock.advance(0);
    await rec.flush();
    await clock.advance(5_000);
    rec.event(pod, 'Warning', 'BackOff', 'Back-off pulling image "nope:1"', 'spec.containers{c}');
    rec.event(pod, 'Normal', 'Pulling', 'Pulling image "nope:1"', 'spec.containers{c}');
    await clock.advance(0);
    await rec.flush();
    const list = await api.client.list<Event>(Events, { namespace: 'default' });
    const byReason = Object.fromEntries(list.items.map((e) => [e.reason, e]));
    expect(Object.keys(byReason).sort()).toEqual(['BackOff', 'Pulling']);
    const backoff = byReason.BackOff;
    expect(backoff.count).toBe(2);
    expect(backoff.type).toBe('Warning');
    expect(backoff.involvedObject).toMatchObject({ kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u1', fieldPath: 'spec.containers{c}' });
    expect(backoff.source).toEqual({ component: 'kubelet', host: 'node-a' });
    expect(backoff.firstTimestamp).toBe('2026-11-22T04:00:00Z');
    expect(backoff.lastTimestamp).toBe('2026-11-22T04:00:05Z');
  });

  it('puts events about cluster-scoped objects in default and never throws when the API fails', async () => {
    const clock = new FakeClock();
    api = await createApi({ clock });
    const rec = new ApiEventRecorder({ client: api.client, component: 'kubelet', host: 'n', clock, logger: silentLogger() });
    rec.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', uid: 'n' } }, 'Normal', 'NodeReady', 'Node n status is now: NodeReady');
    await clock.advance(0);
    await rec.flush();
    const list = await api.client.list<Event>(Events, { namespace: 'default' });
    expect(list.items.map((e) => e.reason)).toEqual(['NodeReady']);
    await api.close();
    expect(() => rec.event(pod, 'Normal', 'X', 'y')).not.toThrow();
    await clock.advance(0);
    await rec.flush();
  });
});
