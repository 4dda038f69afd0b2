import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigMap, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import { ConfigMaps, Deployments, Leases, Nodes, Pods, ReplicaSets, type ResourceType } from '../../../lib/kube/resources.js';
import { listPods, readyNode, settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function gone(h: Harness, type: ResourceType, ns: string | undefined, name: string): Promise<boolean> {
  try {
    await h.client.get(type, ns, name);
    return false;
  } catch (err) {
    if (isApiNotFound(err)) return true;
    throw err;
  }
}

const rs = (name: string, replicas: number): ReplicaSet => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
});

describe('garbage collector', () => {
  it('deletes a Deployment\'s ReplicaSets and pods in the background', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment', 'garbagecollector'] });
    await h.client.create<Deployment>(Deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await waitFor('2 pods', async () => (await listPods(h!.client)).length === 2);
    await h.client.delete(Deployments, 'default', 'web');
    await waitFor('replica sets gone', async () => (await h!.client.list(ReplicaSets, { namespace: 'default' })).items.length === 0);
    await waitFor('pods gone', async () => (await listPods(h!.client)).length === 0);
  });

  it('foreground deletion removes dependents first, then the owner', async () => {
    h = await startHarness({ controllers: ['replicaset', 'garbagecollector'] });
    await h.client.create(ReplicaSets, rs('web', 2));
    const pods = await waitFor('2 pods', async () => {
      const p = await listPods(h!.client);
      return p.length === 2 ? p : undefined;
    });
    // Bind one pod: its deletion is graceful and holds the owner until it is really gone.
    await h.client.createSubresource(Pods, 'default', pods[0].metadata!.name!, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: pods[0].metadata!.name }, target: { kind: 'Node', name: 'n1' } });
    await h.client.delete(ReplicaSets, 'default', 'web', { propagationPolicy: 'Foreground' });
    const owner = await h.client.get<ReplicaSet>(ReplicaSets, 'default', 'web');
    expect(owner.metadata?.finalizers).toContain('foregroundDeletion');
    await waitFor('bound pod terminating', async () => (await h!.client.get<Pod>(Pods, 'default', pods[0].metadata!.name!)).metadata?.deletionTimestamp);
    await waitFor('unbound pod gone', () => gone(h!, Pods, 'default', pods[1].metadata!.name!));
    await settle(30);
    expect(await gone(h, ReplicaSets, 'default', 'web')).toBe(false);
    await h.client.delete(Pods, 'default', pods[0].metadata!.name!, { gracePeriodSeconds: 0 });
    await waitFor('owner gone', () => gone(h!, ReplicaSets, 'default', 'web'));
  });

  it('orphan deletion keeps dependents and strips their owner references', async () => {
    h = await startHarness({ controllers: ['replicaset', 'garbagecollector'] });
    await h.client.create(ReplicaSets, rs('web', 2));
    await waitFor('2 pods', async () => (await listPods(h!.client)).length === 2);
    await h.client.delete(ReplicaSets, 'default', 'web', { propagationPolicy: 'Orphan' });
    await waitFor('owner gone', () => gone(h!, ReplicaSets, 'default', 'web'));
    const pods = await listPods(h.client);
    expect(pods.length).toBe(2);
    for (const p of pods) expect(p.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('deletes objects whose owner never existed or was replaced, and keeps ones with a live owner', async () => {
    h = await startHarness({ controllers: ['garbagecollector'] });
    const owner = await h.client.create<ConfigMap>(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: 'default' } });
    const cm = (name: string, uid: string): ConfigMap => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
    });
    await h.client.create(ConfigMaps, cm('live', owner.metadata!.uid!));
    await h.client.create(ConfigMaps, cm('dangling', '00000000-0000-0000-0000-000000000000'));
    await waitFor('dangling gone', () => gone(h!, ConfigMaps, 'default', 'dangling'));
    expect(await gone(h, ConfigMaps, 'default', 'live')).toBe(false);
    // Two owners, one missing: only the reference goes.
    await h.client.create<ConfigMap>(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'two',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '11111111-1111-1111-1111-111111111111' },
        ],
      },
    });
    await waitFor('ghost ref removed', async () => (await h!.client.get<ConfigMap>(ConfigMaps, 'default', 'two')).metadata?.ownerReferences?.length === 1);
  });

  it('deletes a node\'s Lease with the node', async () => {
    h = await startHarness({ controllers: ['garbagecollector'] });
    const node = await h.client.create<Node>(Nodes, readyNode('n1'));
    await h.client.create<Lease>(Leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata!.uid! }] },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 },
    });
    await settle(30);
    expect(await gone(h, Leases, 'kube-node-lease', 'n1')).toBe(false);
    await h.client.delete(Nodes, undefined, 'n1');
    await waitFor('lease gone', () => gone(h!, Leases, 'kube-node-lease', 'n1'));
  });
});
