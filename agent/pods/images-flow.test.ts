import { afterEach, describe, expect, it } from 'vitest';
import { ConfigMaps, Pods } from '../../lib/kube/index.js';
import { createBench, cs, pod, type Bench } from './test-harness.js';

let b: Bench | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

describe('image pulls', () => {
  it('shows ErrImagePull, then ImagePullBackOff with kubelet Events; other pods are unaffected', async () => {
    b = await createBench();
    await b.createPod(pod('bad', { containers: [{ name: 'main', image: 'nope:1' }] }));
    await b.createPod(pod('good'));
    let p = await b.getPod('bad');
    expect(cs(p)?.state?.waiting?.reason).toBe('ErrImagePull');
    expect(cs(p)?.state?.waiting?.message).toBe(
      'failed to pull and unpack image "docker.io/library/nope:1": failed to resolve reference "docker.io/library/nope:1": docker.io/library/nope:1: not found',
    );
    expect(p?.status?.phase).toBe('Pending');
    expect((await b.getPod('good'))?.status?.phase).toBe('Running');
    expect(b.eventsOf('bad')).toEqual([
      'Pulling: Pulling image "nope:1"',
      'Failed: Failed to pull image "nope:1": failed to pull and unpack image "docker.io/library/nope:1": failed to resolve reference "docker.io/library/nope:1": docker.io/library/nope:1: not found',
      'Failed: Error: ErrImagePull',
    ]);

    // A sync within the backoff window: ImagePullBackOff.
    await b.advance(1000);
    p = await b.getPod('bad');
    // nothing changed in the runtime: the worker is not woken by the PLEG
    expect(cs(p)?.state?.waiting?.reason).toBe('ErrImagePull');
    b.events.events.length = 0;
    // Force a resync (as a probe or spec change would).
    await b.client.patch(Pods, 'default', 'bad', 'merge', { metadata: { labels: { poke: '1' } } });
    await b.settle();
    p = await b.getPod('bad');
    expect(cs(p)?.state?.waiting).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' });
    expect(b.eventsOf('bad')).toEqual(['BackOff: Back-off pulling image "nope:1"', 'Failed: Error: ImagePullBackOff']);

    // The backoff ends after 10 s: pull again, fail again, next window 20 s.
    b.events.events.length = 0;
    await b.advance(10_000);
    expect(b.eventsOf('bad').slice(0, 1)).toEqual(['Pulling: Pulling image "nope:1"']);
    expect(cs(await b.getPod('bad'))?.state?.waiting?.reason).toBe('ErrImagePull');
    const pulls = b.runtime.callCount('pullImage');
    await b.advance(10_000);
    expect(b.runtime.callCount('pullImage')).toBe(pulls);
    await b.advance(10_000);
    expect(b.runtime.callCount('pullImage')).toBe(pulls + 1);

    // The image appears in the registry: the next pull works and the pod runs.
    b.runtime.addRegistryImage({ name: 'nope:1', size: 1234 });
    await b.advance(40_000);
    p = await b.getPod('bad');
    expect(p?.status?.phase).toBe('Running');
    expect(b.eventsOf('bad').some((e) => /^Pulled: Successfully pulled image "nope:1" in \S+ \(\S+ including waiting\)\. Image size: 1234 bytes\.$/.test(e))).toBe(true);
  }, 30_000);

  it('honours imagePullPolicy Never and Always', async () => {
    b = await createBench();
    b.runtime.addRegistryImage('busybox:1.29');
    await b.createPod(pod('never', { containers: [{ name: 'main', image: 'absent:1', imagePullPolicy: 'Never' }] }));
    expect(cs(await b.getPod('never'))?.state?.waiting).toEqual({
      reason: 'ErrImageNeverPull',
      message: 'Container image "absent:1" is not present with pull policy of Never',
    });
    expect(b.eventsOf('never')).toContain('ErrImageNeverPull: Container image "absent:1" is not present with pull policy of Never');
    await b.createPod(pod('always', { containers: [{ name: 'main', image: 'busybox:1.29', imagePullPolicy: 'Always', command: ['sleep', '3600'] }] }));
    expect(b.runtime.callCount('pullImage')).toBe(1);
    expect((await b.getPod('always'))?.status?.phase).toBe('Running');
  });

  it('stops waiting for a pull when the pod is deleted meanwhile', async () => {
    b = await createBench();
    b.runtime.addRegistryImage('slow:1');
    let release!: () => void;
    b.runtime.setPullHook(() => new Promise<void>((r) => (release = r)));
    await b.client.create(Pods, pod('slow', { terminationGracePeriodSeconds: 5, containers: [{ name: 'main', image: 'slow:1' }] }));
    for (let i = 0; i < 5000 && b.runtime.callCount('pullImage') === 0; i++) await new Promise((r) => setTimeout(r, 1));
    const p = await b.getPod('slow');
    expect(cs(p)?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(b.eventsOf('slow')).toEqual(['Pulling: Pulling image "slow:1"']);
    await b.client.delete(Pods, 'default', 'slow');
    await b.settle();
    expect(await b.getPod('slow')).toBeUndefined();
    expect(b.runtime.sandboxList()).toEqual([]);
    expect(b.runtime.callCount('createContainer')).toBe(0);
    release();
    await b.settle();
    expect(b.runtime.callCount('createContainer')).toBe(0);
  });
});

describe('container config errors', () => {
  it('shows CreateContainerConfigError for a missing ConfigMap key, and recovers once it exists', async () => {
    b = await createBench();
    await b.client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { other: 'x' } });
    await b.createPod(
      pod('cfg', {
        containers: [{ name: 'main', image: 'busybox:1.29', env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'mode' } } }] }],
      }),
    );
    let p = await b.getPod('cfg');
    expect(cs(p)?.state?.waiting).toEqual({ reason: 'CreateContainerConfigError', message: "couldn't find key mode in ConfigMap default/app" });
    expect(b.eventsOf('cfg')).toContain("Failed: Error: couldn't find key mode in ConfigMap default/app");

    await b.client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'absent-cm', namespace: 'default' }, data: {} });
    await b.client.patch(ConfigMaps, 'default', 'app', 'merge', { data: { mode: 'fast' } });
    await b.advance(1500);
    p = await b.getPod('cfg');
    expect(p?.status?.phase).toBe('Running');
    const env = (b.runtime.callsOf('createContainer')[0].args[1] as { envs: { key: string; value: string }[] }).envs;
    expect(env.find((e) => e.key === 'MODE')?.value).toBe('fast');
  });

  it('names a missing ConfigMap like kubelet', async () => {
    b = await createBench();
    await b.createPod(pod('cfg', { containers: [{ name: 'main', image: 'busybox:1.29', envFrom: [{ configMapRef: { name: 'missing' } }] }] }));
    expect(cs(await b.getPod('cfg'))?.state?.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'configmap "missing" not found' });
  });
});

describe('runtime refusals', () => {
  it('shows CreateContainerError and RunContainerError with the runtime message, then recovers', async () => {
    b = await createBench();
    b.runtime.failNext('createContainer', 'failed to create containerd container: boom');
    await b.createPod(pod('c1'));
    let p = await b.getPod('c1');
    expect(cs(p)?.state?.waiting).toEqual({ reason: 'CreateContainerError', message: 'failed to create containerd container: boom' });
    expect(b.eventsOf('c1')).toContain('Failed: Error: failed to create containerd container: boom');
    await b.advance(1500);
    expect((await b.getPod('c1'))?.status?.phase).toBe('Running');

    b.runtime.failNext('startContainer', 'failed to create shim task: OCI runtime create failed');
    await b.createPod(pod('c2'));
    p = await b.getPod('c2');
    expect(cs(p)?.state?.waiting).toEqual({ reason: 'RunContainerError', message: 'failed to create shim task: OCI runtime create failed' });
    await b.advance(1500);
    p = await b.getPod('c2');
    expect(p?.status?.phase).toBe('Running');
    expect(cs(p)?.restartCount).toBe(1);
  });

  it('reports a sandbox that cannot be created, and retries', async () => {
    b = await createBench();
    b.runtime.failNext('runPodSandbox', 'failed to setup network for sandbox: plugin type="bridge" failed');
    await b.createPod(pod('s1'));
    let p = await b.getPod('s1');
    expect(p?.status?.phase).toBe('Pending');
    expect(cs(p)?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(b.eventsOf('s1')).toContain('FailedCreatePodSandBox: Failed to create pod sandbox: failed to setup network for sandbox: plugin type="bridge" failed');
    await b.advance(1500);
    p = await b.getPod('s1');
    expect(p?.status?.phase).toBe('Running');
  });
});
