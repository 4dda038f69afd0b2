import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { computePodActions, podSandboxChanged } from './actions.js';
import { hashContainer } from './hash.js';
import type { ObservedContainer, ObservedSandbox, PodRuntimeStatus } from './runtime-state.js';

function mkPod(spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { containers: [{ name: 'a', image: 'img:1' }, { name: 'b', image: 'img:1' }], ...spec },
  };
}

let seq = 1;
function sb(state: ObservedSandbox['state'], attempt = 0, ips = ['10.0.0.2']): ObservedSandbox {
  return { id: `s${seq++}`, attempt, state, createdAt: seq * 1000, ips: state === 'SANDBOX_READY' ? ips : [] };
}

function ctr(name: string, state: ObservedContainer['state'], extra: Partial<ObservedContainer> = {}): ObservedContainer {
  const image = extra.image ?? 'img:1';
  return {
    id: `c${seq++}`,
    sandboxId: 's',
    name,
    type: 'container',
    attempt: 0,
    state,
    createdAt: seq * 1000,
    startedAt: 1,
    finishedAt: state === 'CONTAINER_EXITED' ? 2 : 0,
    exitCode: 0,
    reason: '',
    message: '',
    image,
    imageRef: 'sha256:x',
    hash: hashContainer({ name, image }),
    restartCount: 0,
    logPath: '',
    terminationMessagePath: '',
    terminationMessagePolicy: '',
    mounts: [],
    ...extra,
  };
}

function rt(sandboxes: ObservedSandbox[], containers: ObservedContainer[]): PodRuntimeStatus {
  const s = [...sandboxes].sort((x, y) => y.createdAt - x.createdAt);
  const c = [...containers].sort((x, y) => y.createdAt - x.createdAt);
  return { uid: 'u', sandboxes: s, containers: c, ips: s[0]?.state === 'SANDBOX_READY' ? s[0].ips : [], fingerprint: '' };
}

describe('podSandboxChanged', () => {
  it('needs a sandbox when there is none, when the newest is not ready, or has no IP', () => {
    expect(podSandboxChanged(mkPod(), rt([], []))).toEqual({ changed: true, attempt: 0, sandboxId: '' });
    const dead = sb('SANDBOX_NOTREADY', 2);
    expect(podSandboxChanged(mkPod(), rt([dead], []))).toEqual({ changed: true, attempt: 3, sandboxId: dead.id });
    const noIp = sb('SANDBOX_READY', 0, []);
    expect(podSandboxChanged(mkPod(), rt([noIp], [])).changed).toBe(true);
    expect(podSandboxChanged(mkPod({ hostNetwork: true }), rt([noIp], [])).changed).toBe(false);
    const ok = sb('SANDBOX_READY', 1);
    expect(podSandboxChanged(mkPod(), rt([ok], []))).toEqual({ changed: false, attempt: 1, sandboxId: ok.id });
  });
});

describe('computePodActions', () => {
  it('creates a sandbox and starts every container for a new pod', () => {
    const a = computePodActions(mkPod(), rt([], []));
    expect(a).toMatchObject({ createSandbox: true, killPod: true, attempt: 0, containersToStart: [0, 1], initContainersToStart: [] });
  });

  it('starts the first init container first', () => {
    const a = computePodActions(mkPod({ initContainers: [{ name: 'i1', image: 'img:1' }, { name: 'i2', image: 'img:1' }] }), rt([], []));
    expect(a).toMatchObject({ createSandbox: true, initContainersToStart: [0], containersToStart: [] });
  });

  it('moves to the next init container, then the app containers', () => {
    const pod = mkPod({ initContainers: [{ name: 'i1', image: 'img:1' }, { name: 'i2', image: 'img:1' }] });
    const s = sb('SANDBOX_READY');
    const i1 = ctr('i1', 'CONTAINER_EXITED', { type: 'init' });
    expect(computePodActions(pod, rt([s], [i1]))).toMatchObject({ createSandbox: false, initContainersToStart: [1], containersToStart: [] });
    const i2run = ctr('i2', 'CONTAINER_RUNNING', { type: 'init' });
    expect(computePodActions(pod, rt([s], [i1, i2run]))).toMatchObject({ initContainersToStart: [], containersToStart: [] });
    const i2 = ctr('i2', 'CONTAINER_EXITED', { type: 'init' });
    expect(computePodActions(pod, rt([s], [i1, i2]))).toMatchObject({ initContainersToStart: [], containersToStart: [0, 1] });
  });

  it('kills the pod when an init container fails and the pod must not restart', () => {
    const pod = mkPod({ restartPolicy: 'Never', initContainers: [{ name: 'i1', image: 'img:1' }] });
    const a = computePodActions(pod, rt([sb('SANDBOX_READY')], [ctr('i1', 'CONTAINER_EXITED', { type: 'init', exitCode: 1 })]));
    expect(a).toMatchObject({ killPod: true, createSandbox: false, initContainersToStart: [], containersToStart: [] });
    const again = computePodActions({ ...pod, spec: { ...pod.spec!, restartPolicy: 'OnFailure' } }, rt([sb('SANDBOX_READY')], [ctr('i1', 'CONTAINER_EXITED', { type: 'init', exitCode: 1 })]));
    expect(again).toMatchObject({ killPod: false, initContainersToStart: [0] });
  });

  it('keeps running containers whose hash matches and restarts exited ones per restartPolicy', () => {
    const s = sb('SANDBOX_READY');
    const running = ctr('a', 'CONTAINER_RUNNING');
    const exited0 = ctr('b', 'CONTAINER_EXITED', { exitCode: 0 });
    expect(computePodActions(mkPod(), rt([s], [running, exited0]))).toMatchObject({ containersToStart: [1], containersToKill: [], killPod: false });
    expect(computePodActions(mkPod({ restartPolicy: 'OnFailure' }), rt([s], [running, exited0]))).toMatchObject({ containersToStart: [], killPod: false });
    const exited1 = ctr('b', 'CONTAINER_EXITED', { exitCode: 1 });
    expect(computePodActions(mkPod({ restartPolicy: 'OnFailure' }), rt([s], [running, exited1]))).toMatchObject({ containersToStart: [1] });
    expect(computePodActions(mkPod({ restartPolicy: 'Never' }), rt([s], [running, exited1]))).toMatchObject({ containersToStart: [], killPod: false });
  });

  it('kills the pod (stops the sandbox) when nothing runs and nothing will', () => {
    const s = sb('SANDBOX_READY');
    const a = computePodActions(mkPod({ restartPolicy: 'Never' }), rt([s], [ctr('a', 'CONTAINER_EXITED'), ctr('b', 'CONTAINER_EXITED', { exitCode: 2 })]));
    expect(a).toMatchObject({ killPod: true, createSandbox: false, containersToStart: [] });
  });

  it('restarts a container whose spec hash changed, whatever the restart policy', () => {
    const s = sb('SANDBOX_READY');
    const old = ctr('a', 'CONTAINER_RUNNING', { image: 'img:0' });
    const a = computePodActions(mkPod({ restartPolicy: 'Never' }), rt([s], [old, ctr('b', 'CONTAINER_RUNNING')]));
    expect(a.containersToStart).toEqual([0]);
    expect(a.containersToKill).toEqual([expect.objectContaining({ id: old.id, message: 'Container a definition changed, will be restarted', reason: 'definition-changed' })]);
  });

  it('kills a container whose liveness probe failed, restarting it unless restartPolicy Never', () => {
    const s = sb('SANDBOX_READY');
    const a0 = ctr('a', 'CONTAINER_RUNNING');
    const pod = mkPod({ containers: [{ name: 'a', image: 'img:1', livenessProbe: { exec: { command: ['true'] } } }] });
    const probes = { liveness: (id: string) => (id === a0.id ? ('failure' as const) : undefined), startup: () => undefined };
    const a = computePodActions(pod, rt([s], [a0]), probes);
    expect(a.containersToKill[0].message).toBe('Container a failed liveness probe, will be restarted');
    expect(a.containersToStart).toEqual([0]);
    const never = computePodActions({ ...pod, spec: { ...pod.spec!, restartPolicy: 'Never' } }, rt([s], [a0]), probes);
    expect(never.containersToKill[0].message).toBe('Container a failed liveness probe');
    expect(never.killPod).toBe(true);
  });

  it('does not recreate the sandbox of a finished Never pod, and skips succeeded OnFailure containers', () => {
    const dead = sb('SANDBOX_NOTREADY');
    const never = computePodActions(mkPod({ restartPolicy: 'Never' }), rt([dead], [ctr('a', 'CONTAINER_EXITED')]));
    expect(never).toMatchObject({ createSandbox: false, killPod: true });
    const onf = computePodActions(mkPod({ restartPolicy: 'OnFailure' }), rt([dead], [ctr('a', 'CONTAINER_EXITED', { exitCode: 0 }), ctr('b', 'CONTAINER_EXITED', { exitCode: 1 })]));
    expect(onf).toMatchObject({ createSandbox: true, attempt: 1, containersToStart: [1] });
  });

  it('never restarts containers of a pod being deleted', () => {
    const s = sb('SANDBOX_READY');
    const pod = { ...mkPod(), metadata: { ...mkPod().metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    const a = computePodActions(pod, rt([s], [ctr('a', 'CONTAINER_EXITED'), ctr('b', 'CONTAINER_RUNNING')]));
    expect(a.containersToStart).toEqual([]);
  });

  it('starts a restartable init container and moves on once it runs', () => {
    const pod = mkPod({ initContainers: [{ name: 'side', image: 'img:1', restartPolicy: 'Always' } as never, { name: 'i2', image: 'img:1' }] });
    const s = sb('SANDBOX_READY');
    const side = ctr('side', 'CONTAINER_RUNNING', { type: 'init' });
    expect(computePodActions(pod, rt([s], [side]))).toMatchObject({ initContainersToStart: [1], containersToStart: [] });
  });
});
