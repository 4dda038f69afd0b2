import { afterEach, describe, expect, it } from 'vitest';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import { ConfigMaps, Namespaces, Pods, Secrets, Services } from '../../../lib/kube/resources.js';
import { settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function nsGone(h: Harness, name: string): Promise<boolean> {
  try {
    await h.client.get(Namespaces, undefined, name);
    return false;
  } catch (err) {
    if (isApiNotFound(err)) return true;
    throw err;
  }
}

const pod = (name: string, ns: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'x' }] } });

describe('namespace controller', () => {
  it('deletes everything in a namespace, then finalizes it', async () => {
    h = await startHarness({ controllers: ['namespace'] });
    await h.client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    await h.client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'tmp' } });
    await h.client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'tmp' } });
    await h.client.create(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'tmp' }, spec: { ports: [{ port: 80 }] } });
    await h.client.create(Pods, pod('p', 'tmp'));
    await h.client.delete(Namespaces, undefined, 'tmp');
    await waitFor('namespace gone', () => nsGone(h!, 'tmp'));
    expect((await h.client.list(ConfigMaps, { namespace: 'tmp' })).items).toEqual([]);
    expect((await h.client.list(Pods, { namespace: 'tmp' })).items).toEqual([]);
  });

  it('waits for terminating pods and reports the remaining content', async () => {
    h = await startHarness({ controllers: ['namespace'] });
    await h.client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    await h.client.create(Pods, pod('p', 'tmp'));
    await h.client.createSubresource(Pods, 'tmp', 'p', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } });
    await h.client.delete(Namespaces, undefined, 'tmp');
    const ns = await waitFor('conditions', async () => {
      const n = await h!.client.get<Namespace>(Namespaces, undefined, 'tmp');
      return n.status?.conditions?.some((c) => c.type === 'NamespaceContentRemaining' && c.status === 'True') ? n : undefined;
    });
    expect(ns.status?.phase).toBe('Terminating');
    const conds = Object.fromEntries((ns.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.NamespaceContentRemaining).toMatchObject({ reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods has 1 resource instances' });
    expect(conds.NamespaceDeletionContentFailure).toMatchObject({ status: 'False', reason: 'ContentDeleted' });
    expect(conds.NamespaceFinalizersRemaining).toMatchObject({ status: 'False', reason: 'ContentHasNoFinalizers' });
    expect((await h.client.get<Pod>(Pods, 'tmp', 'p')).metadata?.deletionTimestamp).toBeDefined();
    await settle(30);
    expect(await nsGone(h, 'tmp')).toBe(false);
    // The kubelet finishes the pod: the namespace goes.
    await h.client.delete(Pods, 'tmp', 'p', { gracePeriodSeconds: 0 });
    await waitFor('namespace gone', () => nsGone(h!, 'tmp'));
  });
});
