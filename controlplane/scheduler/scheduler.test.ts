import { afterEach, describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import type { KubeClient } from '../../lib/kube/client.js';
import { Nodes, Pods } from '../../lib/kube/resources.js';
import { silentLogger } from '../../lib/log.js';
import { MemoryEventRecorder } from '../../lib/kube/event-recorder.js';
import { createApi, type Api } from '../index.js';
import { startScheduler, type RunningScheduler } from './index.js';

interface H {
  api: Api;
  client: KubeClient;
  clock: FakeClock;
  events: MemoryEventRecorder;
  s: RunningScheduler;
}

let h: H | undefined;
afterEach(async () => {
  await h?.s.stop();
  await h?.api.close();
  h = undefined;
});

async function start(): Promise<H> {
  const clock = new FakeClock();
  const api = await createApi({ clock });
  const events = new MemoryEventRecorder();
  const s = startScheduler({ client: api.client, clock, logger: silentLogger(), recorder: events });
  await s.ready;
  h = { api, client: api.client, clock, events, s };
  return h;
}

async function waitFor<T>(what: string, fn: () => Promise<T> | T, clock?: FakeClock, stepMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (clock) await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function node(name: string, opts: { cpu?: string; memory?: string; pods?: string; ready?: 'True' | 'False' | 'Unknown'; labels?: Record<string, string>; taints?: Node['spec'] extends infer S ? S extends { taints?: infer T } ? T : never : never; unschedulable?: boolean } = {}): Node {
  const alloc = { cpu: opts.cpu ?? '4', memory: opts.memory ?? '8Gi', pods: opts.pods ?? '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      capacity: alloc,
      allocatable: alloc,
      conditions: [{ type: 'Ready', status: opts.ready ?? 'True', reason: 'KubeletReady', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  };
}

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>> = {}, cpu?: string, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...meta },
    spec: { containers: [{ name: 'c', image: 'busybox', ...(cpu ? { resources: { requests: { cpu } } } : {}) }], ...spec },
  };
}

async function getPod(c: KubeClient, name: string): Promise<Pod> {
  return c.get<Pod>(Pods, 'default', name);
}

async function boundTo(c: KubeClient, name: string): Promise<string | undefined> {
  return (await getPod(c, name)).spec?.nodeName;
}

async function scheduledCondition(c: KubeClient, name: string): Promise<{ status?: string; reason?: string; message?: string } | undefined> {
  return (await getPod(c, name)).status?.conditions?.find((x) => x.type === 'PodScheduled');
}

describe('scheduler', () => {
  it('binds a pending pod to a ready node and records Scheduled', async () => {
    const { client, events } = await start();
    await client.create(Nodes, node('n1'));
    await client.create(Pods, pod('p1'));
    expect(await waitFor('bound', () => boundTo(client, 'p1'))).toBe('n1');
    expect((await scheduledCondition(client, 'p1'))?.status).toBe('True');
    await waitFor('event', () => events.events.find((e) => e.reason === 'Scheduled'));
    const ev = events.events.find((e) => e.reason === 'Scheduled')!;
    expect(ev).toMatchObject({ type: 'Normal', message: 'Successfully assigned default/p1 to n1' });
    expect(ev.ref).toMatchObject({ kind: 'Pod', name: 'p1', namespace: 'default' });
  });

  it('explains why no node fits, with kube message format, and sets PodScheduled=False', async () => {
    const { client, events } = await start();
    await client.create(Nodes, node('small', { cpu: '1' }));
    await client.create(Nodes, node('notready', { ready: 'False' }));
    await client.create(Pods, pod('big', {}, '2'));
    const cond = await waitFor('condition', async () => {
      const c = await scheduledCondition(client, 'big');
      return c?.status === 'False' ? c : undefined;
    });
    const msg =
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. ' +
      'preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.';
    expect(cond).toMatchObject({ reason: 'Unschedulable', message: msg });
    const ev = events.events.find((e) => e.reason === 'FailedScheduling');
    expect(ev).toMatchObject({ type: 'Warning', message: msg });
    expect(await boundTo(client, 'big')).toBeUndefined();
  });

  it('says preemption is not helpful when only unresolvable reasons remain', async () => {
    const { client } = await start();
    await client.create(Nodes, node('a', { ready: 'Unknown' }));
    await client.create(Nodes, node('b', { labels: { disk: 'hdd' } }));
    await client.create(Pods, pod('p', { nodeSelector: { disk: 'ssd' } }));
    const cond = await waitFor('condition', async () => {
      const c = await scheduledCondition(client, 'p');
      return c?.status === 'False' ? c : undefined;
    });
    expect(cond.message).toBe(
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. " +
        'preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
  });

  it('reports no nodes at all', async () => {
    const { client } = await start();
    await client.create(Pods, pod('p'));
    const cond = await waitFor('condition', async () => {
      const c = await scheduledCondition(client, 'p');
      return c?.status === 'False' ? c : undefined;
    });
    expect(cond.message).toBe('no nodes available to schedule pods');
  });

  it('does not overcommit a node with a burst of 30 pods', async () => {
    const { client } = await start();
    await client.create(Nodes, node('n1', { cpu: '2' }));
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.create(Pods, pod(`p${i}`, {}, '100m'))));
    const pods = await waitFor('20 bound and 10 unschedulable', async () => {
      const items = (await client.list<Pod>(Pods, { namespace: 'default' })).items;
      const bound = items.filter((p) => p.spec?.nodeName);
      const failed = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));
      return bound.length === 20 && failed.length === 10 ? items : undefined;
    });
    const failedMsg = pods.find((p) => !p.spec?.nodeName)!.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message;
    expect(failedMsg).toBe(
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
    );
  });

  it('binds 30 pods spread over two nodes', async () => {
    const { client } = await start();
    await client.create(Nodes, node('a'));
    await client.create(Nodes, node('b'));
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '11111111-1111-1111-1111-111111111111', controller: true };
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.create(Pods, pod(`p${i}`, {}, '10m', { ownerReferences: [owner] }))));
    const items = await waitFor('all bound', async () => {
      const it = (await client.list<Pod>(Pods, { namespace: 'default' })).items;
      return it.every((p) => p.spec?.nodeName) ? it : undefined;
    });
    const onA = items.filter((p) => p.spec?.nodeName === 'a').length;
    expect(onA).toBe(15);
  });

  it('retries when a node becomes Ready', async () => {
    const { client, clock } = await start();
    const n = await client.create<Node>(Nodes, node('n1', { ready: 'False' }));
    await client.create(Pods, pod('p'));
    await waitFor('unschedulable', async () => (await scheduledCondition(client, 'p'))?.status === 'False');
    const ready = structuredClone(n);
    const cur = await client.get<Node>(Nodes, undefined, 'n1');
    ready.metadata = cur.metadata;
    ready.status!.conditions![0].status = 'True';
    await client.update(Nodes, ready, { subresource: 'status' });
    expect(await waitFor('bound', () => boundTo(client, 'p'), clock, 250)).toBe('n1');
  });

  it('honours taints and tolerations', async () => {
    const { client } = await start();
    await client.create(Nodes, node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    await client.create(Pods, pod('plain'));
    await client.create(Pods, pod('equal', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }));
    await client.create(Pods, pod('exists', { tolerations: [{ operator: 'Exists' }] }));
    await client.create(Pods, pod('wrongvalue', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }] }));
    expect(await waitFor('equal bound', () => boundTo(client, 'equal'))).toBe('gpu');
    expect(await waitFor('exists bound', () => boundTo(client, 'exists'))).toBe('gpu');
    for (const name of ['plain', 'wrongvalue']) {
      const c = await waitFor(`${name} unschedulable`, async () => {
        const x = await scheduledCondition(client, name);
        return x?.status === 'False' ? x : undefined;
      });
      expect(c.message).toBe(
        '0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
      );
    }
  });

  it('skips unschedulable (cordoned) nodes unless tolerated', async () => {
    const { client } = await start();
    await client.create(Nodes, node('cordoned', { unschedulable: true }));
    await client.create(Pods, pod('p'));
    await client.create(Pods, pod('t', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }));
    expect(await waitFor('t bound', () => boundTo(client, 't'))).toBe('cordoned');
    const c = await waitFor('p unschedulable', async () => {
      const x = await scheduledCondition(client, 'p');
      return x?.status === 'False' ? x : undefined;
    });
    expect(c.message).toContain('1 node(s) were unschedulable');
  });

  it('follows nodeSelector and required node affinity', async () => {
    const { client } = await start();
    await client.create(Nodes, node('ssd', { labels: { disk: 'ssd', gen: '5' } }));
    await client.create(Nodes, node('hdd', { labels: { disk: 'hdd', gen: '3' } }));
    await client.create(Pods, pod('sel', { nodeSelector: { disk: 'ssd' } }));
    const term = (expr: object): Pod['spec'] => ({
      containers: [{ name: 'c', image: 'busybox' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [expr as never] } } },
    });
    await client.create(Pods, { ...pod('notin'), spec: term({ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }] }) });
    await client.create(Pods, { ...pod('gt'), spec: term({ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }) });
    await client.create(Pods, { ...pod('lt'), spec: term({ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }) });
    await client.create(Pods, { ...pod('dne'), spec: term({ matchExpressions: [{ key: 'gen', operator: 'DoesNotExist' }] }) });
    await client.create(Pods, { ...pod('field'), spec: term({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['hdd'] }] }) });
    expect(await waitFor('sel', () => boundTo(client, 'sel'))).toBe('ssd');
    expect(await waitFor('notin', () => boundTo(client, 'notin'))).toBe('hdd');
    expect(await waitFor('gt', () => boundTo(client, 'gt'))).toBe('ssd');
    expect(await waitFor('lt', () => boundTo(client, 'lt'))).toBe('hdd');
    expect(await waitFor('field', () => boundTo(client, 'field'))).toBe('hdd');
    const c = await waitFor('dne unschedulable', async () => {
      const x = await scheduledCondition(client, 'dne');
      return x?.status === 'False' ? x : undefined;
    });
    expect(c.message).toMatch(/^0\/2 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector\./);
  });

  it('refuses conflicting host ports', async () => {
    const { client } = await start();
    await client.create(Nodes, node('n1'));
    const withPort = (name: string): Pod => ({
      ...pod(name),
      spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
    });
    await client.create(Pods, withPort('a'));
    expect(await waitFor('a bound', () => boundTo(client, 'a'))).toBe('n1');
    await client.create(Pods, withPort('b'));
    const c = await waitFor('b unschedulable', async () => {
      const x = await scheduledCondition(client, 'b');
      return x?.status === 'False' ? x : undefined;
    });
    expect(c.message).toBe(
      "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
    );
  });

  it('counts pods on a node against its pod capacity and frees room when a pod goes', async () => {
    const { client, clock } = await start();
    await client.create(Nodes, node('n1', { pods: '1' }));
    await client.create(Pods, pod('a'));
    expect(await waitFor('a bound', () => boundTo(client, 'a'))).toBe('n1');
    await client.create(Pods, pod('b'));
    const c = await waitFor('b unschedulable', async () => {
      const x = await scheduledCondition(client, 'b');
      return x?.status === 'False' ? x : undefined;
    });
    expect(c.message).toContain('1 Too many pods');
    await client.delete(Pods, 'default', 'a', { gracePeriodSeconds: 0 });
    expect(await waitFor('b bound', () => boundTo(client, 'b'), clock, 250)).toBe('n1');
  });

  it('ignores pods for other schedulers', async () => {
    const { client, clock } = await start();
    await client.create(Nodes, node('n1'));
    await client.create(Pods, pod('other', { schedulerName: 'my-scheduler' }));
    await client.create(Pods, pod('mine'));
    await waitFor('mine bound', () => boundTo(client, 'mine'));
    await clock.advance(2000);
    expect(await boundTo(client, 'other')).toBeUndefined();
  });
  it('words the preemption part like kube for preemptionPolicy=Never and for lower-priority pods', async () => {
    const { client } = await start();
    await client.create(Nodes, node('n1', { cpu: '1' }));
    await client.create(Pods, pod('low', {}, '800m'));
    await waitFor('low bound', () => boundTo(client, 'low'));
    await client.create(Pods, pod('never', { preemptionPolicy: 'Never' }, '500m'));
    await client.create(Pods, pod('huge', { priority: 100 }, '2'));
    const msg = async (name: string) =>
      waitFor(`${name} unschedulable`, async () => {
        const c = await scheduledCondition(client, name);
        return c?.status === 'False' ? c.message : undefined;
      });
    expect(await msg('never')).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
    // Even without the lower-priority pod it would not fit: preemption reports the filter's reason.
    expect(await msg('huge')).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
  });
});
