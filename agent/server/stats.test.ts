import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { UnavailableError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import type { ContainerStats as CriContainerStats, Runtime } from '../runtime/index.js';
import { makeFactsRoot } from '../node/testdata/make-fixture.js';
import { parseNetDev, parseProcStat, renderResourceMetrics, StatsProvider } from './stats.js';

const pod: Pod = { metadata: { name: 'web', namespace: 'ns1', uid: 'u1' }, status: { startTime: '2026-11-22T03:00:00Z', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2026-11-22T03:00:05Z' } } }] } };
const ns = (ms: number): number => ms * 1e6;

function cstat(name: string, cpuNs: number, ws: number): CriContainerStats {
  return {
    attributes: { id: name, metadata: { name, attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'u1', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'ns1', 'io.kubernetes.container.name': name }, annotations: {} },
    cpu: { timestamp: ns(Date.UTC(2026, 10, 22, 4)), usageCoreNanoSeconds: { value: cpuNs }, usageNanoCores: { value: 1000 } },
    memory: { timestamp: ns(Date.UTC(2026, 10, 22, 4)), workingSetBytes: { value: ws } },
  };
}

describe('stats', () => {
  it('parses /proc/stat and /proc/net/dev', () => {
    expect(parseProcStat('cpu  100 0 50 1000 5 1 2 3 0 0\nbtime 1700000000\n')).toEqual({ usageNs: 156 * 1e7, btime: 1700000000 });
    expect(parseNetDev('Inter-|   Receive\n face |bytes\n  eth0: 10 1 2 0 0 0 0 0 20 2 3 0 0 0 0 0\n')).toEqual([{ name: 'eth0', rxBytes: 10, rxErrors: 2, txBytes: 20, txErrors: 3 }]);
  });

  it('builds the node summary from the fixture root and derives usageNanoCores', async () => {
    const root = makeFactsRoot();
    try {
      writeFileSync(join(root, 'proc/stat'), 'cpu  100 0 100 1000 0 0 0 0 0 0\nbtime 1763784000\n');
      writeFileSync(join(root, 'proc/net/dev'), 'h1\nh2\n  lo: 1 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0\n  eth0: 10 1 2 0 0 0 0 0 20 2 3 0 0 0 0 0\n');
      const clock = new FakeClock(Date.UTC(2026, 10, 22, 4));
      const p = new StatsProvider({ nodeName: 'n1', facts: { root, fsPath: root }, clock, logger: silentLogger() });
      const a = await p.nodeStats();
      expect(a.cpu).toEqual({ time: '2026-11-22T04:00:00Z', usageCoreNanoSeconds: 2e9 });
      expect(a.startTime).toBe(new Date(1763784000 * 1000).toISOString().replace('.000Z', 'Z'));
      expect(a.memory?.workingSetBytes).toBeGreaterThan(0);
      expect(a.network).toMatchObject({ name: 'eth0', rxBytes: 10, interfaces: [{ name: 'eth0' }] });
      expect(a.rlimit).toMatchObject({ maxpid: 191812, curproc: 345 });
      writeFileSync(join(root, 'proc/stat'), 'cpu  150 0 150 1000 0 0 0 0 0 0\n');
      await clock.advance(10_000);
      // 100 jiffies = 1 s of cpu in 10 s = 0.1 core.
      expect((await p.nodeStats()).cpu?.usageNanoCores).toBe(1e8);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('falls back from ListPodSandboxStats to ListContainerStats grouped by pod', async () => {
    const runtime = {
      stats: {
        listPodSandboxStats: async () => {
          throw new UnavailableError('unimplemented');
        },
        listContainerStats: async () => [cstat('app', 3e9, 100), cstat('side', 1e9, 50)],
      },
      imageFsInfo: async () => [],
    } as unknown as Runtime;
    const p = new StatsProvider({ nodeName: 'n1', facts: {}, clock: new FakeClock(), logger: silentLogger(), runtime, pods: () => [pod] });
    const pods = await p.podStats();
    expect(pods).toHaveLength(1);
    expect(pods[0].podRef).toEqual({ name: 'web', namespace: 'ns1', uid: 'u1' });
    expect(pods[0].startTime).toBe('2026-11-22T03:00:00Z');
    expect(pods[0].containers.map((c) => [c.name, c.startTime])).toEqual([
      ['app', '2026-11-22T03:00:05Z'],
      ['side', '2026-11-22T03:00:00Z'],
    ]);
    expect(pods[0].cpu?.usageCoreNanoSeconds).toBe(4e9);
    expect(pods[0].memory?.workingSetBytes).toBe(150);
    const text = renderResourceMetrics({ node: { nodeName: 'n1', startTime: '2026-11-22T00:00:00Z' }, pods }, false);
    expect(text).toContain('container_cpu_usage_seconds_total{container="app",namespace="ns1",pod="web"} 3 ');
    expect(text).toContain('pod_memory_working_set_bytes{namespace="ns1",pod="web"} 150 ');
    expect(text).toContain('container_start_time_seconds{container="app",namespace="ns1",pod="web"} ' + Date.UTC(2026, 10, 22, 3, 0, 5) / 1000);
  });

  it('maps CRI pod sandbox stats', async () => {
    const runtime = {
      stats: {
        listPodSandboxStats: async () => [
          {
            attributes: { id: 's1', metadata: { name: 'web', namespace: 'ns1', uid: 'u1', attempt: 0 }, labels: {}, annotations: {} },
            linux: { cpu: { timestamp: ns(Date.UTC(2026, 10, 22, 4)), usageCoreNanoSeconds: { value: 7 } }, memory: { timestamp: 0, workingSetBytes: { value: 9 } }, containers: [cstat('app', 5, 6)] },
          },
        ],
      },
      imageFsInfo: async () => [],
    } as unknown as Runtime;
    const p = new StatsProvider({ nodeName: 'n1', facts: {}, clock: new FakeClock(), logger: silentLogger(), runtime, pods: () => [pod] });
    const [s] = await p.podStats();
    expect(s.cpu).toEqual({ time: '2026-11-22T04:00:00Z', usageCoreNanoSeconds: 7 });
    expect(s.memory?.workingSetBytes).toBe(9);
    expect(s.containers[0]).toMatchObject({ name: 'app', cpu: { usageCoreNanoSeconds: 5 }, memory: { workingSetBytes: 6 } });
  });

  it('asks each ready sandbox when ListPodSandboxStats fails (containerd 1.6 and a stopped sandbox), one entry per container name', async () => {
    const sandbox = (id: string, cpu: number) => ({
      attributes: { id, metadata: { name: 'web', namespace: 'ns1', uid: 'u1', attempt: 1 }, labels: {}, annotations: {} },
      linux: {
        cpu: { timestamp: ns(Date.UTC(2026, 10, 22, 4)), usageCoreNanoSeconds: { value: cpu } },
        // An exited earlier instance of `app` (no cgroup figures) next to the running one.
        containers: [{ attributes: { id: 'old', metadata: { name: 'app', attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'u1' }, annotations: {} } }, cstat('app', 5, 6)],
      },
    });
    const asked: string[] = [];
    const runtime = {
      stats: {
        listPodSandboxStats: async () => {
          throw new UnavailableError('failed to get pod sandbox stats since sandbox container "s0" is not in ready state');
        },
        podSandboxStats: async (id: string) => {
          asked.push(id);
          return sandbox(id, 11);
        },
        listContainerStats: async () => {
          throw new Error('not expected');
        },
      },
      listPodSandbox: async (f: { state?: string }) => (f.state === 'SANDBOX_READY' ? [{ id: 's1' }] : [{ id: 's0' }, { id: 's1' }]),
      imageFsInfo: async () => [],
    } as unknown as Runtime;
    const p = new StatsProvider({ nodeName: 'n1', facts: {}, clock: new FakeClock(), logger: silentLogger(), runtime, pods: () => [pod] });
    const got = await p.podStats();
    expect(asked).toEqual(['s1']);
    expect(got).toHaveLength(1);
    expect(got[0].cpu?.usageCoreNanoSeconds).toBe(11);
    expect(got[0].containers).toHaveLength(1);
    expect(got[0].containers[0]).toMatchObject({ name: 'app', cpu: { usageCoreNanoSeconds: 5 } });
  });

  it('drops exited container instances in the ListContainerStats fallback', async () => {
    const exited: CriContainerStats = { attributes: { id: 'old', metadata: { name: 'app', attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'u1', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'ns1' }, annotations: {} } };
    const runtime = {
      stats: {
        listPodSandboxStats: async () => {
          throw new UnavailableError('unimplemented');
        },
        listContainerStats: async () => [exited, cstat('app', 3e9, 100)],
      },
      imageFsInfo: async () => [],
    } as unknown as Runtime;
    const p = new StatsProvider({ nodeName: 'n1', facts: {}, clock: new FakeClock(), logger: silentLogger(), runtime, pods: () => [pod] });
    const [s] = await p.podStats();
    expect(s.containers.map((c) => c.name)).toEqual(['app']);
    expect(s.cpu?.usageCoreNanoSeconds).toBe(3e9);
  });

  it('adds container logs, pod volumes and ephemeral-storage from the log and volume directories', async () => {
    const root = mkdtempSync(join(tmpdir(), 'skiff-stats-'));
    try {
      const logs = join(root, 'logs');
      mkdirSync(join(logs, 'ns1_web_u1', 'app'), { recursive: true });
      writeFileSync(join(logs, 'ns1_web_u1', 'app', '0.log'), 'x'.repeat(10_000));
      const vol = join(root, 'kubelet', 'pods', 'u1', 'volumes');
      mkdirSync(join(vol, 'kubernetes.io~empty-dir', 'cache'), { recursive: true });
      writeFileSync(join(vol, 'kubernetes.io~empty-dir', 'cache', 'blob'), 'y'.repeat(20_000));
      mkdirSync(join(vol, 'kubernetes.io~configmap', 'cfg'), { recursive: true });
      writeFileSync(join(vol, 'kubernetes.io~configmap', 'cfg', 'k'), 'v');
      const runtime = {
        stats: { listPodSandboxStats: async () => [], listContainerStats: async () => [{ ...cstat('app', 1, 2), writableLayer: { timestamp: 0, usedBytes: { value: 4096 }, inodesUsed: { value: 3 } } }] },
        imageFsInfo: async () => [],
      } as unknown as Runtime;
      const p = new StatsProvider({ nodeName: 'n1', facts: {}, clock: new FakeClock(), logger: silentLogger(), runtime, pods: () => [pod], podLogsDir: logs, rootDir: join(root, 'kubelet'), podStats: async () => [{ podRef: { name: 'web', namespace: 'ns1', uid: 'u1' }, startTime: 'x', containers: [{ name: 'app', startTime: 'x', rootfs: { time: 'x', usedBytes: 4096, inodesUsed: 3 } }] }] });
      const [s] = await p.podStats();
      const logBytes = s.containers[0].logs!.usedBytes!;
      expect(logBytes).toBeGreaterThanOrEqual(10_000);
      expect(s.containers[0].logs!.capacityBytes).toBeGreaterThan(0);
      expect(s.volume?.map((v) => v.name)).toEqual(['cache', 'cfg']);
      const cache = s.volume!.find((v) => v.name === 'cache')!;
      expect(cache.usedBytes).toBeGreaterThanOrEqual(20_000);
      expect(cache.inodesUsed).toBe(2);
      expect(s['ephemeral-storage']!.usedBytes).toBe(4096 + logBytes + cache.usedBytes!);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
