import { lstat, readdir, readlink } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Registry } from 'prom-client';
import { Services } from '../../lib/kube/index.js';
import type { ContainerConfig, PodSandboxConfig } from '../runtime/index.js';
import { createBench, cs, pod, type Bench } from './test-harness.js';

let b: Bench | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

describe('admission', () => {
  it('rejects a pod that does not fit: Failed with the reason, an Event, nothing started', async () => {
    b = await createBench();
    await b.createPod(pod('huge', { containers: [{ name: 'main', image: 'busybox:1.29', resources: { requests: { cpu: '64' } } }] }));
    const p = await b.getPod('huge');
    expect(p?.status?.phase).toBe('Failed');
    expect(p?.status?.reason).toBe('OutOfcpu');
    expect(p?.status?.message).toMatch(/^Pod was rejected: /);
    expect(b.events.events.some((e) => e.ref.name === 'huge' && e.type === 'Warning' && e.reason === 'OutOfcpu')).toBe(true);
    expect(b.runtime.callCount('runPodSandbox')).toBe(0);
    expect(b.manager.runningPods()).toEqual([]);
  });
});

describe('sandbox', () => {
  it('recreates a dead sandbox with the next attempt, SandboxChanged, and restarts the containers', async () => {
    b = await createBench();
    await b.createPod(pod('web'));
    const sid = b.runtime.sandboxList()[0].id;
    await b.runtime.stopPodSandbox(sid); // the sandbox died (its containers with it)
    await b.advance(1000);
    const p = await b.getPod('web');
    expect(b.eventsOf('web')).toContain('SandboxChanged: Pod sandbox changed, it will be killed and re-created.');
    const attempts = b.runtime.callsOf('runPodSandbox').map((c) => (c.args[0] as PodSandboxConfig).metadata.attempt);
    expect(attempts).toEqual([0, 1]);
    expect(cs(p)?.state?.running).toBeDefined();
    expect(cs(p)?.restartCount).toBe(1);
    expect(p?.status?.phase).toBe('Running');
  });

  it('runs host-network pods in the node namespace with the node IP as pod IP', async () => {
    b = await createBench();
    await b.createPod(pod('hn', { hostNetwork: true }));
    const p = await b.getPod('hn');
    const sb = b.runtime.callsOf('runPodSandbox')[0].args[0] as PodSandboxConfig;
    expect(sb.linux?.securityContext?.namespaceOptions?.network).toBe('NODE');
    expect(sb.hostname).toBeUndefined();
    expect(sb.dnsConfig).toEqual({ servers: ['192.168.1.1'], searches: ['corp.example'], options: ['edns0'] });
    expect(p?.status?.podIP).toBe('192.168.1.10');
    expect(p?.status?.phase).toBe('Running');
  });
});

describe('lifecycle hooks', () => {
  it('kills a container whose postStart hook fails, with kubelet Events', async () => {
    b = await createBench();
    await b.createPod(pod('hook', { containers: [{ name: 'main', image: 'busybox:1.29', lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 1'] } } } }] }));
    const p = await b.getPod('hook');
    expect(b.eventsOf('hook')).toEqual(expect.arrayContaining(['FailedPostStartHook: PostStartHook failed', 'Killing: FailedPostStartHook']));
    expect(cs(p)?.state?.waiting?.reason).toBe('PostStartHookError');
    expect(cs(p)?.lastState?.terminated).toBeDefined();
  });
});

describe('service environment', () => {
  it('adds the Services of the namespace as variables when service links are on', async () => {
    b = await createBench();
    await b.client.create(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'redis-primary', namespace: 'default' },
      spec: { ports: [{ name: 'redis', port: 6379, protocol: 'TCP' }], selector: { app: 'redis' } },
    });
    await b.settle();
    await b.createPod(pod('links'));
    await b.createPod(pod('nolinks', { enableServiceLinks: false }));
    const envOf = (i: number): Record<string, string> =>
      Object.fromEntries(((b!.runtime.callsOf('createContainer')[i].args[1] as ContainerConfig).envs ?? []).map((e) => [e.key, e.value]));
    const links = envOf(0);
    const ip = links.REDIS_PRIMARY_SERVICE_HOST;
    expect(ip).toMatch(/^10\.96\./);
    expect(links).toMatchObject({
      REDIS_PRIMARY_SERVICE_PORT: '6379',
      REDIS_PRIMARY_SERVICE_PORT_REDIS: '6379',
      REDIS_PRIMARY_PORT: `tcp://${ip}:6379`,
      REDIS_PRIMARY_PORT_6379_TCP: `tcp://${ip}:6379`,
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_PRIMARY_PORT_6379_TCP_PORT: '6379',
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: ip,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    const nolinks = envOf(1);
    expect(nolinks.REDIS_PRIMARY_SERVICE_HOST).toBeUndefined();
    expect(nolinks.KUBERNETES_SERVICE_HOST).toBe('10.96.0.1');
  });
});

describe('garbage collection and log links', () => {
  it('keeps one dead container per name, and maintains /var/log/containers symlinks', async () => {
    b = await createBench({ runtimeOptions: { writeLogs: true } });
    await b.createPod(pod('gc'));
    for (let i = 0; i < 3; i++) {
      b.runtime.exitContainer(cs(await b.getPod('gc'))!.containerID!.replace('fake://', ''), 1);
      await b.advance(1000);
      await b.advance(40_000);
    }
    expect(cs(await b.getPod('gc'))?.restartCount).toBe(3);
    expect(b.runtime.containerList().length).toBeGreaterThanOrEqual(3);
    await b.manager.housekeeping({ gc: true });
    const left = b.runtime.containerList();
    expect(left.map((c) => c.state).sort()).toEqual(['CONTAINER_EXITED', 'CONTAINER_RUNNING']);
    const p = await b.getPod('gc');
    expect(cs(p)?.lastState?.terminated).toBeDefined();
    const linksDir = `${b.dir}/log/containers`;
    const links = (await readdir(linksDir)).sort();
    expect(links).toHaveLength(2);
    for (const l of links) {
      expect(l).toMatch(/^gc_default_main-[0-9a-f]{64}\.log$/);
      expect((await lstat(`${linksDir}/${l}`)).isSymbolicLink()).toBe(true);
      expect(await readlink(`${linksDir}/${l}`)).toMatch(new RegExp(`/log/pods/default_gc_${p!.metadata!.uid}/main/\\d\\.log$`));
    }
  }, 30_000);
});

describe('providers', () => {
  it('answers the kubelet API like kubelet', async () => {
    b = await createBench({ runtimeOptions: { writeLogs: true } });
    await b.createPod(pod('web'));
    await b.createPod(pod('bad', { containers: [{ name: 'main', image: 'nope:1' }] }));
    const pr = b.manager.providers;
    const web = await b.getPod('web');
    const id = cs(web)!.containerID!.replace('fake://', '');
    const log = await pr.logs('default', 'web', 'main', false);
    expect(log.containerId).toBe(id);
    expect(log.path).toBe(`${b.config.podLogsDir}/default_web_${web!.metadata!.uid}/main/0.log`);
    expect(await log.isRunning()).toBe(true);
    await expect(pr.logs('default', 'web', 'main', true)).rejects.toThrow('previous terminated container "main" in pod "web" not found');
    await expect(pr.logs('default', 'bad', 'main', false)).rejects.toMatchObject({
      statusCode: 400,
      message: 'container "main" in pod "bad" is waiting to start: image can\'t be pulled',
    });
    await expect(pr.logs('default', 'web', 'nope', false)).rejects.toMatchObject({ statusCode: 404 });
    await expect(pr.logs('default', 'ghost', 'main', false)).rejects.toMatchObject({ statusCode: 404, message: 'pod "ghost" does not exist' });
    expect((await pr.container('default', 'web', 'main')).containerId).toBe(id);
    expect((await pr.sandbox('default', 'web')).sandboxId).toMatch(/^[0-9a-f]{64}$/);
    await expect(pr.container('default', 'bad', 'main')).rejects.toMatchObject({ statusCode: 404 });
    const names = pr.pods().map((p) => `${p.metadata?.name}:${p.status?.phase}`).sort();
    expect(names).toEqual(['bad:Pending', 'web:Running']);
    expect(pr.syncLoopHealthy()).toBe(true);
  });
});

describe('metrics', () => {
  it('observes kubelet_pod_start_duration_seconds once per pod', async () => {
    const registry = new Registry();
    b = await createBench({ manager: { metrics: registry } });
    await b.createPod(pod('a'));
    await b.createPod(pod('b'));
    const text = await registry.metrics();
    expect(text).toMatch(/kubelet_pod_start_duration_seconds_count 2/);
  });
});

describe('probes', () => {
  it('is not Ready until the readiness probe succeeds', async () => {
    b = await createBench();
    await b.createPod(pod('ready', { containers: [{ name: 'main', image: 'busybox:1.29', readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 5, periodSeconds: 10 } }] }));
    let p = await b.getPod('ready');
    expect(cs(p)?.ready).toBe(false);
    expect(Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c.status])).Ready).toBe('False');
    await b.advance(5000);
    p = await b.getPod('ready');
    expect(cs(p)?.ready).toBe(true);
    expect(Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c.status])).Ready).toBe('True');
  });

  it('restarts a container whose liveness probe fails', async () => {
    b = await createBench();
    await b.createPod(pod('live', { containers: [{ name: 'main', image: 'busybox:1.29', livenessProbe: { exec: { command: ['false'] }, periodSeconds: 10, failureThreshold: 3 } }] }));
    for (let i = 0; i < 40; i++) await b.advance(1000);
    const p = await b.getPod('live');
    expect(b.eventsOf('live')).toContain('Killing: Container main failed liveness probe, will be restarted');
    expect(cs(p)?.restartCount).toBeGreaterThanOrEqual(1);
    expect(cs(p)?.lastState?.terminated).toBeDefined();
  }, 30_000);
});

describe('admission, then deletion', () => {
  it('confirms the deletion of a rejected pod without touching its status', async () => {
    b = await createBench();
    await b.createPod(pod('huge', { containers: [{ name: 'main', image: 'busybox:1.29', resources: { requests: { cpu: '64' } } }] }));
    const rejected = await b.getPod('huge');
    await b.client.delete((await import('../../lib/kube/index.js')).Pods, 'default', 'huge');
    await b.settle();
    expect(await b.getPod('huge')).toBeUndefined();
    expect(rejected?.status?.containerStatuses).toBeUndefined();
  });
});
