/**
 * The informer against the companion apiserver's in-process client: real resourceVersions,
 * a real watch history window (so 410 Gone happens for real), real selectors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { Informer } from './informer.js';
import { ConfigMaps } from './resources.js';
import type { KubeClient, ListOptions, ObjectList, KubeObject, WatchOptions, WatchStream } from './client.js';

let api: Api | undefined;
const informers: Informer<ConfigMap>[] = [];
afterEach(async () => {
  for (const i of informers.splice(0)) await i.stop();
  await api?.close();
  api = undefined;
});

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', labels },
  data,
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Wraps a client to count list calls, without changing behaviour. */
function counting(c: KubeClient): KubeClient & { lists: number } {
  const w = Object.create(c) as KubeClient & { lists: number };
  w.lists = 0;
  w.list = <T extends KubeObject>(t: typeof ConfigMaps, o?: ListOptions): Promise<ObjectList<T>> => {
    w.lists++;
    return c.list<T>(t, o);
  };
  w.watch = <T extends KubeObject>(t: typeof ConfigMaps, o?: WatchOptions): Promise<WatchStream<T>> => c.watch<T>(t, o);
  return w;
}

describe('Informer', () => {
  it('lists, then follows adds, updates and deletes through the watch', async () => {
    api = await createApi();
    await api.client.create(ConfigMaps, cm('a'));
    const inf = new Informer<ConfigMap>(api.client, ConfigMaps, { namespace: 'default' });
    informers.push(inf);
    const seen: string[] = [];
    inf.addHandler({
      onAdd: (o) => seen.push(`add ${o.metadata!.name}`),
      onUpdate: (_o, n) => seen.push(`update ${n.metadata!.name} ${n.data?.k ?? ''}`),
      onDelete: (o) => seen.push(`delete ${o.metadata!.name}`),
    });
    inf.start();
    await inf.waitForSync();
    expect(seen).toEqual(['add a']);
    await api.client.create(ConfigMaps, cm('b'));
    await api.client.patch(ConfigMaps, 'default', 'a', 'merge', { data: { k: 'v' } });
    await api.client.delete(ConfigMaps, 'default', 'b');
    await until(() => seen.length === 4, 'events');
    expect(seen).toEqual(['add a', 'add b', 'update a v', 'delete b']);
    expect(inf.list().map((o) => o.metadata!.name)).toEqual(['a']);
    expect(Object.isFrozen(inf.get('default/a')!.data)).toBe(true);
  });

  it('filters by label selector, and indexes', async () => {
    api = await createApi();
    const inf = new Informer<ConfigMap>(api.client, ConfigMaps, { labelSelector: 'app=web' });
    informers.push(inf);
    inf.addIndex('tier', (o) => [o.metadata?.labels?.tier ?? ''].filter(Boolean));
    inf.start();
    await inf.waitForSync();
    await api.client.create(ConfigMaps, cm('x', { app: 'web', tier: 'front' }));
    await api.client.create(ConfigMaps, cm('y', { app: 'db', tier: 'front' }));
    await api.client.create(ConfigMaps, cm('z', { app: 'web', tier: 'back' }));
    await until(() => inf.list().length === 2, 'two web configmaps');
    expect(inf.byIndex('tier', 'front').map((o) => o.metadata!.name)).toEqual(['x']);
    await api.client.patch(ConfigMaps, 'default', 'x', 'merge', { metadata: { labels: { app: 'other' } } });
    await until(() => inf.list().length === 1, 'x to leave the selection');
    expect(inf.byIndex('tier', 'front')).toEqual([]);
  });

  it('relists after its resourceVersion falls out of the watch window (410 Gone)', async () => {
    api = await createApi({ historySize: 5 });
    const client = counting(api.client);
    await client.create(ConfigMaps, cm('keep'));
    const inf = new Informer<ConfigMap>(client, ConfigMaps, { namespace: 'default' });
    informers.push(inf);
    const deleted: string[] = [];
    inf.addHandler({ onDelete: (o) => deleted.push(o.metadata!.name!) });
    inf.start();
    await inf.waitForSync();
    expect(client.lists).toBe(1);
    // Stop the informer, make more changes than the window holds, restart from the old RV.
    await inf.stop();
    for (let i = 0; i < 10; i++) await client.create(ConfigMaps, cm(`n${i}`));
    await client.delete(ConfigMaps, 'default', 'keep');
    inf.start();
    await until(() => inf.list().length === 10, 'relist to catch up');
    expect(client.lists).toBe(2);
    expect(deleted).toEqual(['keep']);
  });

  it('hands each page of its first list to the handlers as it arrives; synced only after the last', async () => {
    api = await createApi();
    for (let i = 0; i < 7; i++) await api.client.create(ConfigMaps, cm(`p${i}`));
    const client = counting(api.client);
    const inf = new Informer<ConfigMap>(client, ConfigMaps, { namespace: 'default', pageSize: 3 });
    informers.push(inf);
    // At each add: how many list calls had been made, and whether the informer had synced.
    const adds: string[] = [];
    inf.addHandler({ onAdd: (o) => adds.push(`${o.metadata!.name} list=${client.lists} synced=${inf.hasSynced()}`) });
    inf.start();
    await inf.waitForSync();
    expect(client.lists).toBe(3);
    expect(adds).toEqual([
      'p0 list=1 synced=false', 'p1 list=1 synced=false', 'p2 list=1 synced=false',
      'p3 list=2 synced=false', 'p4 list=2 synced=false', 'p5 list=2 synced=false',
      'p6 list=3 synced=false',
    ]);
  });
});
