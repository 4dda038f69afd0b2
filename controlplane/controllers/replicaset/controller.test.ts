import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { ApiError, statusFailure } from '../../../lib/kube/errors.js';
import { Pods, ReplicaSets } from '../../../lib/kube/resources.js';
import { listPods, setPodRunning, settle, startHarness, waitFor, wrapClient, type Harness } from '../testing/harness.js';

const rs = (name: string, replicas: number, labels: Record<string, string> = { app: name }, minReadySeconds?: number): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    minReadySeconds,
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
  },
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function activePods(h: Harness, selector = 'app=web'): Promise<Pod[]> {
  return (await listPods(h.client, 'default', selector)).filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
}

async function getRs(h: Harness, name = 'web'): Promise<ReplicaSet> {
  return h.client.get<ReplicaSet>(ReplicaSets, 'default', name);
}

async function scale(h: Harness, replicas: number, name = 'web'): Promise<void> {
  await h.client.patch(ReplicaSets, 'default', name, 'merge', { spec: { replicas } });
}

async function bind(h: Harness, pod: Pod, node: string): Promise<void> {
  await h.client.createSubresource(Pods, 'default', pod.metadata!.name!, 'binding', {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod.metadata!.name },
    target: { kind: 'Node', name: node },
  });
}

describe('ReplicaSet controller', () => {
  it('creates pods up to spec.replicas with owner references and labels', async () => {
    h = await startHarness({ controllers: ['replicaset'] });
    const created = await h.client.create<ReplicaSet>(ReplicaSets, rs('web', 3));
    const pods = await waitFor('3 pods', async () => {
      const p = await listPods(h!.client);
      return p.length === 3 ? p : undefined;
    });
    for (const p of pods) {
      expect(p.metadata?.generateName).toBe('web-');
      expect(p.metadata?.labels).toEqual({ app: 'web' });
      expect(p.metadata?.ownerReferences).toEqual([
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: created.metadata?.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    const st = await waitFor('status', async () => {
      const r = await getRs(h!);
      return r.status?.replicas === 3 && r.status.observedGeneration === 1 ? r.status : undefined;
    });
    expect(st.fullyLabeledReplicas).toBe(3);
    expect(h.events.reasons().filter((r) => r === 'SuccessfulCreate')).toHaveLength(3);
    expect(h.events.events.find((e) => e.reason === 'SuccessfulCreate')?.message).toMatch(/^Created pod: web-[a-z0-9]{5}$/);
  });

  it('scales down deleting unassigned, then not-ready pods first, and reports ready/available', async () => {
    h = await startHarness({ controllers: ['replicaset'] });
    await h.client.create(ReplicaSets, rs('web', 4));
    const pods = await waitFor('4 pods', async () => {
      const p = await activePods(h!);
      return p.length === 4 ? p.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)) : undefined;
    });
    // pods[0]: unassigned; pods[1]: assigned, pending; pods[2]: running not ready; pods[3]: running ready.
    for (const p of pods.slice(1)) await bind(h, p, 'n1');
    await setPodRunning(h.client, h.clock, pods[2], false, '10.0.0.2');
    await setPodRunning(h.client, h.clock, pods[3], true, '10.0.0.3');
    await waitFor('ready=1', async () => (await getRs(h!)).status?.readyReplicas === 1);
    expect((await getRs(h)).status?.availableReplicas).toBe(1);

    await scale(h, 3);
    await waitFor('unassigned pod deleted', async () => (await activePods(h!)).length === 3);
    expect((await activePods(h)).map((p) => p.metadata?.name).sort()).toEqual([pods[1], pods[2], pods[3]].map((p) => p.metadata?.name).sort());
    await scale(h, 2);
    await waitFor('pending pod deleted', async () => (await activePods(h!)).length === 2);
    expect((await activePods(h)).map((p) => p.metadata?.name).sort()).toEqual([pods[2], pods[3]].map((p) => p.metadata?.name).sort());
    await scale(h, 1);
    await waitFor('not-ready pod deleted', async () => (await activePods(h!)).length === 1);
    expect((await activePods(h)).map((p) => p.metadata?.name)).toEqual([pods[3].metadata?.name]);
    const st = await waitFor('status replicas=1', async () => {
      const r = await getRs(h!);
      return r.status?.replicas === 1 ? r.status : undefined;
    });
    expect(st).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 4 });
    expect(h.events.reasons().filter((r) => r === 'SuccessfulDelete')).toHaveLength(3);
  });

  it('adopts matching orphans and releases pods that stop matching', async () => {
    h = await startHarness({ controllers: ['replicaset'] });
    await h.client.create(Pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    const owner = await h.client.create<ReplicaSet>(ReplicaSets, rs('web', 2));
    await waitFor('2 pods', async () => (await activePods(h!)).length === 2);
    await settle();
    expect((await activePods(h)).length).toBe(2);
    const orphan = await h.client.get<Pod>(Pods, 'default', 'orphan');
    expect(orphan.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', uid: owner.metadata?.uid, controller: true });
    // Relabel: released, and replaced.
    await h.client.patch(Pods, 'default', 'orphan', 'merge', { metadata: { labels: { app: 'other' } } });
    await waitFor('released', async () => !(await h!.client.get<Pod>(Pods, 'default', 'orphan')).metadata?.ownerReferences?.length);
    await waitFor('replacement', async () => (await activePods(h!)).length === 2);
  });

  it('never double-creates while the pod informer lags behind', async () => {
    let creates = 0;
    h = await startHarness({
      controllers: ['replicaset'],
      wrap: (c) =>
        wrapClient(c, {
          beforeCreate: (t) => {
            if (t.resource === 'pods') creates++;
          },
          watchDelayMs: { pods: 40 },
        }),
    });
    await h.client.create(ReplicaSets, rs('web', 5));
    // Force several resyncs while the pod watch is behind.
    for (let i = 0; i < 5; i++) {
      await h.client.patch(ReplicaSets, 'default', 'web', 'merge', { metadata: { annotations: { poke: String(i) } } });
      await settle(10);
    }
    await waitFor('status sees 5', async () => (await getRs(h!)).status?.replicas === 5, { timeoutMs: 10_000 });
    await settle(100);
    expect(creates).toBe(5);
    expect((await listPods(h.client)).length).toBe(5);
  });

  it('replaces terminal pods and does not count them', async () => {
    h = await startHarness({ controllers: ['replicaset'] });
    await h.client.create(ReplicaSets, rs('web', 2));
    const pods = await waitFor('2 pods', async () => {
      const p = await activePods(h!);
      return p.length === 2 ? p : undefined;
    });
    const cur = await h.client.get<Pod>(Pods, 'default', pods[0].metadata!.name!);
    await h.client.update(Pods, { ...cur, status: { ...cur.status, phase: 'Failed' } }, { subresource: 'status' });
    await waitFor('replacement', async () => (await activePods(h!)).length === 2 && (await listPods(h!.client)).length === 3);
    expect((await getRs(h)).status?.replicas).toBe(2);
  });

  it('counts availability after minReadySeconds', async () => {
    h = await startHarness({ controllers: ['replicaset'] });
    await h.client.create(ReplicaSets, rs('web', 1, { app: 'web' }, 10));
    const [p] = await waitFor('pod', async () => {
      const x = await activePods(h!);
      return x.length === 1 ? x : undefined;
    });
    await setPodRunning(h.client, h.clock, p, true);
    await waitFor('ready', async () => (await getRs(h!)).status?.readyReplicas === 1);
    expect((await getRs(h)).status?.availableReplicas ?? 0).toBe(0);
    await waitFor('available', async () => (await getRs(h!)).status?.availableReplicas === 1, { clock: h.clock, stepMs: 1000 });
  });

  it('reports FailedCreate events and the ReplicaFailure condition, then clears it', async () => {
    let fail = true;
    h = await startHarness({
      controllers: ['replicaset'],
      wrap: (c) =>
        wrapClient(c, {
          beforeCreate: (t) => {
            if (fail && t.resource === 'pods') throw new ApiError(statusFailure(403, 'Forbidden', 'pods "web-" is forbidden: exceeded quota'));
          },
        }),
    });
    await h.client.create(ReplicaSets, rs('web', 3));
    const cond = await waitFor('ReplicaFailure', async () => (await getRs(h!)).status?.conditions?.find((c) => c.type === 'ReplicaFailure'));
    expect(cond).toMatchObject({ status: 'True', reason: 'FailedCreate', message: 'pods "web-" is forbidden: exceeded quota' });
    const ev = h.events.events.find((e) => e.reason === 'FailedCreate');
    expect(ev).toMatchObject({ type: 'Warning', message: 'Error creating: pods "web-" is forbidden: exceeded quota' });
    // Slow start: the first batch (1 pod) failed, so no more than one create was attempted per sync.
    expect(h.events.reasons().filter((r) => r === 'FailedCreate').length).toBeLessThanOrEqual(2);
    fail = false;
    await waitFor('pods created', async () => (await activePods(h!)).length === 3, { clock: h.clock, stepMs: 500 });
    await waitFor('condition cleared', async () => !(await getRs(h!)).status?.conditions?.some((c) => c.type === 'ReplicaFailure'), { clock: h.clock, stepMs: 500 });
  });
});
