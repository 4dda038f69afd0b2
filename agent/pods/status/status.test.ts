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

  it('deletes the fields a merge-keyed item lost (the server merges items field by field)', () => {
    const base: PodStatus = { conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [c]', lastTransitionTime: 't1' }] };
    const next: PodStatus = { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't2', lastProbeTime: null as unknown as string }] };
    expect(podStatusPatch('u1', base, next)?.status).toEqual({
      '$setElementOrder/conditions': [{ type: 'Ready' }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 't2', lastProbeTime: null, reason: null, message: null }],
    });
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

  it('leaves out a field an older apiserver refuses and sends the patch again at once', async () => {
    const clock = new FakeClock();
    const client = fakeClient();
    const patch = client.patch.bind(client);
    // kube-apiserver 1.20's answer to a strategic merge patch naming a 1.28 field.
    client.patch = (async (...args: Parameters<typeof patch>) => {
      if (JSON.stringify(args[4]).includes('hostIPs')) throw new ApiError(statusFailure(500, 'InternalError', 'unable to find api field in struct PodStatus for the json field "hostIPs"'));
      return patch(...args);
    }) as typeof client.patch;
    const sm = new StatusManager({ client, clock, logger: silentLogger() });
    sm.setStatus(pod, { phase: 'Running', hostIP: '10.0.0.1', hostIPs: [{ ip: '10.0.0.1' }] });
    await sm.flush();
    expect(client.patches).toHaveLength(1);
    expect((client.patches[0] as { status: PodStatus }).status).toMatchObject({ phase: 'Running', hostIP: '10.0.0.1' });
    expect((client.patches[0] as { status: PodStatus }).status.hostIPs).toBeUndefined();
    // The full status stays available inside the agent.
    expect(sm.getStatus('u')?.hostIPs).toEqual([{ ip: '10.0.0.1' }]);
  });

  it('writes its status again when someone else changed it (node controller after an outage), keeping foreign conditions', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const client = fakeClient();
    const sm = new StatusManager({ client, clock, logger: silentLogger() });
    const p0: Pod = { ...pod, metadata: { ...pod.metadata, resourceVersion: '10' } };
    sm.setStatus(p0, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    await sm.flush();
    expect(client.patches).toHaveLength(1);
    // An informer copy carrying exactly what the agent wrote: nothing to do.
    sm.reconcile({ ...p0, metadata: { ...p0.metadata, resourceVersion: '11' }, status: { phase: 'Running', startTime: '2026-01-01T00:00:00Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z', lastProbeTime: null as unknown as string }] } });
    await sm.flush();
    expect(client.patches).toHaveLength(1);
    // The node-lifecycle controller marked the pod not ready, and someone added a condition of its own.
    const changed: Pod = {
      ...p0,
      metadata: { ...p0.metadata, resourceVersion: '12' },
      status: { phase: 'Running', startTime: '2026-01-01T00:00:00Z', conditions: [{ type: 'DisruptionTarget', status: 'True' }, { type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:01:00Z' }] },
    };
    sm.reconcile(changed);
    await sm.flush();
    expect(client.patches).toHaveLength(2);
    const sent = (client.patches[1] as { status: PodStatus }).status;
    expect(sent.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' });
    // Foreign conditions are neither deleted nor rewritten.
    expect(sent.conditions?.map((c) => c.type)).toEqual(['Ready']);
    expect(JSON.stringify(sent)).not.toContain('$patch');
    expect(sm.getStatus('u')?.conditions?.map((c) => c.type)).toEqual(['DisruptionTarget', 'Ready']);
    // A stale copy (older than what the agent saw) is ignored.
    sm.reconcile({ ...changed, metadata: { ...changed.metadata, resourceVersion: '9' } });
    await sm.flush();
    expect(client.patches).toHaveLength(2);
  });
});
