import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createBench, cs, pod, type Bench } from './test-harness.js';

let b: Bench | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

function exiting(name: string, code: number, restartPolicy: 'Always' | 'OnFailure' | 'Never'): Pod {
  return pod(name, { restartPolicy, containers: [{ name: 'main', image: 'busybox:1.29', command: ['sh', '-c', `exit ${code}`] }] });
}

describe('restart policies', () => {
  it('Never + exit 0: Succeeded, sandbox stopped, pod and container kept', async () => {
    b = await createBench();
    await b.createPod(exiting('job', 0, 'Never'));
    await b.advance(1000);
    await b.advance(1000);
    const p = await b.getPod('job');
    expect(p?.status?.phase).toBe('Succeeded');
    expect(cs(p)?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(cs(p)?.ready).toBe(false);
    const cond = Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]));
    expect(cond.Ready).toEqual(['False', 'PodCompleted']);
    expect(cond.ContainersReady).toEqual(['False', 'PodCompleted']);
    expect(cond.PodReadyToStartContainers).toEqual(['False', undefined]);
    expect(b.runtime.sandboxList().map((s) => s.state)).toEqual(['SANDBOX_NOTREADY']);
    expect(b.runtime.containerList()).toHaveLength(1);
    expect(b.runtime.callCount('startContainer')).toBe(1);
    expect(p?.status?.podIP).toMatch(/^10\.88\./);
  });

  it('Never + exit 1: Failed', async () => {
    b = await createBench();
    await b.createPod(exiting('job', 1, 'Never'));
    await b.advance(1000);
    const p = await b.getPod('job');
    expect(p?.status?.phase).toBe('Failed');
    expect(cs(p)?.state?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(b.runtime.callCount('startContainer')).toBe(1);
  });

  it('OnFailure restarts a failed container but not a succeeded one', async () => {
    b = await createBench();
    await b.createPod(exiting('flaky', 1, 'OnFailure'));
    await b.advance(1000);
    let p = await b.getPod('flaky');
    expect(cs(p)?.restartCount).toBe(1);
    expect(p?.status?.phase).toBe('Running');

    await b.createPod(exiting('ok', 0, 'OnFailure'));
    await b.advance(1000);
    p = await b.getPod('ok');
    expect(p?.status?.phase).toBe('Succeeded');
    expect(cs(p)?.restartCount).toBe(0);
  });

  it('Always restarts even a container that exited 0, keeping the last state', async () => {
    b = await createBench();
    await b.createPod(pod('svc'));
    const first = cs(await b.getPod('svc'))!.containerID!.replace('fake://', '');
    b.runtime.exitContainer(first, 0);
    await b.advance(1000);
    const p = await b.getPod('svc');
    expect(cs(p)?.restartCount).toBe(1);
    expect(cs(p)?.state?.running).toBeDefined();
    expect(cs(p)?.lastState?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed', containerID: `fake://${first}` });
    expect(p?.status?.phase).toBe('Running');
  });

  it('backs off a crashing container 10s, 20s, 40s … up to 300s, showing CrashLoopBackOff', async () => {
    b = await createBench();
    await b.createPod(exiting('crash', 1, 'Always'));
    const seen: string[] = [];
    const restarts: number[] = [];
    for (let i = 0; i < 1500 && seen.length < 7; i++) {
      await b.advance(1000);
      const p = await b.getPod('crash');
      const w = cs(p)?.state?.waiting;
      if (w?.reason === 'CrashLoopBackOff') {
        const m = /^back-off (\S+) restarting failed container=main pod=crash_default\(.+\)$/.exec(w.message ?? '');
        expect(m).not.toBeNull();
        if (seen[seen.length - 1] !== m![1] || restarts[restarts.length - 1] !== cs(p)!.restartCount) {
          seen.push(m![1]);
          restarts.push(cs(p)!.restartCount!);
        }
        expect(cs(p)?.lastState?.terminated?.exitCode).toBe(1);
        expect(p?.status?.phase).toBe('Running');
        expect(Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c.status])).Ready).toBe('False');
      }
    }
    expect(seen).toEqual(['10s', '20s', '40s', '1m20s', '2m40s', '5m0s', '5m0s']);
    expect(restarts).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const ev = b.eventsOf('crash');
    expect(ev).toContain(`BackOff: Back-off restarting failed container main in pod crash_default(${(await b.getPod('crash'))!.metadata!.uid})`);
  }, 60_000);
});

describe('CrashLoopBackOff reset', () => {
  it('starts over at 10s after a container ran for more than 10 minutes', async () => {
    b = await createBench();
    await b.createPod(pod('long'));
    const crash = async (): Promise<void> => {
      const c = cs(await b!.getPod('long'))!;
      b!.runtime.exitContainer(c.containerID!.replace('fake://', ''), 2);
      await b!.advance(1000);
    };
    await crash(); // restarted at once (restartCount 1), backoff now 10s
    expect(cs(await b.getPod('long'))?.restartCount).toBe(1);
    await crash(); // within backoff: CrashLoopBackOff 10s
    expect(cs(await b.getPod('long'))?.state?.waiting?.message).toMatch(/^back-off 10s /);
    await b.advance(10_000);
    expect(cs(await b.getPod('long'))?.state?.running).toBeDefined();
    await crash();
    expect(cs(await b.getPod('long'))?.state?.waiting?.message).toMatch(/^back-off 20s /);
    await b.advance(20_000);
    expect(cs(await b.getPod('long'))?.restartCount).toBe(3);
    // Runs for 11 minutes, then crashes: restarted at once, and the next backoff is 10s again.
    await b.advance(11 * 60_000);
    await crash();
    let p = await b.getPod('long');
    expect(cs(p)?.state?.running).toBeDefined();
    expect(cs(p)?.restartCount).toBe(4);
    await crash();
    p = await b.getPod('long');
    expect(cs(p)?.state?.waiting?.message).toMatch(/^back-off 10s /);
  }, 30_000);
});

describe('activeDeadlineSeconds', () => {
  it('fails the pod with DeadlineExceeded and stops it', async () => {
    b = await createBench();
    await b.createPod(pod('dl', { activeDeadlineSeconds: 30 }));
    expect((await b.getPod('dl'))?.status?.phase).toBe('Running');
    await b.advance(30_000);
    const p = await b.getPod('dl');
    expect(p?.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    expect(b.runtime.containerList().map((c) => c.state)).toEqual(['CONTAINER_EXITED']);
    expect(b.eventsOf('dl')).toContain('DeadlineExceeded: Pod was active on the node longer than the specified deadline');
  });
});
