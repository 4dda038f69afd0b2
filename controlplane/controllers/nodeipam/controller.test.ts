import { afterEach, describe, expect, it } from 'vitest';
import type { Node } from 'kubernetes-types/core/v1.js';
import { Nodes } from '../../../lib/kube/resources.js';
import { readyNode, startHarness, waitFor, type Harness } from '../testing/harness.js';
import { CidrSet } from './cidr-set.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function cidrOf(h: Harness, name: string): Promise<string | undefined> {
  const n = await h.client.get<Node>(Nodes, undefined, name);
  return n.spec?.podCIDR;
}

describe('CidrSet', () => {
  it('hands out subnets round-robin and never twice', () => {
    const s = new CidrSet('10.244.0.0/16', 24);
    expect(s.size).toBe(256);
    expect(s.allocateNext()).toBe('10.244.0.0/24');
    expect(s.allocateNext()).toBe('10.244.1.0/24');
    expect(s.occupy('10.244.2.0/24')).toBe(true);
    expect(s.allocateNext()).toBe('10.244.3.0/24');
    s.release('10.244.1.0/24');
    // Round-robin continues before reusing released subnets.
    expect(s.allocateNext()).toBe('10.244.4.0/24');
    expect(s.occupy('10.245.0.0/24')).toBe(false);
    // A larger block occupies every subnet it covers.
    const t = new CidrSet('10.0.0.0/22', 24);
    t.occupy('10.0.0.0/23');
    expect(t.allocateNext()).toBe('10.0.2.0/24');
  });

  it('reports exhaustion and handles IPv6', () => {
    const s = new CidrSet('10.0.0.0/23', 24);
    s.allocateNext();
    s.allocateNext();
    expect(() => s.allocateNext()).toThrow(/no remaining CIDRs/);
    const v6 = new CidrSet('fd00:10:244::/56', 64);
    expect(v6.allocateNext()).toBe('fd00:10:244::/64');
    expect(v6.allocateNext()).toBe('fd00:10:244:1::/64');
    expect(() => new CidrSet('10.0.0.0/8', 26)).toThrow(/too large/);
  });
});

describe('node IPAM controller', () => {
  it('assigns unique pod CIDRs, releases them on delete, and rebuilds after a restart', async () => {
    h = await startHarness({ controllers: ['nodeipam'], clusterCidr: '10.244.0.0/16', nodeCidrMaskSize: 24 });
    for (const n of ['a', 'b', 'c']) await h.client.create(Nodes, readyNode(n));
    await waitFor('all assigned', async () => (await Promise.all(['a', 'b', 'c'].map((n) => cidrOf(h!, n)))).every(Boolean));
    const cidrs = await Promise.all(['a', 'b', 'c'].map((n) => cidrOf(h!, n)));
    expect(new Set(cidrs).size).toBe(3);
    expect(cidrs).toEqual(['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
    const b = await h.client.get<Node>(Nodes, undefined, 'b');
    expect(b.spec?.podCIDRs).toEqual(['10.244.1.0/24']);

    // Restart the controller manager on the same apiserver: existing CIDRs are occupied first.
    await h.cm.stop();
    const api = h.api;
    const clock = h.clock;
    h = await startHarness({ controllers: ['nodeipam'], clusterCidr: '10.244.0.0/16', nodeCidrMaskSize: 24, api, clock });
    await h.client.create(Nodes, readyNode('d'));
    const d = await waitFor('d assigned', () => cidrOf(h!, 'd'));
    expect(cidrs).not.toContain(d);
    // Release on delete: the freed CIDR goes back to the pool.
    await h.client.delete(Nodes, undefined, 'a');
    const all = new Set<string>();
    for (let i = 0; i < 253; i++) {
      const name = `x${i}`;
      await h.client.create(Nodes, readyNode(name));
      all.add(await waitFor(`${name} assigned`, () => cidrOf(h!, name)));
    }
    expect(all.size).toBe(253);
    expect(all.has('10.244.0.0/24')).toBe(true);
  });

  it('records CIDRNotAvailable when the range is exhausted', async () => {
    h = await startHarness({ controllers: ['nodeipam'], clusterCidr: '10.0.0.0/23', nodeCidrMaskSize: 24 });
    for (const n of ['a', 'b', 'c']) await h.client.create(Nodes, readyNode(n));
    await waitFor('event', () => h!.events.events.find((e) => e.reason === 'CIDRNotAvailable'));
    expect(h.events.events.find((e) => e.reason === 'CIDRNotAvailable')).toMatchObject({ type: 'Normal', message: 'Node c status is now: CIDRNotAvailable' });
    expect(await cidrOf(h, 'c')).toBeUndefined();
    await h.client.delete(Nodes, undefined, 'a');
    expect(await waitFor('c assigned after release', () => cidrOf(h!, 'c'), { clock: h.clock, stepMs: 1000 })).toBe('10.0.0.0/24');
  });
});
