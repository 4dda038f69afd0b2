import { afterEach, describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { FakeClock } from '../../../lib/clock.js';
import type { KubeClient } from '../../../lib/kube/client.js';
import { Leases, Nodes, Pods } from '../../../lib/kube/resources.js';
import { readyNode, setPodRunning, startHarness, waitFor, type Harness } from '../testing/harness.js';
import { desiredTaints, reconcileTaints } from './taints.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function renewLease(client: KubeClient, clock: FakeClock, name: string): Promise<void> {
  const renewTime = new Date(clock.now()).toISOString().replace('Z', '000Z');
  try {
    const cur = await client.get<Lease>(Leases, 'kube-node-lease', name);
    await client.update(Leases, { ...cur, spec: { ...cur.spec, renewTime } });
  } catch {
    await client.create<Lease>(Leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime } });
  }
}

async function postStatus(client: KubeClient, clock: FakeClock, name: string, ready: 'True' | 'False'): Promise<void> {
  const cur = await client.get<Node>(Nodes, undefined, name);
  const now = iso(clock.now());
  const conditions = [
    { type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
  ];
  await client.update(Nodes, { ...cur, status: { ...cur.status, conditions } }, { subresource: 'status' });
}

async function node(h: Harness, name = 'n1'): Promise<Node> {
  return h.client.get<Node>(Nodes, undefined, name);
}

function taintKeys(n: Node): string[] {
  return (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
}

async function boundPod(h: Harness, name: string, tolerations?: Pod['spec'] extends infer S ? (S extends { tolerations?: infer T } ? T : never) : never): Promise<Pod> {
  await h.client.create<Pod>(Pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], tolerations } });
  await h.client.createSubresource(Pods, 'default', name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: 'n1' } });
  return setPodRunning(h.client, h.clock, await h.client.get<Pod>(Pods, 'default', name), true);
}

describe('node lifecycle controller', () => {
  it('marks a silent node Unknown, taints it unreachable, evicts pods, and recovers', async () => {
    h = await startHarness({ controllers: ['nodelifecycle'] });
    const { client, clock } = h;
    await client.create(Nodes, readyNode('n1'));
    await postStatus(client, clock, 'n1', 'True');
    await renewLease(client, clock, 'n1');
    await boundPod(h, 'tolerant'); // default tolerations: 300 s
    await boundPod(h, 'impatient', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }]);

    // The lease keeps the node healthy even without status updates.
    for (let i = 0; i < 6; i++) {
      await clock.advance(10_000);
      await renewLease(client, clock, 'n1');
    }
    await new Promise((r) => setTimeout(r, 20));
    expect((await node(h)).status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    // Silence: after the 40 s grace period the conditions go Unknown.
    const silent = await waitFor(
      'Ready Unknown',
      async () => {
        const n = await node(h!);
        return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' ? n : undefined;
      },
      { clock, stepMs: 5000 },
    );
    const ready = silent.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(silent.status!.conditions!.find((c) => c.type === 'MemoryPressure')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(silent.status!.conditions!.find((c) => c.type === 'DiskPressure')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
    await waitFor('unreachable taints', async () => taintKeys(await node(h!)).length === 2);
    const tainted = await node(h);
    expect(taintKeys(tainted)).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    expect(tainted.spec?.taints?.every((t) => t.timeAdded)).toBe(true);
    expect(h.events.events.find((e) => e.reason === 'NodeNotReady' && e.ref.kind === 'Node')?.message).toBe('Node n1 status is now: NodeNotReady');
    await waitFor('pod not ready', async () => (await client.get<Pod>(Pods, 'default', 'tolerant')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False');
    // tolerationSeconds 0: evicted at once; the default 300 s toleration later.
    await waitFor('impatient evicted', async () => (await client.get<Pod>(Pods, 'default', 'impatient')).metadata?.deletionTimestamp);
    const impatient = await client.get<Pod>(Pods, 'default', 'impatient');
    expect(impatient.status?.conditions?.find((c) => c.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'DeletionByTaintManager' });
    expect((await client.get<Pod>(Pods, 'default', 'tolerant')).metadata?.deletionTimestamp).toBeUndefined();
    await waitFor('tolerant evicted', async () => (await client.get<Pod>(Pods, 'default', 'tolerant')).metadata?.deletionTimestamp, { clock, stepMs: 30_000 });
    expect(h.events.events.some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/tolerant')).toBe(true);

    // The kubelet comes back.
    await postStatus(client, clock, 'n1', 'True');
    await renewLease(client, clock, 'n1');
    await waitFor('taints removed', async () => taintKeys(await node(h!)).length === 0);
  });

  it('taints nodes by condition and unschedulable', async () => {
    h = await startHarness({ controllers: ['nodelifecycle'] });
    const { client, clock } = h;
    await client.create(Nodes, readyNode('n1'));
    await postStatus(client, clock, 'n1', 'False');
    await waitFor('not-ready taints', async () => taintKeys(await node(h!)).join() === 'node.kubernetes.io/not-ready:NoExecute,node.kubernetes.io/not-ready:NoSchedule');
    await client.patch(Nodes, undefined, 'n1', 'merge', { spec: { unschedulable: true } });
    await waitFor('unschedulable taint', async () => taintKeys(await node(h!)).includes('node.kubernetes.io/unschedulable:NoSchedule'));
    await postStatus(client, clock, 'n1', 'True');
    await client.patch(Nodes, undefined, 'n1', 'merge', { spec: { unschedulable: false } });
    await waitFor('clean', async () => taintKeys(await node(h!)).length === 0);
  });

  it('keeps foreign taints and only manages its own', () => {
    const n: Node = {
      spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'True' }] },
    };
    expect(desiredTaints(n).map((t) => t.key)).toEqual(['node.kubernetes.io/disk-pressure']);
    expect(reconcileTaints(n, '2026-01-01T00:00:00Z')).toEqual([
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule', timeAdded: '2026-01-01T00:00:00Z' },
    ]);
  });
});
