/**
 * The pod core against a real containerd (in its own network namespace, per MACHINE.md) and
 * the in-process apiserver: 30 busybox pods to Ready, logs on disk, an agent restart that
 * adopts everything, then graceful deletion down to an empty runtime.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { realClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Pods } from '../../lib/kube/index.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { containerdTestSkipReason, startTestContainerd, type TestContainerd } from '../../cluster/containerd/index.js';
import { BUSYBOX_IMAGE } from '../../images/index.js';
import { loadAgentConfig, type AgentConfig } from '../config/index.js';
import { MemoryEventRecorder } from '../events/index.js';
import { createPodManager, type PodManager } from './index.js';

const skipReason = containerdTestSkipReason();
const N = 30;

function busybox(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: 'main',
          image: BUSYBOX_IMAGE,
          // A shell as PID 1 ignores SIGTERM unless it traps it.
          command: ['sh', '-c', 'trap "exit 0" TERM; echo started $(POD); while true; do sleep 1; done'],
          env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        },
      ],
    },
  };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (skipReason) {
  describe('pod core on containerd', () => {
    it.skip(`skipped: ${skipReason}`, () => undefined);
  });
} else {
  describe('pod core on containerd', () => {
    let env: TestContainerd;
    let api: Api;
    let dir: string;
    let config: AgentConfig;
    let manager: PodManager | undefined;
    const node: Node = {
      metadata: { name: 'node-1' },
      status: { addresses: [{ type: 'InternalIP', address: '10.88.0.1' }], allocatable: { cpu: '64', memory: '64Gi', pods: '110' }, capacity: { cpu: '64', memory: '64Gi', pods: '110' } },
    };

    function newManager(): PodManager {
      return createPodManager({ config, client: api.client, runtime: env.cri, events: new MemoryEventRecorder(), clock: realClock, logger: silentLogger(), node: () => node });
    }

    beforeAll(async () => {
      env = await startTestContainerd({ podCidr: '10.88.0.0/24' });
      api = await createApi();
      dir = await mkdtemp(join(tmpdir(), 'skiff-pods-int-'));
      const { config: base } = loadAgentConfig(['--kubeconfig=/dev/null', `--root-dir=${join(dir, 'root')}`, '--hostname-override=node-1']);
      config = { ...base, podLogsDir: join(dir, 'log', 'pods'), resolvConf: '', clusterDNS: ['10.96.0.10'], cgroupsPerQOS: false };
    });

    afterAll(async () => {
      await manager?.stop();
      await env?.dispose();
      await api?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(`runs ${N} pods to Ready, adopts them after a restart, and deletes them`, async () => {
      manager = newManager();
      await manager.start();
      await manager.ready();
      const t0 = Date.now();
      await Promise.all(Array.from({ length: N }, (_, i) => api.client.create(Pods, busybox(`bb-${i}`))));
      const ready = async (): Promise<number> => {
        const list = await api.client.list<Pod>(Pods, { namespace: 'default' });
        return list.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      };
      await until('all pods Ready', async () => (await ready()) === N, 120_000);
      const elapsed = Date.now() - t0;
      console.log(`${N} pods Ready in ${elapsed} ms`);

      const p0 = await api.client.get<Pod>(Pods, 'default', 'bb-0');
      expect(p0.status?.phase).toBe('Running');
      expect(p0.status?.podIP).toMatch(/^10\.88\.0\./);
      expect(p0.status?.containerStatuses?.[0].containerID).toMatch(/^containerd:\/\//);
      const target = await manager.providers.logs('default', 'bb-0', 'main', false);
      await until('the log line', async () => (await readFile(target.path, 'utf8').catch(() => '')).includes('started bb-0'));

      // Restart the agent: everything is adopted, nothing is created or stopped.
      await manager.stop();
      const before = (await env.cri.listContainers()).map((c) => c.id).sort();
      manager = newManager();
      await manager.start();
      await manager.ready();
      await new Promise((r) => setTimeout(r, 3000));
      expect((await env.cri.listContainers()).map((c) => c.id).sort()).toEqual(before);
      expect(manager.runningPods()).toHaveLength(N);

      // Delete them all; the agent confirms each deletion once the runtime is clean.
      const t1 = Date.now();
      await Promise.all(Array.from({ length: N }, (_, i) => api.client.delete(Pods, 'default', `bb-${i}`)));
      await until('all pods gone', async () => (await api.client.list<Pod>(Pods, { namespace: 'default' })).items.length === 0, 120_000);
      console.log(`${N} pods deleted in ${Date.now() - t1} ms`);
      expect(await env.cri.listPodSandbox()).toEqual([]);
      expect(await env.cri.listContainers()).toEqual([]);
    }, 300_000);
  });
}
