import { describe, expect, it } from 'vitest';
import type { ContainerStatus, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { ApiError, Pods, statusFailure, type KubeClient } from '../../../lib/kube/index.js';
import { getPhase } from './phase.js';
import { containersReadyCondition, podInitializedCondition, podReadyCondition } from './conditions.js';
import { podStatusPatch } from './patch.js';
import { StatusManager } from './manager.js';

const running = (name: string, ready = true): ContainerStatus => ({ name, image: 'i', imageID: '', ready, restartCount: 0, state: { running: { startedAt: 't' } } });
const exited = (name: string, exitCode: number): ContainerStatus => ({ name, image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } });
const waiting = (name: string, lastExit?: number): ContainerStatus => ({
  name,
  image: 'i',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason: 'X' } },
  ...(lastExit !== undefined ? { lastState: { terminated: { exitCode: lastExit } } } : {}),
});

function mkPod(restartPolicy: 'Always' | 'OnFailure' | 'Never', inits: string[] = []): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { restartPolicy, containers: [{ name: 'a' }, { name: 'b' }], initContainers: inits.map((name) => ({ name })) },
  };
}

describe('getPhase', () => {
  it('follows kubelet for app containers', () => {
    expect(getPhase(mkPod('Always'), [running('a'), running('b')], false, true)).toBe('Running');
    expect(getPhase(mkPod('Always'), [running('a')], false, true)).toBe('Pending');
    expect(getPhase(mkPod('Always'), [running('a'), waiting('b')], false, true)).toBe('Pending');
    expect(getPhase(mkPod('Always'), [running('a'), waiting('b', 1)], false, true)).toBe('Running');
    expect(getPhase(mkPod('Always'), [exited('a', 0), exited('b', 0)], false, true)).toBe('Running');
    expect(getPhase(mkPod('Never'), [exited('a', 0), exited('b', 0)], false, true)).toBe('Succeeded');
    expect(getPhase(mkPod('Never'), [exited('a', 0), exited('b', 1)], false, true)).toBe('Failed');
    expect(getPhase(mkPod('OnFailure'), [exited('a', 0), exited('b', 1)], false, true)).toBe('Running');
    expect(getPhase(mkPod('OnFailure'), [exited('a', 0), exited('b', 0)], false, true)).toBe('Succeeded');
    expect(getPhase(mkPod('Always'), [exited('a', 0), exited('b', 143)], true, true)).toBe('Failed');
    expect(getPhase(mkPod('Always'), [exited('a', 0), exited('b', 0)], true, true)).toBe('Succeeded');
  });

  it('keeps the pod Pending until init containers complete, and fails on Never', () => {
    expect(getPhase(mkPod('Always', ['i']), [running('i'), waiting('a'), waiting('b')], false, false)).toBe('Pending');
    expect(getPhase(mkPod('Never', ['i']), [exited('i', 1), waiting('a'), waiting('b')], false, false)).toBe('Failed');
    expect(getPhase(mkPod('Always', ['i']), [exited('i', 1), waiting('a'), waiting('b')], false, false)).toBe('Pending');
    expect(getPhase(mkPod('Always', ['i']), [exited('i', 0), running('a'), running('b')], false, true)).toBe('Running');
  });
});

describe('conditions', () => {
  it('lists unready and unknown containers like kubelet', () => {
    const pod = mkPod('Always');
    expect(containersReadyCondition(pod, [running('a', false)], 'Running')).toEqual({
      type: 'ContainersReady',
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unknown status: [b], containers with unready status: [a]',
    });
    expect(containersReadyCondition(pod, [exited('a', 0), exited('b', 0)], 'Succeeded')).toEqual({ type: 'ContainersReady', status: 'False', reason: 'PodCompleted' });
    expect(podReadyCondition(pod, [], [running('a'), running('b')], 'Running')).toEqual({ type: 'Ready', status: 'True' });
  });

  it('applies readiness gates', () => {
    const pod = { ...mkPod('Always'), spec: { ...mkPod('Always').spec!, readinessGates: [{ conditionType: 'example.com/lb' }] } };
    expect(podReadyCondition(pod, [], [running('a'), running('b')], 'Running')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ReadinessGatesNotReady',
      message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    });
    expect(podReadyCondition(pod, [{ type: 'example.com/lb', status: 'False' }], [running('a'), running('b')], 'Running').message).toBe(
      'the status of pod readiness gate "example.com/lb" is not "True", but False',
    );
    expect(podReadyCondition(pod, [{ type: 'example.com/lb', status: 'True' }], [running('a'), running('b')], 'Running').status).toBe('True');
  });

  it('reports initialization', () => {
    const pod = mkPod('Always', ['i1', 'i2']);
    expect(podInitializedCondition(pod, [{ ...exited('i1', 0), ready: true }], 'Pending')).toEqual({
      type: 'Initialized',
      status: 'False',
      reason: 'ContainersNotInitialized',
      message: 'containers with unknown status: [i2]',
    });
  });
});

describe('status patch', () => {
  it('carries the uid, changed fields and list deletions', () => {
    const base: PodStatus = { phase: 'Pending', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], conditions: [{ type: 'Ready', status: 'False' }, { type: 'Foo', status: 'True' }] };
    const next: PodStatus = { phase: 'Running', podIPs: [{ ip: '10.0.0.2' }], podIP: '10.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] };
    expect(podStatusPatch('u1', base, next)).toEqual({
      metadata: { uid: 'u1' },
      status: {
        phase: 'Running',
        podIP: '10.0.0.2',
        '$setElementOrder/podIPs': [{ ip: '10.0.0.2' }],
        podIPs: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1', $patch: 'delete' }],
        '$setElementOrder/conditions': [{ type: 'Ready' }],
        conditions: [{ type: 'Ready', status: 'True' }, { type: 'Foo', $patch: 'delete' }],
      },
    });
    expect(podStatusPatch('u1', next, next)).toBeUndefined();
  });
});

describe('StatusManager', () => {
  function fakeClient(): KubeClient & { patches: unknown[]; fail: number; gone: boolean } {
    const c = {
      patches: [] as unknown[],
      fail: 0,
      gone: false,
      async patch(_t: unknown, _ns: unknown, _n: unknown, _pt: unknown, body: unknown) {
        if (c.gone) throw new ApiError(statusFailure(404, 'NotFound', 'pods "p" not found'));
        if (c.fail > 0) {
          c.fail--;
          throw new Error('connection refused');
        }
        c.patches.push(body);
        return {};
      },
      async delete() {
        return {};
      },
    };
    return c as unknown as KubeClient & typeof c;
  }
  const pod: Pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, status: { phase: 'Pending' } };

  it('sends only changes, keeps transition times, and resends the latest after failures', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const client = fakeClient();
    const sm = new StatusManager({ client, clock, logger: silentLogger() });
    const st = (phase: string, ready: 'True' | 'False'): PodStatus => ({ phase, conditions: [{ type: 'Ready', status: ready }] });
    sm.setStatus(pod, st('Pending', 'False'));
    await sm.flush();
    sm.setStatus(pod, st('Pending', 'False'));
    await sm.flush();
    expect(client.patches).toHaveLength(1);
    await clock.advance(5000);
    client.fail = 3;
    sm.setStatus(pod, st('Running', 'False'));
    sm.setStatus(pod, st('Running', 'True'));
    for (let i = 0; i < 10; i++) await clock.advance(10_000);
    await sm.flush();
    expect(client.patches).toHaveLength(2);
    const last = client.patches[1] as { status: PodStatus };
    expect(last.status.phase).toBe('Running');
    expect(last.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' });
    expect(sm.getStatus('u')?.startTime).toBe('2026-01-01T00:00:00Z');
  });

  it('drops a pod that is gone (404) and never leaves a terminal phase', async () => {
    const clock = new FakeClock();
    const client = fakeClient();
    const sm = new StatusManager({ client, clock, logger: silentLogger() });
    sm.setStatus(pod, { phase: 'Failed' });
    await sm.flush();
    sm.setStatus(pod, { phase: 'Running' });
    await sm.flush();
    expect(sm.getStatus('u')?.phase).toBe('Failed');
    client.gone = true;
    sm.setStatus(pod, { phase: 'Failed', reason: 'X' });
    await sm.flush();
    expect(client.patches).toHaveLength(1);
    void Pods;
  });
});
