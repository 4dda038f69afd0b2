/**
 * Test support: an in-process apiserver (the real registry, in memory) on a {@link FakeClock}
 * with the controllers under test, plus small helpers to create objects and wait for the
 * controllers to converge. Used by the unit tests only.
 */
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import type { KubeClient, KubeObject, WatchOptions, WatchStream } from '../../../lib/kube/client.js';
import { Nodes, Pods, type ResourceType } from '../../../lib/kube/resources.js';
import { silentLogger, type Logger } from '../../../lib/log.js';
import { MemoryEventRecorder } from '../../../lib/kube/event-recorder.js';
import { createApi, type Api } from '../../index.js';
import { startControllers, type ControllersOptions, type RunningControllers } from '../start.js';

/** A running test control plane. */
export interface Harness {
  api: Api;
  client: KubeClient;
  clock: FakeClock;
  events: MemoryEventRecorder;
  cm: RunningControllers;
  logger: Logger;
  close(): Promise<void>;
}

/** Starts the API and the given controllers on a fake clock. */
export async function startHarness(opts: Partial<ControllersOptions> & { wrap?: (c: KubeClient) => KubeClient; api?: Api; clock?: FakeClock } = {}): Promise<Harness> {
  const clock = opts.clock ?? new FakeClock();
  const logger = opts.logger ?? silentLogger();
  const api = opts.api ?? (await createApi({ clock, logger }));
  const events = new MemoryEventRecorder();
  const { wrap, api: _a, clock: _c, ...rest } = opts;
  const client = wrap ? wrap(api.client) : api.client;
  const cm = startControllers({ clock, logger, recorder: events, ...rest, client });
  await cm.ready;
  return {
    api,
    client: api.client,
    clock,
    events,
    cm,
    logger,
    async close() {
      await cm.stop();
      await api.close();
    },
  };
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Real milliseconds before giving up (default 5000). */
  timeoutMs?: number;
  /** Advance this fake clock by `stepMs` between polls. */
  clock?: FakeClock;
  stepMs?: number;
}

/**
 * Polls `fn` until it returns something truthy (or stops throwing), yielding to the event
 * loop between polls. Throws with `what` and the last error on timeout.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`, { cause: last });
    }
    if (opts.clock) await opts.clock.advance(opts.stepMs ?? 100);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets pending promise chains and informer deliveries run. */
export async function settle(ms = 30): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** A Ready node with the given allocatable resources. */
export function readyNode(name: string, allocatable: Record<string, string> = { cpu: '4', memory: '8Gi', pods: '110' }, extra: Partial<Node> = {}): Node {
  const now = new Date(Date.UTC(2026, 0, 1)).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
    },
    ...extra,
  };
}

/** Lists pods of a namespace through the API. */
export async function listPods(client: KubeClient, namespace = 'default', labelSelector?: string): Promise<Pod[]> {
  return (await client.list<Pod>(Pods, { namespace, labelSelector })).items;
}

/**
 * Plays kubelet for `pod`: Running with an IP and Ready (or not), through the status
 * subresource, with the Ready transition at the fake clock's time.
 */
export async function setPodRunning(client: KubeClient, clock: FakeClock, pod: Pod, ready: boolean, ip = '10.244.0.10'): Promise<Pod> {
  const cur = await client.get<Pod>(Pods, pod.metadata?.namespace, pod.metadata?.name ?? '');
  const t = new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const keep = (cur.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady');
  const prevReady = cur.status?.conditions?.find((c) => c.type === 'Ready');
  const status = ready ? 'True' : 'False';
  const lt = prevReady?.status === status ? prevReady.lastTransitionTime : t;
  const conds: PodCondition[] = [
    ...keep,
    { type: 'Ready', status, lastTransitionTime: lt, lastProbeTime: null as unknown as undefined },
    { type: 'ContainersReady', status, lastTransitionTime: lt, lastProbeTime: null as unknown as undefined },
  ];
  return client.update<Pod>(
    Pods,
    { ...cur, status: { ...cur.status, phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: conds } },
    { subresource: 'status' },
  );
}

/** Creates a node (with its status, as kubelet registers). */
export async function createNode(client: KubeClient, node: Node): Promise<Node> {
  return client.create<Node>(Nodes, node);
}

/** Object names, sorted. */
export function names(objs: readonly KubeObject[]): string[] {
  return objs.map((o) => o.metadata?.name ?? '').sort();
}

/** Fault and delay injection around a client (for tests of slow informers and failing writes). */
export interface ClientHooks {
  /** Called before each create; throw to fail it. */
  beforeCreate?(type: ResourceType, obj: KubeObject): void;
  /** Delay (real ms) added before each watch event of these resources (`pods`, …). */
  watchDelayMs?: Partial<Record<string, number>>;
}

/** A client that forwards to `inner` with `hooks` applied. */
export function wrapClient(inner: KubeClient, hooks: ClientHooks): KubeClient {
  return {
    get: (t, ns, n, o) => inner.get(t, ns, n, o),
    list: (t, o) => inner.list(t, o),
    update: (t, obj, o) => inner.update(t, obj, o),
    patch: (t, ns, n, pt, p, o) => inner.patch(t, ns, n, pt, p, o),
    delete: (t, ns, n, o) => inner.delete(t, ns, n, o),
    createSubresource: (t, ns, n, s, b, o) => inner.createSubresource(t, ns, n, s, b, o),
    async create(t, obj, o) {
      hooks.beforeCreate?.(t, obj);
      return inner.create(t, obj, o);
    },
    async watch<T extends KubeObject>(t: ResourceType, o?: WatchOptions): Promise<WatchStream<T>> {
      const stream = await inner.watch<T>(t, o);
      const delay = hooks.watchDelayMs?.[t.resource];
      if (!delay) return stream;
      return {
        close: () => stream.close(),
        async *[Symbol.asyncIterator]() {
          for await (const ev of stream) {
            await new Promise((r) => setTimeout(r, delay));
            yield ev;
          }
        },
      };
    },
  };
}
