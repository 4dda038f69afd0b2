import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import { Nodes, Pods } from '../../../lib/kube/resources.js';
import { readyNode, settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function exists(h: Harness, name: string): Promise<Pod | undefined> {
  try {
    return await h.client.get<Pod>(Pods, 'default', name);
  } catch (err) {
    if (isApiNotFound(err)) return undefined;
    throw err;
  }
}

async function boundPod(h: Harness, name: string, node: string): Promise<void> {
  await h.client.create<Pod>(Pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await h.client.createSubresource(Pods, 'default', name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } });
}

describe('pod GC', () => {
  it('force-deletes pods of nodes that no longer exist, after the quarantine', async () => {
    h = await startHarness({ controllers: ['podgc'] });
    await h.client.create(Nodes, readyNode('alive'));
    await boundPod(h, 'orphan', 'ghost');
    await boundPod(h, 'fine', 'alive');
    await h.clock.advance(20_000);
    await settle();
    expect(await exists(h, 'orphan')).toBeDefined();
    await waitFor('orphan deleted', async () => !(await exists(h!, 'orphan')), { clock: h.clock, stepMs: 5000 });
    expect(await exists(h, 'fine')).toBeDefined();
  });

  it('deletes the oldest terminated pods beyond the threshold', async () => {
    h = await startHarness({ controllers: ['podgc'], terminatedPodGcThreshold: 2 });
    for (let i = 0; i < 4; i++) {
      await h.client.create<Pod>(Pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `done${i}`, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
      const cur = await h.client.get<Pod>(Pods, 'default', `done${i}`);
      await h.client.update(Pods, { ...cur, status: { ...cur.status, phase: 'Succeeded' } }, { subresource: 'status' });
      await h.clock.advance(1000);
    }
    await waitFor('two oldest deleted', async () => !(await exists(h!, 'done0')) && !(await exists(h!, 'done1')), { clock: h.clock, stepMs: 5000 });
    expect(await exists(h, 'done2')).toBeDefined();
    expect(await exists(h, 'done3')).toBeDefined();
  });
});
