import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Nodes } from '../../lib/kube/index.js';
import { PodCidrSync } from './pod-cidr.js';
import { FakeNodeRuntime, makeHarness, settle, type Harness } from './testdata/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('pod CIDR', () => {
  it('writes the conflist and updates the runtime when the Node gets spec.podCIDR', async () => {
    h = await makeHarness();
    const x = h;
    x.manager.start();
    await x.advance(100);
    await x.until(() => expect(x.manager.node()).toBeDefined());
    expect(x.runtime.updateRuntimeConfigCalls).toEqual([]);
    // The node-ipam controller assigns a range.
    await x.api.client.patch<Node>(Nodes, undefined, 'node-1', 'strategic', { spec: { podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24'] } });
    await x.until(() => expect(x.runtime.updateRuntimeConfigCalls).toEqual(['10.244.3.0/24']), 'UpdateRuntimeConfig');
    const conf = JSON.parse(readFileSync(join(x.config.cni.confDir, '10-skiff.conflist'), 'utf8'));
    expect(conf.cniVersion).toBe('1.0.0');
    expect(conf.plugins[0].ipam.ranges).toEqual([[{ subnet: '10.244.3.0/24' }]]);
    expect(x.manager.podCIDR()).toBe('10.244.3.0/24');
    expect(x.manager.node()?.spec?.podCIDR).toBe('10.244.3.0/24');

    // An unrelated change does not re-apply.
    await x.api.client.patch<Node>(Nodes, undefined, 'node-1', 'strategic', { metadata: { labels: { x: 'y' } } });
    await x.until(() => expect(x.manager.node()?.metadata?.labels?.x).toBe('y'));
    await settle(20);
    expect(x.runtime.updateRuntimeConfigCalls).toHaveLength(1);
  });

  it('notifies node change listeners', async () => {
    h = await makeHarness();
    const x = h;
    const seen: (string | undefined)[] = [];
    x.manager.onNodeChange((n) => seen.push(n?.status?.allocatable?.pods));
    x.manager.start();
    await x.advance(100);
    const n = await x.manager.waitForNode();
    expect(n.status?.allocatable?.pods).toBe('110');
    await x.until(() => expect(seen).toContain('110'));
  });
});

describe('PodCidrSync', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('uses the configured podCIDR while the Node has none, retries runtime failures with backoff', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cidr-'));
    dirs.push(dir);
    const clock = new FakeClock();
    const runtime = new FakeNodeRuntime();
    runtime.failUpdateRuntimeConfig = 2;
    const sync = new PodCidrSync({ confDir: dir, fallbackCidr: '10.88.0.0/16', runtime, clock, logger: silentLogger() });
    sync.update(undefined);
    await sync.idle();
    expect(runtime.updateRuntimeConfigCalls).toEqual([]);
    expect(sync.current()).toBeUndefined();
    await clock.advance(500);
    await sync.idle();
    expect(runtime.updateRuntimeConfigCalls).toEqual([]);
    await clock.advance(1000);
    await sync.idle();
    expect(runtime.updateRuntimeConfigCalls).toEqual(['10.88.0.0/16']);
    expect(sync.current()).toBe('10.88.0.0/16');
    // The Node's own CIDRs (dual stack) take over, joined by a comma as kubelet sends them.
    sync.update({ spec: { podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] } });
    await sync.idle();
    expect(runtime.updateRuntimeConfigCalls.at(-1)).toBe('10.244.1.0/24,fd00:10:244:1::/64');
    const conf = JSON.parse(readFileSync(join(dir, '10-skiff.conflist'), 'utf8'));
    expect(conf.plugins[0].ipam.ranges).toHaveLength(2);
    sync.stop();
  });

  it('does not retry a malformed CIDR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cidr-'));
    dirs.push(dir);
    const clock = new FakeClock();
    const runtime = new FakeNodeRuntime();
    const sync = new PodCidrSync({ confDir: dir, runtime, clock, logger: silentLogger() });
    sync.update({ spec: { podCIDR: 'nonsense' } });
    await sync.idle();
    expect(clock.pending()).toBe(0);
    expect(runtime.updateRuntimeConfigCalls).toEqual([]);
  });
});
