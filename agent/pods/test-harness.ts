/**
 * A test bench for the pod core: the in-process apiserver, a `FakeRuntime`, a `FakeClock`,
 * a temporary root/log directory, and a pod manager wired to them. Used by the unit tests of
 * this folder; not part of the agent.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerStatus, Node, Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { Pods, isApiNotFound, type KubeClient } from '../../lib/kube/index.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { loadAgentConfig, type AgentConfig } from '../config/index.js';
import { MemoryEventRecorder } from '../events/index.js';
import { FakeRuntime, type FakeRuntimeOptions } from '../runtime/fake/index.js';
import { createPodManager, type PodManager, type PodManagerOptions } from './manager.js';

/** The default image every bench runtime has. */
export const BUSYBOX = 'busybox:1.29';

/** Options of {@link createBench}. */
export interface BenchOptions {
  runtime?: FakeRuntime;
  runtimeOptions?: FakeRuntimeOptions;
  config?: Partial<AgentConfig>;
  manager?: Partial<PodManagerOptions>;
  clock?: FakeClock;
  api?: Api;
  dir?: string;
  logger?: Logger;
  /** Start the manager (default true). */
  start?: boolean;
}

/** A running bench. */
export interface Bench {
  clock: FakeClock;
  api: Api;
  client: KubeClient;
  runtime: FakeRuntime;
  events: MemoryEventRecorder;
  manager: PodManager;
  config: AgentConfig;
  dir: string;
  node: Node;
  /** Lets informers, workers and the status manager catch up (no clock movement). */
  settle(): Promise<void>;
  /** Lets pending I/O and events run a little, without waiting for workers to be idle. */
  tick(rounds?: number): Promise<void>;
  /** Moves the fake clock (firing timers, e.g. PLEG relists and backoffs) and settles. */
  advance(ms: number): Promise<void>;
  createPod(pod: Pod): Promise<Pod>;
  getPod(name: string, namespace?: string): Promise<Pod | undefined>;
  /** Events recorded about a pod (reason: message). */
  eventsOf(name: string): string[];
  close(): Promise<void>;
}

/** A minimal pod spec on this bench's node. */
export function pod(name: string, spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...meta },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'main', image: BUSYBOX, command: ['sh', '-c', 'while true; do sleep 1; done'] }],
      ...spec,
    },
  };
}

/** The status of container `name` (`main` by default) of `p`; its init container's with `init`. */
export function cs(p: Pod | undefined, name = 'main', init = false): ContainerStatus | undefined {
  return (init ? p?.status?.initContainerStatuses : p?.status?.containerStatuses)?.find((c) => c.name === name);
}

async function macrotask(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** Creates a bench. */
export async function createBench(opts: BenchOptions = {}): Promise<Bench> {
  const clock = opts.clock ?? new FakeClock(Date.UTC(2026, 0, 1));
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'skiff-pods-')));
  const api = opts.api ?? (await createApi({ clock }));
  const client = api.client;
  const runtime = opts.runtime ?? new FakeRuntime({ clock, images: [BUSYBOX], ...opts.runtimeOptions });
  const events = new MemoryEventRecorder();
  await writeFile(join(dir, 'resolv.conf'), 'nameserver 192.168.1.1\nsearch corp.example\noptions edns0\n');
  const { config: base } = loadAgentConfig(['--kubeconfig=/dev/null', `--root-dir=${join(dir, 'root')}`, '--hostname-override=node-1']);
  const config: AgentConfig = {
    ...base,
    podLogsDir: join(dir, 'log', 'pods'),
    resolvConf: join(dir, 'resolv.conf'),
    clusterDNS: ['10.96.0.10'],
    clusterDomain: 'cluster.local',
    cgroupsPerQOS: false,
    ...opts.config,
  };
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1' },
    status: {
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
    },
  };
  const manager = createPodManager({
    config,
    client,
    runtime,
    events,
    clock,
    logger: opts.logger ?? silentLogger(),
    node: () => node,
    random: () => 0.5,
    ...opts.manager,
  });

  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      await macrotask();
      await manager.settle();
    }
  };
  const bench: Bench = {
    clock,
    api,
    client,
    runtime,
    events,
    manager,
    config,
    dir,
    node,
    settle,
    async tick(rounds = 50) {
      for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 1));
    },
    async advance(ms) {
      await clock.advance(ms);
      await settle();
      await clock.advance(0);
      await settle();
    },
    async createPod(p) {
      const created = await client.create<Pod>(Pods, p);
      await settle();
      return created;
    },
    async getPod(name, namespace = 'default') {
      try {
        return await client.get<Pod>(Pods, namespace, name);
      } catch (err) {
        if (isApiNotFound(err)) return undefined;
        throw err;
      }
    },
    eventsOf(name) {
      return events.events.filter((e) => e.ref.name === name).map((e) => `${e.reason}: ${e.message}`);
    },
    async close() {
      await manager.stop();
      if (!opts.api) await api.close();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  if (opts.start !== false) {
    await manager.start();
    await manager.ready();
    await settle();
  }
  return bench;
}
