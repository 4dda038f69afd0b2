import { afterEach, describe, expect, it } from 'vitest';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Leases, Nodes } from '../../lib/kube/index.js';
import { createApi, type Api } from '../../controlplane/index.js';
import { NodeLeaseController, microTime } from './lease.js';
import { FlakyClient, settle } from './testdata/harness.js';

let api: Api | undefined;
let ctl: NodeLeaseController | undefined;
afterEach(async () => {
  await ctl?.stop();
  await api?.close();
  ctl = undefined;
  api = undefined;
});

async function setup(opts: { withNode?: boolean } = {}): Promise<{ clock: FakeClock; api: Api; client: FlakyClient; ctl: NodeLeaseController; node?: Node }> {
  const clock = new FakeClock(Date.UTC(2026, 10, 22, 4, 0, 0, 123));
  api = await createApi({ clock, logger: silentLogger() });
  const client = new FlakyClient(api.client);
  let node: Node | undefined;
  if (opts.withNode !== false) node = await api.client.create<Node>(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
  ctl = new NodeLeaseController({ client, nodeName: 'node-1', leaseDurationSeconds: 40, clock, logger: silentLogger(), random: () => 0 });
  return { clock, api, client, ctl, node };
}

async function lease(a: Api): Promise<Lease> {
  return a.client.get<Lease>(Leases, 'kube-node-lease', 'node-1');
}

async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 200; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await settle(5);
    }
  }
  throw last;
}

describe('node lease', () => {
  it('formats renewTime as a MicroTime', () => {
    expect(microTime(Date.UTC(2026, 10, 22, 4, 0, 0, 123))).toBe('2026-11-22T04:00:00.123000Z');
  });

  it('creates the lease with an owner reference to the Node and renews it every 10 s', async () => {
    const s = await setup();
    s.ctl.start();
    const l = await eventually(() => lease(s.api));
    expect(l.spec).toEqual({ holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2026-11-22T04:00:00.123000Z' });
    expect(l.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: s.node!.metadata!.uid }]);

    const renewals: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await s.clock.advance(9_999);
      await settle();
      expect((await lease(s.api)).spec?.renewTime).toBe(renewals.at(-1) ?? '2026-11-22T04:00:00.123000Z');
      await s.clock.advance(1);
      const r = await eventually(async () => {
        const t = (await lease(s.api)).spec?.renewTime;
        expect(t).toBe(microTime(Date.UTC(2026, 10, 22, 4, 0, 10 * i, 123)));
        return t!;
      });
      renewals.push(r);
    }
    // Renewals are updates of the same object (CAS on resourceVersion), not recreations.
    expect(s.client.calls.filter((c) => c === 'create leases')).toHaveLength(1);
    expect(s.client.calls.filter((c) => c === 'update leases')).toHaveLength(3);
  });

  it('waits for the Node before creating the lease', async () => {
    const s = await setup({ withNode: false });
    s.ctl.start();
    await settle(20);
    await expect(lease(s.api)).rejects.toThrow(/not found/);
    const node = await s.api.client.create<Node>(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    await s.clock.advance(10_000);
    const l = await eventually(() => lease(s.api));
    expect(l.metadata?.ownerReferences?.[0].uid).toBe(node.metadata?.uid);
  });

  it('re-reads the lease after a conflict', async () => {
    const s = await setup();
    s.ctl.start();
    const l = await eventually(() => lease(s.api));
    // Someone else writes the lease: our cached resourceVersion is stale now.
    await s.api.client.update<Lease>(Leases, { ...l, spec: { ...l.spec, holderIdentity: 'someone-else' } });
    await s.clock.advance(10_000);
    await eventually(async () => {
      const now = await lease(s.api);
      expect(now.spec?.renewTime).toBe('2026-11-22T04:00:10.123000Z');
      expect(now.spec?.holderIdentity).toBe('someone-else');
    });
    expect(s.client.calls.filter((c) => c === 'get leases').length).toBeGreaterThanOrEqual(2);
  });

  it('retries with backoff (200 ms doubling to 7 s) while the apiserver is away, then renews normally', async () => {
    const s = await setup();
    s.ctl.start();
    await eventually(() => lease(s.api));
    s.client.down = true;
    s.client.calls.length = 0;
    await s.clock.advance(10_000);
    await settle();
    // Five immediate update tries, then ensure (GET) with backoff.
    expect(s.client.calls).toEqual([...Array(5).fill('update leases'), 'get leases']);
    const backoffs = [200, 400, 800, 1600, 3200, 6400, 7000, 7000];
    for (const b of backoffs) {
      s.client.calls.length = 0;
      await s.clock.advance(b - 1);
      await settle();
      expect(s.client.calls).toEqual([]);
      await s.clock.advance(1);
      await settle();
      expect(s.client.calls).toEqual(['get leases']);
    }
    s.client.down = false;
    s.client.calls.length = 0;
    await s.clock.advance(7_000);
    await eventually(async () => expect(s.client.calls).toEqual(['get leases', 'update leases']));
    const renewed = (await lease(s.api)).spec?.renewTime;
    // Back to the normal interval.
    s.client.calls.length = 0;
    await s.clock.advance(9_000);
    await settle();
    expect(s.client.calls).toEqual([]);
    await s.clock.advance(1_000);
    await eventually(async () => expect((await lease(s.api)).spec?.renewTime).not.toBe(renewed));
  });

  it('recreates the lease and repoints the owner when the Node was recreated', async () => {
    const s = await setup();
    let liveUid = s.node!.metadata!.uid;
    await ctl!.stop();
    ctl = new NodeLeaseController({ client: s.client, nodeName: 'node-1', leaseDurationSeconds: 40, clock: s.clock, logger: silentLogger(), random: () => 0, currentNodeUid: () => liveUid });
    ctl.start();
    await eventually(() => lease(s.api));
    await s.api.client.delete(Nodes, undefined, 'node-1');
    const again = await s.api.client.create<Node>(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    liveUid = again.metadata!.uid;
    await s.clock.advance(10_000);
    await eventually(async () => expect((await lease(s.api)).metadata?.ownerReferences?.[0].uid).toBe(liveUid));
    // Deleted lease (e.g. by the garbage collector): created again.
    await s.api.client.delete(Leases, 'kube-node-lease', 'node-1');
    await s.clock.advance(10_000);
    await eventually(async () => {
      await settle();
      await s.clock.advance(200);
      expect((await lease(s.api)).metadata?.ownerReferences?.[0].uid).toBe(liveUid);
    });
  });
});
