/**
 * The whole companion control plane on one in-memory apiserver: scheduler and every
 * controller together, with Events going through the API as in production.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Event, Node, Pod, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { Deployments, EndpointSlices, Events, Namespaces, Nodes, Pods, ReplicaSets, ServiceAccounts, Services } from '../../lib/kube/resources.js';
import { silentLogger } from '../../lib/log.js';
import { createApi, type Api } from '../index.js';
import { startScheduler, type RunningScheduler } from '../scheduler/index.js';
import { startControllers, type RunningControllers } from './index.js';
import { readyNode, setPodRunning, settle, waitFor } from './testing/harness.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function plane(): Promise<{ api: Api; clock: FakeClock; cm: RunningControllers; sched: RunningScheduler }> {
  const clock = new FakeClock();
  const logger = silentLogger();
  const api = await createApi({ clock, logger });
  const cm = startControllers({ client: api.client, clock, logger, clusterCidr: '10.244.0.0/16', nodeCidrMaskSize: 24 });
  const sched = startScheduler({ client: api.client, clock, logger });
  await Promise.all([cm.ready, sched.ready]);
  stop = async () => {
    await sched.stop();
    await cm.stop();
    await api.close();
  };
  return { api, clock, cm, sched };
}

describe('control plane', () => {
  it('runs a Deployment behind a Service end to end, quietly, and cleans up', async () => {
    const { api, clock } = await plane();
    const c = api.client;
    await c.create(Nodes, readyNode('n1', { cpu: '2', memory: '4Gi', pods: '110' }));
    await c.create(Nodes, readyNode('n2', { cpu: '2', memory: '4Gi', pods: '110' }));
    await c.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await waitFor('default SA', () => c.get<ServiceAccount>(ServiceAccounts, 'shop', 'default').catch(() => undefined));
    await c.create<Deployment>(Deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }], resources: { requests: { cpu: '100m' } } }] },
        },
      },
    });
    await c.create<Service>(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } });
    const pods = await waitFor('4 pods scheduled', async () => {
      const p = (await c.list<Pod>(Pods, { namespace: 'shop' })).items;
      return p.length === 4 && p.every((x) => x.spec?.nodeName) ? p : undefined;
    });
    expect(pods.filter((p) => p.spec?.nodeName === 'n1').length).toBe(2);
    const nodes = (await c.list<Node>(Nodes)).items;
    expect(nodes.map((n) => n.spec?.podCIDR).sort()).toEqual(['10.244.0.0/24', '10.244.1.0/24']);
    let i = 0;
    for (const p of pods) await setPodRunning(c, clock, p, true, `10.244.${p.spec?.nodeName === 'n1' ? 0 : 1}.${++i + 10}`);
    const slice = await waitFor('4 ready endpoints', async () => {
      const s = (await c.list<EndpointSlice>(EndpointSlices, { namespace: 'shop' })).items[0];
      return s?.endpoints?.filter((e) => e.conditions?.ready).length === 4 ? s : undefined;
    });
    expect(slice.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
    await waitFor('rolled out', async () => {
      const d = await c.get<Deployment>(Deployments, 'shop', 'web');
      return d.status?.availableReplicas === 4 && d.status.conditions?.some((x) => x.reason === 'NewReplicaSetAvailable');
    });

    // Events went through the API with kube's component names.
    const events = (await c.list<Event>(Events)).items;
    const bySource = (reason: string) => events.find((e) => e.reason === reason)?.source?.component;
    expect(bySource('Scheduled')).toBe('default-scheduler');
    expect(bySource('SuccessfulCreate')).toBe('replicaset-controller');
    expect(bySource('ScalingReplicaSet')).toBe('deployment-controller');

    // Nothing changes while nothing happens (no hot loops), across monitor and GC periods.
    await settle(50);
    const rv = (await c.list(Namespaces)).metadata.resourceVersion;
    for (let t = 0; t < 6; t++) {
      await clock.advance(5000);
      await settle(10);
    }
    await settle(50);
    expect((await c.list(Namespaces)).metadata.resourceVersion).toBe(rv);

    // kubectl delete deployment web; kubectl delete namespace shop.
    await c.delete(Deployments, 'shop', 'web');
    await waitFor('replica sets gone', async () => (await c.list(ReplicaSets, { namespace: 'shop' })).items.length === 0);
    await waitFor('pods terminating', async () => (await c.list<Pod>(Pods, { namespace: 'shop' })).items.every((p) => p.metadata?.deletionTimestamp));
    // Play kubelet: finish the graceful deletions.
    for (const p of (await c.list<Pod>(Pods, { namespace: 'shop' })).items) await c.delete(Pods, 'shop', p.metadata!.name!, { gracePeriodSeconds: 0 });
    await waitFor('no endpoints', async () => !(await c.list<EndpointSlice>(EndpointSlices, { namespace: 'shop' })).items.some((s) => s.endpoints?.length));
    await c.delete(Namespaces, undefined, 'shop');
    await waitFor('namespace gone', async () => !(await c.list(Namespaces)).items.some((n) => n.metadata?.name === 'shop'));
  });
});
