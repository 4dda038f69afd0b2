import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ANNOTATIONS, LABELS, type ContainerConfig, type PodSandboxConfig } from '../runtime/index.js';
import { createBench, pod, type Bench } from './test-harness.js';

let b: Bench | undefined;
afterEach(async () => {
  await b?.close();
  b = undefined;
});

function mainStatus(p: Pod | undefined, name = 'main') {
  return p?.status?.containerStatuses?.find((c) => c.name === name);
}

function conditions(p: Pod | undefined): Record<string, string> {
  return Object.fromEntries((p?.status?.conditions ?? []).map((c) => [c.type, c.status]));
}

describe('pod lifecycle', () => {
  it('runs a pod: sandbox, container, Running and Ready', async () => {
    b = await createBench();
    await b.createPod(pod('web'));
    const p = await b.getPod('web');
    expect(p?.status?.phase).toBe('Running');
    const cs = mainStatus(p);
    expect(cs?.state?.running?.startedAt).toBe('2026-01-01T00:00:00Z');
    expect(cs?.ready).toBe(true);
    expect(cs?.started).toBe(true);
    expect(cs?.restartCount).toBe(0);
    expect(cs?.image).toBe('docker.io/library/busybox:1.29'); // the runtime's name, as kubelet reports it
    expect(cs?.imageID).toMatch(/^sha256:/);
    expect(cs?.containerID).toMatch(/^fake:\/\/[0-9a-f]{64}$/);
    expect(p?.status?.podIP).toMatch(/^10\.88\./);
    expect(p?.status?.podIPs).toEqual([{ ip: p?.status?.podIP }]);
    expect(p?.status?.hostIP).toBe('192.168.1.10');
    expect(p?.status?.hostIPs).toEqual([{ ip: '192.168.1.10' }]);
    expect(p?.status?.qosClass).toBe('BestEffort');
    expect(p?.status?.startTime).toBe('2026-01-01T00:00:00Z');
    expect(conditions(p)).toMatchObject({ PodReadyToStartContainers: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True', PodScheduled: 'True' });
    expect(b.eventsOf('web')).toEqual([
      'Pulled: Container image "busybox:1.29" already present on machine',
      'Created: Created container main',
      'Started: Started container main',
    ]);
  });

  it('gives the runtime kubelet-shaped sandbox and container configs', async () => {
    b = await createBench();
    await b.createPod(
      pod(
        'cfg',
        {
          hostname: 'h1',
          terminationGracePeriodSeconds: 7,
          containers: [
            {
              name: 'app',
              image: 'busybox:1.29',
              command: ['sh', '-c', 'echo $(GREETING) $(MISSING) $$(ESCAPED); sleep 3600'],
              args: ['$(NODE)'],
              workingDir: '/work',
              ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP', name: 'http' }],
              env: [
                { name: 'GREETING', value: 'hello' },
                { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'COMBINED', value: '$(GREETING)-world' },
              ],
              securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
              tty: true,
            },
          ],
        },
        { labels: { app: 'cfg' }, annotations: { note: 'n' } },
      ),
    );
    const created = await b.getPod('cfg');
    const uid = created!.metadata!.uid!;
    const sb = b.runtime.callsOf('runPodSandbox')[0].args[0] as PodSandboxConfig;
    expect(sb.metadata).toEqual({ name: 'cfg', namespace: 'default', uid, attempt: 0 });
    expect(sb.hostname).toBe('h1');
    expect(sb.logDirectory).toBe(`${b.config.podLogsDir}/default_cfg_${uid}`);
    expect(sb.labels).toEqual({ app: 'cfg', [LABELS.podName]: 'cfg', [LABELS.podNamespace]: 'default', [LABELS.podUid]: uid, [LABELS.managedBy]: 'skiff' });
    expect(sb.annotations).toMatchObject({ note: 'n' });
    expect(sb.dnsConfig).toEqual({
      servers: ['10.96.0.10'],
      searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
      options: ['ndots:5'],
    });
    expect(sb.portMappings).toEqual([{ protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '' }]);
    expect(sb.linux?.securityContext?.namespaceOptions).toEqual({ network: 'POD', pid: 'CONTAINER', ipc: 'POD' });

    const [sid, cc] = b.runtime.callsOf('createContainer')[0].args as [string, ContainerConfig];
    expect(sid).toMatch(/^[0-9a-f]{64}$/);
    expect(cc.metadata).toEqual({ name: 'app', attempt: 0 });
    expect(cc.command).toEqual(['sh', '-c', 'echo hello $(MISSING) $(ESCAPED); sleep 3600']);
    expect(cc.args).toEqual(['node-1']);
    expect(cc.workingDir).toBe('/work');
    expect(cc.tty).toBe(true);
    expect(cc.logPath).toBe('app/0.log');
    expect(cc.labels).toEqual({ [LABELS.podName]: 'cfg', [LABELS.podNamespace]: 'default', [LABELS.podUid]: uid, [LABELS.containerName]: 'app', [LABELS.managedBy]: 'skiff' });
    expect(cc.annotations).toMatchObject({
      [ANNOTATIONS.restartCount]: '0',
      [ANNOTATIONS.terminationMessagePath]: '/dev/termination-log',
      [ANNOTATIONS.terminationMessagePolicy]: 'File',
      [ANNOTATIONS.podTerminationGracePeriod]: '7',
      [ANNOTATIONS.containerPorts]: '[{"name":"http","hostPort":8080,"containerPort":80,"protocol":"TCP"}]',
    });
    expect(cc.annotations?.[ANNOTATIONS.containerHash]).toMatch(/^[0-9a-f]+$/);
    const env = Object.fromEntries((cc.envs ?? []).map((e) => [e.key, e.value]));
    expect(env).toMatchObject({ GREETING: 'hello', NODE: 'node-1', COMBINED: 'hello-world', KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
    expect(env.KUBERNETES_PORT).toBe('tcp://10.96.0.1:443');
    const mounts = Object.fromEntries((cc.mounts ?? []).map((m) => [m.containerPath, m.hostPath]));
    expect(mounts['/etc/hosts']).toBe(`${b.config.rootDir}/pods/${uid}/etc-hosts`);
    expect(mounts['/dev/termination-log']).toMatch(new RegExp(`/pods/${uid}/containers/app/[0-9a-f]{8}$`));
    expect(cc.linux?.securityContext).toMatchObject({
      runAsUser: { value: 1000 },
      noNewPrivs: true,
      readonlyRootfs: true,
      capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'] },
    });
  });
});
