import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.js';
import { isNotFound, UnavailableError } from '../../../lib/errors.js';
import { runtimeContract } from '../contract.js';
import type { ContainerConfig, PodSandboxConfig } from '../types.js';
import { FakeRuntime, normalizeImageRef } from './index.js';

runtimeContract('FakeRuntime', async () => {
  const logRoot = await mkdtemp(join(tmpdir(), 'skiff-fake-contract-'));
  return {
    runtime: new FakeRuntime({ images: ['docker.io/library/busybox:1.29'] }),
    image: 'docker.io/library/busybox:1.29',
    missingImage: 'docker.io/library/does-not-exist:1',
    runForever: ['sh', '-c', 'while true; do sleep 1; done'],
    exitWith: (code) => ['sh', '-c', `exit ${code}`],
    logRoot,
    teardown: () => rm(logRoot, { recursive: true, force: true }),
  };
});

function sandbox(uid = 'u1', extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return { metadata: { name: 'p', namespace: 'ns', uid, attempt: 0 }, logDirectory: '/var/log/pods/ns_p_u1', labels: { 'io.kubernetes.pod.uid': uid }, ...extra };
}

function container(name: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image: 'busybox:1.29' }, logPath: `${name}/0.log`, ...extra };
}

describe('FakeRuntime specifics', () => {
  it('normalises image references like containerd', () => {
    expect(normalizeImageRef('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeImageRef('busybox:1.29')).toBe('docker.io/library/busybox:1.29');
    expect(normalizeImageRef('foo/bar:1')).toBe('docker.io/foo/bar:1');
    expect(normalizeImageRef('registry.k8s.io/pause:3.6')).toBe('registry.k8s.io/pause:3.6');
    expect(normalizeImageRef('localhost:5000/x')).toBe('localhost:5000/x:latest');
  });

  it('stamps times from the injected clock and counts calls', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const rt = new FakeRuntime({ clock, images: ['busybox:1.29'] });
    const sid = await rt.runPodSandbox(sandbox());
    await clock.advance(5000);
    const cid = await rt.createContainer(sid, container('c'), sandbox());
    await rt.startContainer(cid);
    const st = await rt.containerStatus(cid);
    expect(Math.floor(st.startedAt / 1e6)).toBe(Date.UTC(2026, 0, 1) + 5000);
    expect(st.image.image).toBe('docker.io/library/busybox:1.29');
    expect(rt.callCount('createContainer')).toBe(1);
    expect(rt.callCount('runPodSandbox')).toBe(1);
  });

  it('allocates distinct IPs and none for host-network sandboxes', async () => {
    const rt = new FakeRuntime({ podCidr: '10.244.1.0/24' });
    const a = await rt.podSandboxStatus(await rt.runPodSandbox(sandbox('a')));
    const b = await rt.podSandboxStatus(await rt.runPodSandbox(sandbox('b')));
    const h = await rt.podSandboxStatus(
      await rt.runPodSandbox(sandbox('h', { linux: { securityContext: { namespaceOptions: { network: 'NODE' } } } })),
    );
    expect(a.network?.ip).toBe('10.244.1.2');
    expect(b.network?.ip).toBe('10.244.1.3');
    expect(h.network?.ip).toBe('');
  });

  it('lets a test make a process exit, OOM, or ignore SIGTERM until the timeout', async () => {
    const clock = new FakeClock();
    const rt = new FakeRuntime({
      clock,
      images: ['busybox:1.29'],
      behaviour: (c) => (c.metadata.name === 'stubborn' ? { ignoreTerm: true } : undefined),
    });
    const sid = await rt.runPodSandbox(sandbox());
    const a = await rt.createContainer(sid, container('a'), sandbox());
    await rt.startContainer(a);
    rt.exitContainer(a, 0, { oomKilled: true });
    expect((await rt.containerStatus(a)).reason).toBe('OOMKilled');

    const s = await rt.createContainer(sid, container('stubborn'), sandbox());
    await rt.startContainer(s);
    let done = false;
    const stopping = rt.stopContainer(s, 30).then(() => (done = true));
    await clock.advance(29_000);
    expect(done).toBe(false);
    await clock.advance(1_000);
    await stopping;
    expect((await rt.containerStatus(s)).exitCode).toBe(137);
  });

  it('exits sh -c "exit N" on the next timer tick', async () => {
    const clock = new FakeClock();
    const rt = new FakeRuntime({ clock, images: ['busybox:1.29'] });
    const sid = await rt.runPodSandbox(sandbox());
    const id = await rt.createContainer(sid, container('c', { command: ['sh', '-c', 'exit 2'] }), sandbox());
    await rt.startContainer(id);
    expect((await rt.containerStatus(id)).state).toBe('CONTAINER_RUNNING');
    await clock.advance(0);
    const st = await rt.containerStatus(id);
    expect([st.state, st.exitCode, st.reason]).toEqual(['CONTAINER_EXITED', 2, 'Error']);
  });

  it('pulls only what its registry has, with containerd-like errors', async () => {
    const rt = new FakeRuntime({ registry: [{ name: 'nginx:1.25', size: 4242 }] });
    const ref = await rt.pullImage({ image: 'nginx:1.25' });
    expect(ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await rt.imageStatus({ image: 'docker.io/library/nginx:1.25' }))?.size).toBe(4242);
    await expect(rt.pullImage({ image: 'nope:1' })).rejects.toThrow(
      'failed to pull and unpack image "docker.io/library/nope:1": failed to resolve reference "docker.io/library/nope:1": docker.io/library/nope:1: not found',
    );
  });

  it('can be made unavailable, and can fail one call', async () => {
    const rt = new FakeRuntime();
    rt.setUnavailable(true);
    await expect(rt.listPodSandbox()).rejects.toBeInstanceOf(UnavailableError);
    rt.setUnavailable(false);
    rt.failNext('listPodSandbox', 'boom');
    await expect(rt.listPodSandbox()).rejects.toThrow('boom');
    expect(await rt.listPodSandbox()).toEqual([]);
    await expect(rt.containerStatus('nope')).rejects.toSatisfy(isNotFound);
  });
});
