import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Pods } from '../../lib/kube/index.js';
import type { ContainerConfig } from '../runtime/index.js';
import { createBench, cs, pod, type Bench } from './test-harness.js';

let b: Bench | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

describe('graceful deletion', () => {
  it('stops containers within the grace period, removes the sandbox, then confirms with grace 0', async () => {
    b = await createBench();
    await b.createPod(pod('web', { terminationGracePeriodSeconds: 20 }));
    const uid = (await b.getPod('web'))!.metadata!.uid!;
    await b.client.delete(Pods, 'default', 'web', { gracePeriodSeconds: 5 });
    await b.settle();
    expect(b.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([5]);
    expect(b.runtime.callCount('stopPodSandbox')).toBe(1);
    expect(b.runtime.sandboxList()).toEqual([]);
    expect(b.runtime.containerList()).toEqual([]);
    expect(await b.getPod('web')).toBeUndefined();
    expect(b.eventsOf('web')).toContain('Killing: Stopping container main');
    // The terminal status was reported before the pod went away.
    void uid;
  });

  it('uses terminationGracePeriodSeconds when the deletion gives none, and at least 2 s', async () => {
    b = await createBench();
    await b.createPod(pod('a', { terminationGracePeriodSeconds: 12 }));
    await b.createPod(pod('z', { terminationGracePeriodSeconds: 0 }));
    await b.client.delete(Pods, 'default', 'a');
    await b.settle();
    expect(b.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([12]);
    await b.client.delete(Pods, 'default', 'z', { gracePeriodSeconds: 1 });
    await b.settle();
    expect(b.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([12, 2]);
    expect(await b.getPod('z')).toBeUndefined();
  });

  it('waits out a container that ignores SIGTERM and reports the pod Failed before deleting it', async () => {
    b = await createBench({ runtimeOptions: { behaviour: () => ({ ignoreTerm: true }) } });
    await b.createPod(pod('stubborn', { terminationGracePeriodSeconds: 30 }));
    const statuses: string[] = [];
    const watch = await b.client.watch<Pod>(Pods, { namespace: 'default', resourceVersion: (await b.getPod('stubborn'))!.metadata!.resourceVersion });
    const seen = (async () => {
      for await (const ev of watch) {
        statuses.push(`${ev.type}:${ev.object.status?.phase}`);
        if (ev.type === 'DELETED') break;
      }
    })();
    await b.client.delete(Pods, 'default', 'stubborn');
    await b.tick();
    expect(b.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([30]);
    expect(await b.getPod('stubborn')).toBeDefined();
    await b.clock.advance(29_000);
    await b.tick();
    expect(await b.getPod('stubborn')).toBeDefined();
    await b.advance(1_000);
    expect(await b.getPod('stubborn')).toBeUndefined();
    await seen;
    watch.close();
    expect(statuses).toContain('MODIFIED:Failed');
    expect(statuses[statuses.length - 1]).toBe('DELETED:Failed');
  });

  it('runs the preStop hook first and gives the container what remains', async () => {
    b = await createBench();
    await b.createPod(
      pod('hooked', {
        terminationGracePeriodSeconds: 10,
        containers: [{ name: 'main', image: 'busybox:1.29', lifecycle: { preStop: { exec: { command: ['sh', '-c', 'true'] } } } }],
      }),
    );
    await b.client.delete(Pods, 'default', 'hooked');
    await b.settle();
    const order = b.runtime.callLog.filter((c) => c.method === 'execSync' || c.method === 'stopContainer').map((c) => c.method);
    expect(order).toEqual(['execSync', 'stopContainer']);
    expect(b.runtime.callsOf('stopContainer')[0].args[1]).toBe(10);
  });

  it('stops a force-deleted pod with its own grace period, as kubelet does', async () => {
    b = await createBench();
    await b.createPod(pod('gone'));
    await b.client.delete(Pods, 'default', 'gone', { gracePeriodSeconds: 0 });
    await b.settle();
    expect(b.runtime.callsOf('stopContainer').map((c) => c.args[1])).toEqual([30]);
    expect(b.runtime.sandboxList()).toEqual([]);
  });

  it('cleans up and confirms the deletion of a pod that had completed', async () => {
    b = await createBench();
    await b.createPod(pod('job', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.29', command: ['sh', '-c', 'exit 0'] }] }));
    await b.advance(1000);
    expect((await b.getPod('job'))?.status?.phase).toBe('Succeeded');
    expect(b.runtime.containerList()).toHaveLength(1);
    await b.client.delete(Pods, 'default', 'job');
    await b.settle();
    expect(await b.getPod('job')).toBeUndefined();
    expect(b.runtime.containerList()).toEqual([]);
    expect(b.runtime.sandboxList()).toEqual([]);
  });
});

describe('init containers', () => {
  it('runs init containers in order before the app containers', async () => {
    b = await createBench();
    await b.createPod(
      pod('init', {
        initContainers: [
          { name: 'one', image: 'busybox:1.29', command: ['sh', '-c', 'exit 0'] },
          { name: 'two', image: 'busybox:1.29', command: ['sh', '-c', 'exit 0'] },
        ],
      }),
    );
    let p = await b.getPod('init');
    expect(p?.status?.phase).toBe('Pending');
    expect(cs(p, 'main')?.state?.waiting?.reason).toBe('PodInitializing');
    expect(cs(p, 'one', true)?.state?.running).toBeDefined();
    expect(Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c.message ?? c.status])).Initialized).toBe(
      'containers with incomplete status: [one two]',
    );
    await b.advance(1000);
    p = await b.getPod('init');
    expect(cs(p, 'one', true)?.state?.terminated?.reason).toBe('Completed');
    expect(cs(p, 'two', true)?.state?.running).toBeDefined();
    await b.advance(1000);
    p = await b.getPod('init');
    expect(p?.status?.phase).toBe('Running');
    expect(cs(p, 'two', true)?.ready).toBe(true);
    expect(cs(p, 'main')?.state?.running).toBeDefined();
    const created = b.runtime.callsOf('createContainer').map((c) => (c.args[1] as ContainerConfig).metadata.name);
    expect(created).toEqual(['one', 'two', 'main']);
  });

  it('fails the pod when an init container fails and restartPolicy is Never', async () => {
    b = await createBench();
    await b.createPod(pod('initfail', { restartPolicy: 'Never', initContainers: [{ name: 'one', image: 'busybox:1.29', command: ['sh', '-c', 'exit 3'] }] }));
    await b.advance(1000);
    const p = await b.getPod('initfail');
    expect(p?.status?.phase).toBe('Failed');
    expect(cs(p, 'one', true)?.state?.terminated?.exitCode).toBe(3);
    expect(b.runtime.callsOf('createContainer')).toHaveLength(1);
  });

  it('restarts a failing init container with backoff when restartPolicy is Always', async () => {
    b = await createBench();
    await b.createPod(pod('initloop', { initContainers: [{ name: 'one', image: 'busybox:1.29', command: ['sh', '-c', 'exit 3'] }] }));
    await b.advance(1000);
    await b.advance(1000);
    const p = await b.getPod('initloop');
    expect(p?.status?.phase).toBe('Pending');
    expect(cs(p, 'one', true)?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(cs(p, 'one', true)?.restartCount).toBe(1);
    expect(cs(p, 'main')?.state?.waiting?.reason).toBe('PodInitializing');
    expect(b.runtime.callsOf('createContainer').every((c) => (c.args[1] as ContainerConfig).metadata.name === 'one')).toBe(true);
  });
});

describe('spec changes', () => {
  it('kills and restarts a container whose image changed', async () => {
    b = await createBench();
    b.runtime.addImage('busybox:1.36');
    await b.createPod(pod('upd'));
    const before = cs(await b.getPod('upd'))!.containerID;
    await b.client.patch(Pods, 'default', 'upd', 'strategic', { spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } });
    await b.settle();
    const p = await b.getPod('upd');
    expect(cs(p)?.containerID).not.toBe(before);
    expect(cs(p)?.image).toBe('docker.io/library/busybox:1.36');
    expect(cs(p)?.state?.running).toBeDefined();
    expect(cs(p)?.restartCount).toBe(1);
    expect(b.eventsOf('upd')).toContain('Killing: Container main definition changed, will be restarted');
  });
});
