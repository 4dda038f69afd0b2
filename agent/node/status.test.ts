import { afterEach, describe, expect, it } from 'vitest';
import type { Node, NodeCondition } from 'kubernetes-types/core/v1.js';
import { Nodes } from '../../lib/kube/index.js';
import { KUBELET_VERSION } from '../../lib/version.js';
import { makeHarness, type Harness } from './testdata/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function getNode(x: Harness): Promise<Node> {
  return x.api.client.get<Node>(Nodes, undefined, 'node-1');
}
function cond(n: Node, type: string): NodeCondition {
  const c = n.status?.conditions?.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} condition`);
  return c;
}

describe('registration', () => {
  it('creates the Node like kubelet initialNode', async () => {
    h = await makeHarness({
      args: ['--node-labels=role=worker,kubernetes.io/arch=amd64', '--register-with-taints=dedicated=infra:NoSchedule', '--provider-id=skiff://node-1'],
      patchConfig: (c) => {
        c.kubeReserved = { cpu: '100m', memory: '100Mi' };
        c.systemReserved = { memory: '100Mi' };
      },
    });
    const x = h;
    x.manager.start();
    await x.advance(100);
    const node = await x.until(async () => {
      const n = await getNode(x);
      cond(n, 'Ready');
      return n;
    }, 'node registered');
    expect(node.metadata?.labels).toMatchObject({
      'kubernetes.io/hostname': 'node-1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      role: 'worker',
    });
    expect(node.metadata?.annotations?.['volumes.kubernetes.io/controller-managed-attach-detach']).toBe('true');
    // kubelet itself adds no not-ready taint (the apiserver's TaintNodesByCondition plugin does).
    expect(node.spec?.taints).toEqual([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]);
    expect(node.spec?.providerID).toBe('skiff://node-1');
    expect(node.status?.capacity).toMatchObject({ cpu: '2', memory: '16000Mi', pods: '110', 'hugepages-2Mi': '0', 'hugepages-1Gi': '0' });
    expect(node.status?.capacity?.['ephemeral-storage']).toBeDefined();
    // 16000Mi (MemTotal 16384000 kB) - 200Mi reserved - 100Mi memory.available
    expect(node.status?.allocatable).toMatchObject({ cpu: '1900m', memory: '15700Mi', pods: '110' });
    expect(node.status?.nodeInfo).toEqual({
      machineID: '0123456789abcdef0123456789abcdef',
      systemUUID: 'EC2A1B2C-1111-2222-3333-444455556666',
      bootID: 'b00710d0-0000-4000-8000-000000000001',
      kernelVersion: '6.18.0-skiff',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.6.20',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    });
    expect(node.status?.addresses).toEqual([
      { type: 'InternalIP', address: '10.0.0.5' },
      { type: 'Hostname', address: 'node-1' },
    ]);
    expect(node.status?.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(node.status?.images).toEqual([
      { names: ['docker.io/library/busybox@sha256:aaa', 'docker.io/library/busybox:1.29'], sizeBytes: 1000 },
      { names: ['registry.k8s.io/pause:3.6'], sizeBytes: 500 },
    ]);
    expect(cond(node, 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' });
    expect(cond(node, 'MemoryPressure')).toMatchObject({ status: 'False', reason: 'KubeletHasSufficientMemory' });
    expect(cond(node, 'DiskPressure')).toMatchObject({ status: 'False', reason: 'KubeletHasNoDiskPressure' });
    expect(cond(node, 'PIDPressure')).toMatchObject({ status: 'False', reason: 'KubeletHasSufficientPID' });
    await x.until(() => expect(x.events.reasons()).toContain('NodeAllocatableEnforced'));
    expect(x.events.reasons()).toEqual(['Starting', 'NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID', 'NodeAllocatableEnforced']);
    expect(x.events.events[1]).toMatchObject({ ref: { kind: 'Node', name: 'node-1', uid: 'node-1' }, message: 'Node node-1 status is now: NodeHasSufficientMemory' });
    expect(x.events.events[0].message).toBe('Starting kubelet.');
    expect(x.manager.ready()).toBe(true);
    expect(x.manager.node()?.metadata?.uid).toBe(node.metadata?.uid);
  });

  it('reconciles a pre-existing Node: keeps spec.podCIDR and foreign labels, fixes the labels it owns', async () => {
    h = await makeHarness();
    const x = h;
    await x.api.client.create<Node>(Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'wrong', team: 'a' } },
      spec: { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] },
    });
    x.manager.start();
    await x.advance(100);
    const node = await x.until(async () => {
      const n = await getNode(x);
      expect(n.metadata?.labels?.['kubernetes.io/hostname']).toBe('node-1');
      cond(n, 'Ready');
      return n;
    }, 'reconciled');
    expect(node.metadata?.labels).toMatchObject({ team: 'a', 'kubernetes.io/os': 'linux' });
    expect(node.metadata?.annotations?.['volumes.kubernetes.io/controller-managed-attach-detach']).toBe('true');
    expect(node.spec?.podCIDR).toBe('10.244.7.0/24');
    expect(node.status?.capacity?.cpu).toBe('2');
  });

  it('retries registration with backoff while the apiserver is away', async () => {
    h = await makeHarness();
    const x = h;
    x.client.down = true;
    x.manager.start();
    // Sleeps of 100, 200, 400, 800, 1600 ms before the attempts: about five of them by 3.1 s
    // (real file I/O between attempts may push the last one past the window), none in a hot loop.
    await x.advance(3100);
    const attempts = x.client.calls.filter((c) => c === 'create nodes').length;
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(5);
    await expect(getNode(x)).rejects.toThrow();
    x.client.down = false;
    await x.advance(7000);
    await x.until(async () => cond(await getNode(x), 'Ready'), 'registered after outage');
  });
});

describe('status', () => {
  async function registered(): Promise<Harness> {
    const x = await makeHarness();
    h = x;
    x.manager.start();
    await x.advance(100);
    await x.until(async () => cond(await getNode(x), 'Ready'));
    // Wait for the first status post after registration.
    await x.until(() => expect(x.client.calls).toContain('patch/status nodes'));
    return x;
  }

  it('posts heartbeats at the report interval and moves lastTransitionTime only on change', async () => {
    const x = await registered();
    const first = cond(await getNode(x), 'Ready');
    await x.advance(10_000, 1000);
    // Nothing changed: no patch until nodeStatusReportFrequency.
    expect(cond(await getNode(x), 'Ready').lastHeartbeatTime).toBe(first.lastHeartbeatTime);
    await x.advance(5 * 60_000, 5000);
    // The report tick does real I/O (facts, the patch): poll in real time while the fake clock
    // keeps moving, rather than assuming one tick finished within a fixed real-time pause.
    const later = await x.until(
      async () => {
        const c = cond(await getNode(x), 'Ready');
        expect(c.lastHeartbeatTime).not.toBe(first.lastHeartbeatTime);
        return c;
      },
      'a heartbeat after nodeStatusReportFrequency',
      1000,
    );
    expect(later.lastTransitionTime).toBe(first.lastTransitionTime);
  });

  it('turns NotReady when the runtime is down, and Ready again when it is back', async () => {
    const x = await registered();
    const t0 = cond(await getNode(x), 'Ready').lastTransitionTime;
    x.runtime.down = true;
    // kubelet waits 30 s without a successful runtime status before calling it down.
    await x.advance(25_000, 1000);
    expect(cond(await getNode(x), 'Ready').status).toBe('True');
    await x.advance(10_000, 1000);
    const down = await x.until(async () => {
      const c = cond(await getNode(x), 'Ready');
      expect(c.status).toBe('False');
      return c;
    }, 'NotReady', 500);
    expect(down).toMatchObject({ reason: 'KubeletNotReady', message: 'container runtime is down' });
    expect(down.lastTransitionTime).not.toBe(t0);
    expect(x.events.reasons()).toContain('NodeNotReady');
    const tDown = down.lastTransitionTime;

    await x.advance(10_000, 1000);
    expect(cond(await getNode(x), 'Ready').lastTransitionTime).toBe(tDown);

    x.runtime.down = false;
    await x.advance(5_000, 500);
    const up = await x.until(async () => {
      const c = cond(await getNode(x), 'Ready');
      expect(c.status).toBe('True');
      return c;
    }, 'Ready again', 500);
    expect(up.reason).toBe('KubeletReady');
    expect(x.events.reasons().filter((r) => r === 'NodeReady')).toHaveLength(1);
  });

  it('reports the network plugin not being ready with kubelet\'s message', async () => {
    const x = await registered();
    x.runtime.conditions[1] = { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: cni plugin not initialized' };
    await x.advance(5_000, 500);
    const c = await x.until(async () => {
      const r = cond(await getNode(x), 'Ready');
      expect(r.status).toBe('False');
      return r;
    }, 'NotReady for the network', 500);
    expect(c.message).toBe('container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized');
    x.runtime.conditions[0] = { type: 'RuntimeReady', status: false, reason: 'Broken', message: 'oops' };
    await x.advance(5_000, 500);
    await x.until(
      async () =>
        expect(cond(await getNode(x), 'Ready').message).toBe(
          '[container runtime not ready: RuntimeReady=false reason:Broken message:oops, container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized]',
        ),
      'both runtime errors in the Ready message',
      1000,
    );
  });

  it('flags memory pressure and keeps it for the transition period', async () => {
    const x = await registered();
    const meminfo = (availKb: number): string => `MemTotal: 16384000 kB\nMemFree: 1000 kB\nMemAvailable: ${availKb} kB\n`;
    x.writeFact('proc/meminfo', meminfo(50 * 1024));
    await x.advance(10_000, 1000);
    await x.until(async () => expect(cond(await getNode(x), 'MemoryPressure')).toMatchObject({ status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available' }), 'memory pressure', 1000);
    expect(x.events.reasons()).toContain('NodeHasInsufficientMemory');
    x.writeFact('proc/meminfo', meminfo(8_000_000));
    await x.advance(60_000, 5000);
    expect(cond(await getNode(x), 'MemoryPressure').status).toBe('True');
    await x.advance(5 * 60_000, 5000);
    await x.until(async () => expect(cond(await getNode(x), 'MemoryPressure').status).toBe('False'), 'memory pressure cleared', 1000);
  });

  it('keeps posting status through an apiserver outage', async () => {
    const x = await registered();
    x.client.down = true;
    x.runtime.conditions[1] = { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'no cni' };
    await x.advance(30_000, 1000);
    x.client.down = false;
    await x.advance(10_000, 1000);
    await x.until(async () => expect(cond(await getNode(x), 'Ready').status).toBe('False'), 'status posted after the outage', 1000);
  });

  it('registers again when the Node is deleted', async () => {
    const x = await registered();
    const uid = (await getNode(x)).metadata?.uid;
    await x.api.client.delete(Nodes, undefined, 'node-1');
    const again = await x.until(
      async () => {
        const n = await getNode(x);
        expect(n.metadata?.uid).not.toBe(uid);
        cond(n, 'Ready');
        return n;
      },
      're-registered',
      100,
    );
    await x.until(() => expect(x.manager.node()?.metadata?.uid).toBe(again.metadata?.uid));
  });
});
