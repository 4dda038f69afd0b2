import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { Pods } from '../../lib/kube/index.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { FakeRuntime } from '../runtime/fake/index.js';
import { BUSYBOX, createBench, cs, pod, type Bench } from './test-harness.js';

let benches: Bench[] = [];
let api: Api | undefined;
let dir: string | undefined;
afterEach(async () => {
  for (const b of benches) await b.close();
  benches = [];
  await api?.close();
  api = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function shared(): Promise<{ clock: FakeClock; runtime: FakeRuntime; api: Api; dir: string }> {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  api = await createApi({ clock });
  dir = await mkdtemp(join(tmpdir(), 'skiff-adopt-'));
  const runtime = new FakeRuntime({ clock, images: [BUSYBOX] });
  return { clock, runtime, api, dir };
}

describe('agent restart', () => {
  it('adopts running pods: no create, start or stop, same restart counts, same status', async () => {
    const env = await shared();
    const b1 = await createBench(env);
    benches.push(b1);
    await b1.createPod(pod('web'));
    await b1.createPod(pod('crashy'));
    await b1.createPod(
      pod('inited', { initContainers: [{ name: 'init', image: BUSYBOX, command: ['sh', '-c', 'exit 0'] }] }),
    );
    await b1.createPod(pod('job', { restartPolicy: 'Never', containers: [{ name: 'main', image: BUSYBOX, command: ['sh', '-c', 'exit 0'] }] }));
    await b1.advance(1000);
    await b1.advance(1000);
    // crashy restarts twice
    for (let i = 0; i < 2; i++) {
      b1.runtime.exitContainer(cs(await b1.getPod('crashy'))!.containerID!.replace('fake://', ''), 1);
      await b1.advance(15_000);
    }
    const before = new Map<string, Pod>();
    for (const n of ['web', 'crashy', 'inited', 'job']) before.set(n, (await b1.getPod(n))!);
    expect(cs(before.get('crashy'))?.restartCount).toBe(2);
    expect(before.get('inited')?.status?.phase).toBe('Running');
    expect(before.get('job')?.status?.phase).toBe('Succeeded');

    // The agent goes away; containers keep running.
    await b1.manager.stop();
    benches = [];
    env.runtime.resetCalls();

    const b2 = await createBench(env);
    benches.push(b2);
    await b2.advance(2000);
    for (const m of ['runPodSandbox', 'createContainer', 'startContainer', 'stopContainer', 'stopPodSandbox', 'removeContainer', 'removePodSandbox'] as const) {
      expect(env.runtime.callCount(m), m).toBe(0);
    }
    for (const [name, old] of before) {
      const now = (await b2.getPod(name))!;
      expect(now.metadata?.resourceVersion, `${name} was not patched`).toBe(old.metadata?.resourceVersion);
      expect(now.status).toEqual(old.status);
    }
    expect(b2.manager.runningPods().map((p) => p.metadata?.name).sort()).toEqual(['crashy', 'inited', 'web']);

    // Life goes on: the restart count continues from the annotation.
    env.runtime.exitContainer(cs(await b2.getPod('crashy'))!.containerID!.replace('fake://', ''), 1);
    await b2.advance(1000);
    await b2.advance(40_000);
    const crashy = await b2.getPod('crashy');
    expect(cs(crashy)?.restartCount).toBe(3);
    expect(cs(crashy)?.state?.running).toBeDefined();
  }, 30_000);

  it('removes the runtime objects of pods that vanished while it was away, but only after the pod list synced', async () => {
    const env = await shared();
    const b1 = await createBench(env);
    await b1.createPod(pod('kept'));
    await b1.createPod(pod('vanished'));
    await b1.manager.stop();
    await env.api.client.delete(Pods, 'default', 'vanished', { gracePeriodSeconds: 0 });
    expect(await b1.getPod('vanished')).toBeUndefined();
    env.runtime.resetCalls();

    const b2 = await createBench({ ...env, start: false });
    benches.push(b2);
    await b2.manager.housekeeping({ gc: true }); // not started: must not touch anything
    expect(env.runtime.sandboxList()).toHaveLength(2);
    await b2.manager.start();
    await b2.manager.ready();
    await b2.settle();
    await b2.advance(2000);
    const left = env.runtime.sandboxList().map((s) => s.metadata.name);
    expect(left).toEqual(['kept']);
    expect(env.runtime.containerList().map((c) => c.labels['io.kubernetes.pod.name'])).toEqual(['kept']);
    expect(env.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([2]);
  });
});

describe('runtime unavailable', () => {
  it('kills nothing and marks nothing failed while the runtime is away, and recovers', async () => {
    const b = await createBench();
    benches.push(b);
    await b.createPod(pod('web'));
    const before = await b.getPod('web');
    b.runtime.setUnavailable(true);
    await b.createPod(pod('late'));
    const id = cs(before)!.containerID!.replace('fake://', '');
    b.runtime.exitContainer(id, 137); // dies while we cannot see it
    for (let i = 0; i < 30; i++) await b.advance(2000);
    expect(b.runtime.callCount('stopContainer')).toBe(0);
    expect(b.runtime.callCount('removeContainer')).toBe(0);
    expect(b.runtime.callCount('removePodSandbox')).toBe(0);
    const during = await b.getPod('web');
    expect(during?.status).toEqual(before?.status);
    expect((await b.getPod('late'))?.status?.phase).toBe('Pending');

    b.runtime.setUnavailable(false);
    await b.advance(10_000);
    await b.advance(1000);
    const web = await b.getPod('web');
    expect(cs(web)?.restartCount).toBe(1);
    expect(cs(web)?.lastState?.terminated?.exitCode).toBe(137);
    expect(cs(web)?.state?.running).toBeDefined();
    expect((await b.getPod('late'))?.status?.phase).toBe('Running');
  }, 30_000);
});
