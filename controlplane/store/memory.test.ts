import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/clock.js';
import type { KubeObject } from '../../lib/kube/client.js';
import { isExpired, isKeyExists, isKeyNotFound, isStorageConflict, MemoryStore, type StoreEvent } from './index.js';

const cm = (name: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data,
});

async function take<T>(it: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

describe('MemoryStore', () => {
  const stores: MemoryStore[] = [];
  const dirs: string[] = [];
  const newStore = (opts: ConstructorParameters<typeof MemoryStore>[0] = {}): MemoryStore => {
    const s = new MemoryStore(opts);
    stores.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('bumps one global revision on every write; resourceVersion is the mod revision', async () => {
    const s = newStore();
    const r0 = await s.currentRevision();
    const a = await s.create('/registry/configmaps/default/a', cm('a'));
    const b = await s.create('/registry/configmaps/default/b', cm('b'));
    expect(Number(a.metadata!.resourceVersion)).toBe(r0 + 1);
    expect(Number(b.metadata!.resourceVersion)).toBe(r0 + 2);
    const a2 = await s.update('/registry/configmaps/default/a', cm('a', { x: '1' }));
    expect(Number(a2.metadata!.resourceVersion)).toBe(r0 + 3);
    const d = await s.delete('/registry/configmaps/default/b');
    expect(Number(d.metadata!.resourceVersion)).toBe(r0 + 4);
    expect(await s.currentRevision()).toBe(r0 + 4);
    expect((await s.get('/registry/configmaps/default/a'))!.metadata!.resourceVersion).toBe(String(r0 + 3));
  });

  it('create fails on an existing key; update/delete on a missing one', async () => {
    const s = newStore();
    await s.create('/k/a', cm('a'));
    await expect(s.create('/k/a', cm('a'))).rejects.toSatisfy(isKeyExists);
    await expect(s.update('/k/b', cm('b'))).rejects.toSatisfy(isKeyNotFound);
    await expect(s.delete('/k/b')).rejects.toSatisfy(isKeyNotFound);
  });

  it('compare-and-swap on the mod revision for update and delete', async () => {
    const s = newStore();
    const a = await s.create('/k/a', cm('a'));
    const rv = Number(a.metadata!.resourceVersion);
    await s.update('/k/a', cm('a', { v: '1' }), { expectedRevision: rv });
    await expect(s.update('/k/a', cm('a', { v: '2' }), { expectedRevision: rv })).rejects.toSatisfy(isStorageConflict);
    await expect(s.delete('/k/a', { expectedRevision: rv })).rejects.toSatisfy(isStorageConflict);
    expect(((await s.get('/k/a')) as ReturnType<typeof cm>).data).toEqual({ v: '1' });
  });

  it('never shares objects with callers', async () => {
    const s = newStore();
    const obj = cm('a', { v: '1' });
    const created = (await s.create('/k/a', obj)) as ReturnType<typeof cm>;
    obj.data.v = 'mutated-input';
    created.data.v = 'mutated-output';
    const got = (await s.get('/k/a')) as ReturnType<typeof cm>;
    expect(got.data.v).toBe('1');
    got.data.v = 'mutated-get';
    const listed = (await s.list('/k/')).items[0] as ReturnType<typeof cm>;
    expect(listed.data.v).toBe('1');
    // the caller's resourceVersion is not persisted
    expect(obj.metadata!.resourceVersion).toBeUndefined();
  });

  it('lists by prefix in key order with limit and startKey, and at a past revision', async () => {
    const s = newStore();
    await s.create('/registry/configmaps/ns1/b', cm('b'));
    await s.create('/registry/configmaps/ns1/a', cm('a'));
    await s.create('/registry/configmaps/ns2/c', cm('c'));
    await s.create('/registry/secrets/ns1/x', cm('x'));
    const all = await s.list('/registry/configmaps/');
    expect(all.items.map((o) => o.metadata!.name)).toEqual(['a', 'b', 'c']);
    const page = await s.list('/registry/configmaps/', { limit: 2 });
    expect(page.keys).toEqual(['/registry/configmaps/ns1/a', '/registry/configmaps/ns1/b']);
    expect(page.remaining).toBe(1);
    const rest = await s.list('/registry/configmaps/', { startKey: '/registry/configmaps/ns1/b\u0000' });
    expect(rest.items.map((o) => o.metadata!.name)).toEqual(['c']);
    const past = all.revision;
    await s.delete('/registry/configmaps/ns1/a');
    await s.update('/registry/configmaps/ns1/b', cm('b', { v: '2' }));
    await s.create('/registry/configmaps/ns1/d', cm('d'));
    const then = await s.list('/registry/configmaps/', { revision: past });
    expect(then.revision).toBe(past);
    expect(then.items.map((o) => o.metadata!.name)).toEqual(['a', 'b', 'c']);
    expect((then.items[1] as ReturnType<typeof cm>).data).toEqual({});
  });

  it('watches from a revision: replays later events, then live ones, with prevObject', async () => {
    const s = newStore();
    const a = await s.create('/k/a', cm('a'));
    const from = Number(a.metadata!.resourceVersion);
    await s.update('/k/a', cm('a', { v: '1' }));
    await s.create('/other/z', cm('z'));
    const w = await s.watch('/k/', from);
    const p = take(w, 3);
    await s.create('/k/b', cm('b'));
    await s.delete('/k/a');
    const evs: StoreEvent[] = await p;
    expect(evs.map((e) => [e.type, e.object.metadata!.name])).toEqual([
      ['MODIFIED', 'a'],
      ['ADDED', 'b'],
      ['DELETED', 'a'],
    ]);
    expect((evs[0].prevObject as ReturnType<typeof cm>).data).toEqual({});
    expect(evs[2].object.metadata!.resourceVersion).toBe(String(evs[2].revision));
    for (let i = 1; i < evs.length; i++) expect(evs[i].revision).toBeGreaterThan(evs[i - 1].revision);
  });

  it('answers Expired for a revision older than the history window', async () => {
    const s = newStore({ historySize: 3 });
    const first = await s.create('/k/a', cm('a'));
    for (let i = 0; i < 5; i++) await s.update('/k/a', cm('a', { i: String(i) }));
    const err = await s.watch('/k/', Number(first.metadata!.resourceVersion)).catch((e: unknown) => e);
    expect(isExpired(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    await expect(s.list('/k/', { revision: Number(first.metadata!.resourceVersion) })).rejects.toSatisfy(isExpired);
    // the newest revisions are still watchable
    const w = await s.watch('/k/', (await s.currentRevision()) - 2);
    const evs = await take(w, 2);
    expect(evs).toHaveLength(2);
  });

  it('guaranteedUpdate retries on a concurrent write and skips no-op writes', async () => {
    const s = newStore();
    await s.create('/k/a', cm('a', { n: '0' }));
    let calls = 0;
    const out = await s.guaranteedUpdate<ReturnType<typeof cm>>('/k/a', async (cur) => {
      calls++;
      if (calls === 1) await s.update('/k/a', cm('a', { n: '5' }));
      return { object: { ...cur, data: { n: String(Number(cur.data.n) + 1) } } };
    });
    expect(calls).toBe(2);
    expect(out.data.n).toBe('6');
    const rev = await s.currentRevision();
    const same = await s.guaranteedUpdate('/k/a', (cur) => ({ object: cur }));
    expect(await s.currentRevision()).toBe(rev);
    expect(same.metadata!.resourceVersion).toBe(String(rev));
  });

  it('expires keys with a TTL through DELETED events', async () => {
    const clock = new FakeClock();
    const s = newStore({ clock });
    await s.create('/k/ev', cm('ev'), { ttlSeconds: 60 });
    const w = await s.watch('/k/', await s.currentRevision());
    const p = take(w, 1);
    await clock.advance(59_000);
    expect(await s.get('/k/ev')).toBeDefined();
    await clock.advance(2_000);
    expect(await s.get('/k/ev')).toBeUndefined();
    expect((await p)[0].type).toBe('DELETED');
  });

  it('writes a snapshot on close and loads it at start (revision continues)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
    dirs.push(dir);
    const file = join(dir, 'state', 'snapshot.json');
    const s1 = new MemoryStore({ snapshotFile: file });
    await s1.create('/k/a', cm('a', { v: '1' }));
    await s1.create('/k/b', cm('b'));
    const rev = await s1.currentRevision();
    await s1.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).revision).toBe(rev);
    const s2 = newStore({ snapshotFile: file });
    expect(await s2.currentRevision()).toBe(rev);
    expect(((await s2.get('/k/a')) as ReturnType<typeof cm>).data).toEqual({ v: '1' });
    const c = await s2.create('/k/c', cm('c'));
    expect(Number(c.metadata!.resourceVersion)).toBe(rev + 1);
    // history is not persisted: watching from before the load is Expired
    await expect(s2.watch('/k/', rev - 1)).rejects.toSatisfy(isExpired);
  });

  it('ends watches on close', async () => {
    const s = new MemoryStore();
    const w = await s.watch('/k/', await s.currentRevision());
    const p = take(w, 10);
    await s.close();
    expect(await p).toEqual([]);
  });
});
