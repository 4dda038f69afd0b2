import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { Pod, Service, ConfigMap, Namespace, Endpoints } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import { FakeClock } from '../../lib/clock.js';
import type { KubeObject, WatchEvent, WatchStream } from '../../lib/kube/client.js';
import { ApiError, isAlreadyExists, isApiNotFound, isConflict, isForbidden, isGone, isInvalid } from '../../lib/kube/errors.js';
import { ConfigMaps, Deployments, EndpointSlices, Endpoints as EndpointsRes, Events, Namespaces, Nodes, Pods, Services } from '../../lib/kube/resources.js';
import { createApi, type Api } from '../index.js';

function status(err: unknown): Status {
  expect(err).toBeInstanceOf(ApiError);
  return (err as ApiError).status;
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the request to fail').toBeInstanceOf(ApiError);
  return err as ApiError;
}

const pod = (name: string, extra: Partial<Pod['spec']> = {}, ns = 'default'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.29' }], ...extra },
});

const cm = (name: string, data: Record<string, string> = {}, ns = 'default', labels?: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  data,
});

const deploy = (name: string, replicas = 1): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
  },
});

const svc = (name: string, spec: Partial<Service['spec']> = {}): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }], ...spec },
});

async function collect<T>(w: WatchStream<T>, n: number, clock?: FakeClock): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const it = w[Symbol.asyncIterator]();
  while (out.length < n) {
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2000)),
    ]);
    if (r === 'timeout') throw new Error(`timed out after ${out.length} events: ${JSON.stringify(out.map((e) => e.type))}`);
    if (r.done) break;
    out.push(r.value);
  }
  void clock;
  return out;
}

describe('registry via the in-process client', () => {
  let clock: FakeClock;
  let api: Api;
  let seq = 0;

  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    // deterministic randomness for generateName and allocation
    seq = 0;
    api = await createApi({ clock, random: () => ((seq++ * 0.37) % 1), advertiseAddress: '192.0.2.10', securePort: 6443, bookmarkIntervalMs: 1000 });
  });
  afterEach(async () => {
    await api.close();
  });

  describe('bootstrap', () => {
    it('has the default namespaces and the kubernetes Service with endpoints', async () => {
      const nss = await api.client.list<Namespace>(Namespaces);
      expect(nss.items.map((n) => n.metadata!.name).sort()).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
      expect(nss.items[0].status?.phase).toBe('Active');
      const k = await api.client.get<Service>(Services, 'default', 'kubernetes');
      expect(k.spec!.clusterIP).toBe('10.96.0.1');
      expect(k.spec!.ports![0]).toMatchObject({ name: 'https', port: 443, targetPort: 6443 });
      const ep = await api.client.get<Endpoints>(EndpointsRes, 'default', 'kubernetes');
      expect(ep.subsets![0].addresses![0].ip).toBe('192.0.2.10');
      const slice = await api.client.get<KubeObject & { endpoints: { addresses: string[] }[] }>(EndpointSlices, 'default', 'kubernetes');
      expect(slice.endpoints[0].addresses).toEqual(['192.0.2.10']);
    });

    it('refuses to delete default and kube-system', async () => {
      const err = await failure(api.client.delete(Namespaces, undefined, 'default'));
      expect(isForbidden(err)).toBe(true);
      expect(err.message).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
      expect(isForbidden(await failure(api.client.delete(Namespaces, undefined, 'kube-system')))).toBe(true);
    });
  });

  describe('create', () => {
    it('fills system metadata', async () => {
      const c = await api.client.create(ConfigMaps, cm('a', { k: 'v' }));
      expect(c.metadata!.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(c.metadata!.creationTimestamp).toBe('2026-01-01T12:00:00Z');
      expect(Number(c.metadata!.resourceVersion)).toBeGreaterThan(0);
      expect(c.metadata!.generation).toBeUndefined();
      expect(c.kind).toBe('ConfigMap');
    });

    it('generates names with 5 random lower-case alphanumerics', async () => {
      const a: ConfigMap = await api.client.create(ConfigMaps, { ...cm(''), metadata: { generateName: 'web-', namespace: 'default' } });
      expect(a.metadata!.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    it('answers AlreadyExists', async () => {
      await api.client.create(ConfigMaps, cm('a'));
      const err = await failure(api.client.create(ConfigMaps, cm('a')));
      expect(isAlreadyExists(err)).toBe(true);
      expect(err.statusCode).toBe(409);
      expect(err.message).toBe('configmaps "a" already exists');
    });

    it('requires an existing namespace that is not terminating', async () => {
      const err = await failure(api.client.create(ConfigMaps, cm('a', {}, 'nope')));
      expect(isApiNotFound(err)).toBe(true);
      expect(err.message).toBe('namespaces "nope" not found');
      await api.client.create(Namespaces, { metadata: { name: 'doomed' } } as Namespace);
      await api.client.delete(Namespaces, undefined, 'doomed');
      const err2 = await failure(api.client.create(ConfigMaps, cm('a', {}, 'doomed')));
      expect(isForbidden(err2)).toBe(true);
      expect(err2.message).toContain('because it is being terminated');
    });

    it('sets generation 1 for kinds with a generation and resets status', async () => {
      const d = await api.client.create(Deployments, { ...deploy('web'), status: { replicas: 7 } });
      expect(d.metadata!.generation).toBe(1);
      expect(d.status).toEqual({});
    });

    it('resets pod status to Pending with a QoS class and runs pod admission', async () => {
      const p: Pod = await api.client.create(Pods, { ...pod('p'), status: { phase: 'Running' } });
      expect(p.status!.phase).toBe('Pending');
      expect(p.status!.qosClass).toBe('BestEffort');
      expect(p.spec!.serviceAccountName).toBe('default');
      expect(p.spec!.tolerations!.map((t) => t.key)).toEqual(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    });

    it('rejects a resourceVersion on create and a namespace mismatch', async () => {
      const withRv = cm('a');
      withRv.metadata = { ...withRv.metadata, resourceVersion: '5' };
      expect((await failure(api.client.create(ConfigMaps, withRv))).statusCode).toBe(400);
      const err = await failure(api.registry.create(ConfigMaps, 'kube-system', cm('a')));
      expect(err.statusCode).toBe(400);
    });

    it('keeps the node status a kubelet registers with', async () => {
      const n = await api.client.create(Nodes, { metadata: { name: 'n1' }, status: { capacity: { cpu: '2' } } } as KubeObject & { status: unknown });
      expect((n as { status: { capacity: Record<string, string> } }).status.capacity).toEqual({ cpu: '2' });
    });
  });

  describe('update', () => {
    it('compare-and-swaps on resourceVersion with kube\'s conflict message', async () => {
      const c = await api.client.create(ConfigMaps, cm('a', { v: '1' }));
      const u = await api.client.update(ConfigMaps, { ...c, data: { v: '2' } });
      expect(Number(u.metadata!.resourceVersion)).toBeGreaterThan(Number(c.metadata!.resourceVersion));
      const err = await failure(api.client.update(ConfigMaps, { ...c, data: { v: '3' } }));
      expect(isConflict(err)).toBe(true);
      expect(err.message).toBe(
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
      );
      // without a resourceVersion the update is unconditional
      const { resourceVersion: _rv, ...meta } = c.metadata!;
      const v = await api.client.update(ConfigMaps, { ...c, metadata: meta, data: { v: '4' } });
      expect(v.data).toEqual({ v: '4' });
    });

    it('keeps immutable metadata and rejects a uid change', async () => {
      const c = await api.client.create(ConfigMaps, cm('a'));
      const u = await api.client.update(ConfigMaps, { ...c, metadata: { ...c.metadata, creationTimestamp: '2000-01-01T00:00:00Z', uid: undefined } });
      expect(u.metadata!.creationTimestamp).toBe(c.metadata!.creationTimestamp);
      expect(u.metadata!.uid).toBe(c.metadata!.uid);
      const err = await failure(api.client.update(ConfigMaps, { ...u, metadata: { ...u.metadata, uid: 'other' } }));
      expect(isInvalid(err)).toBe(true);
      expect(err.message).toContain('metadata.uid');
    });

    it('answers 404 for a missing object (and creates where kube allows create-on-update)', async () => {
      expect(isApiNotFound(await failure(api.client.update(ConfigMaps, cm('missing'))))).toBe(true);
      const ep = await api.client.update(EndpointsRes, { metadata: { name: 'e', namespace: 'default' }, subsets: [] } as Endpoints);
      expect(ep.metadata!.uid).toBeDefined();
    });

    it('main update ignores status; status update ignores everything but status', async () => {
      const d = await api.client.create(Deployments, deploy('web'));
      const s1 = await api.client.update(Deployments, { ...d, status: { replicas: 3 } }, { subresource: 'status' });
      expect(s1.status).toEqual({ replicas: 3 });
      expect(s1.metadata!.generation).toBe(1);
      const s2 = await api.client.update(
        Deployments,
        { ...s1, spec: { ...s1.spec!, replicas: 9 }, status: { replicas: 4 }, metadata: { ...s1.metadata, labels: { a: 'b' } } },
        { subresource: 'status' },
      );
      expect(s2.spec!.replicas).toBe(1);
      expect(s2.status).toEqual({ replicas: 4 });
      expect(s2.metadata!.labels).toEqual({ a: 'b' });
      const m = await api.client.update(Deployments, { ...s2, status: { replicas: 100 } });
      expect(m.status).toEqual({ replicas: 4 });
    });

    it('bumps generation only when the spec changes', async () => {
      const d = await api.client.create(Deployments, deploy('web'));
      const same = await api.client.update(Deployments, { ...d, metadata: { ...d.metadata, labels: { x: 'y' } } });
      expect(same.metadata!.generation).toBe(1);
      const changed = await api.client.update(Deployments, { ...same, spec: { ...same.spec!, replicas: 5 } });
      expect(changed.metadata!.generation).toBe(2);
    });

    it('does not write a no-op update', async () => {
      const c = await api.client.create(ConfigMaps, cm('a', { v: '1' }));
      const u = await api.client.update(ConfigMaps, c);
      expect(u.metadata!.resourceVersion).toBe(c.metadata!.resourceVersion);
    });
  });

  describe('scale and binding', () => {
    it('reads and writes the scale subresource', async () => {
      await api.client.create(Deployments, deploy('web', 2));
      const s = await api.client.getSubresource<Scale>(Deployments, 'default', 'web', 'scale');
      expect(s).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 0, selector: 'app=web' } });
      const s2 = await api.client.update<KubeObject>(Deployments, { ...s, spec: { replicas: 5 } } as KubeObject, { subresource: 'scale' });
      expect((s2 as Scale).spec!.replicas).toBe(5);
      const d = await api.client.get<Deployment>(Deployments, 'default', 'web');
      expect(d.spec!.replicas).toBe(5);
      expect(d.metadata!.generation).toBe(2);
      const err = await failure(api.client.update<KubeObject>(Deployments, { ...s, metadata: { ...s.metadata, resourceVersion: undefined }, spec: { replicas: -1 } } as KubeObject, { subresource: 'scale' }));
      expect(isInvalid(err)).toBe(true);
      expect(err.message).toBe('Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    });

    it('patches the scale subresource with a merge patch (kubectl scale)', async () => {
      await api.client.create(Deployments, deploy('web', 2));
      const s = await api.client.patch<Scale>(Deployments, 'default', 'web', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' });
      expect(s.spec!.replicas).toBe(3);
    });

    it('binds a pod once', async () => {
      await api.client.create(Pods, pod('p'));
      const r = await api.client.createSubresource<unknown, Status>(Pods, 'default', 'p', 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'p', namespace: 'default' },
        target: { kind: 'Node', name: 'n1' },
      });
      expect(r.status).toBe('Success');
      const p = await api.client.get<Pod>(Pods, 'default', 'p');
      expect(p.spec!.nodeName).toBe('n1');
      expect(p.status!.conditions!.find((c) => c.type === 'PodScheduled')!.status).toBe('True');
      const err = await failure(
        api.client.createSubresource(Pods, 'default', 'p', 'binding', { metadata: { name: 'p' }, target: { kind: 'Node', name: 'n2' } }),
      );
      expect(err.statusCode).toBe(409);
      expect(err.message).toBe('Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1"');
    });
  });

  describe('delete', () => {
    it('deletes at once and answers a Status (or the object for pods)', async () => {
      await api.client.create(ConfigMaps, cm('a'));
      const r = (await api.client.delete(ConfigMaps, 'default', 'a')) as Status;
      expect(r).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'a', kind: 'configmaps' } });
      expect(isApiNotFound(await failure(api.client.get(ConfigMaps, 'default', 'a')))).toBe(true);
      await api.client.create(Pods, pod('p'));
      const p = (await api.client.delete(Pods, 'default', 'p')) as Pod;
      expect(p.kind).toBe('Pod');
      expect(isApiNotFound(await failure(api.client.get(Pods, 'default', 'p')))).toBe(true);
    });

    it('checks uid and resourceVersion preconditions', async () => {
      const c = await api.client.create(ConfigMaps, cm('a'));
      const err = await failure(api.client.delete(ConfigMaps, 'default', 'a', { preconditions: { uid: 'x' } }));
      expect(isConflict(err)).toBe(true);
      expect(err.message).toContain(`Precondition failed: UID in precondition: x, UID in object meta: ${c.metadata!.uid}`);
      await failure(api.client.delete(ConfigMaps, 'default', 'a', { preconditions: { resourceVersion: '1' } }));
      await api.client.delete(ConfigMaps, 'default', 'a', { preconditions: { uid: c.metadata!.uid, resourceVersion: c.metadata!.resourceVersion } });
    });

    it('deletes a bound pod gracefully; only a shorter grace is accepted; grace 0 removes it', async () => {
      await api.client.create(Pods, pod('p', { nodeName: 'n1', terminationGracePeriodSeconds: 45 }));
      const d1 = (await api.client.delete(Pods, 'default', 'p')) as Pod;
      expect(d1.metadata!.deletionGracePeriodSeconds).toBe(45);
      expect(d1.metadata!.deletionTimestamp).toBe('2026-01-01T12:00:45Z');
      // a longer grace changes nothing
      const d2 = (await api.client.delete(Pods, 'default', 'p', { gracePeriodSeconds: 100 })) as Pod;
      expect(d2.metadata!.deletionGracePeriodSeconds).toBe(45);
      expect(d2.metadata!.resourceVersion).toBe(d1.metadata!.resourceVersion);
      // a shorter grace moves the deadline earlier
      const d3 = (await api.client.delete(Pods, 'default', 'p', { gracePeriodSeconds: 10 })) as Pod;
      expect(d3.metadata!.deletionGracePeriodSeconds).toBe(10);
      expect(d3.metadata!.deletionTimestamp).toBe('2026-01-01T12:00:10Z');
      expect((await api.client.get<Pod>(Pods, 'default', 'p')).metadata!.deletionTimestamp).toBeDefined();
      // the kubelet confirms
      await api.client.delete(Pods, 'default', 'p', { gracePeriodSeconds: 0 });
      expect(isApiNotFound(await failure(api.client.get(Pods, 'default', 'p')))).toBe(true);
    });

    it('defaults the grace period to 30 s and removes terminal pods at once', async () => {
      await api.client.create(Pods, pod('p', { nodeName: 'n1' }));
      const d = (await api.client.delete(Pods, 'default', 'p')) as Pod;
      expect(d.metadata!.deletionGracePeriodSeconds).toBe(30);
      const q = await api.client.create(Pods, pod('q', { nodeName: 'n1' }));
      await api.client.update(Pods, { ...q, status: { phase: 'Succeeded' } }, { subresource: 'status' });
      await api.client.delete(Pods, 'default', 'q');
      expect(isApiNotFound(await failure(api.client.get(Pods, 'default', 'q')))).toBe(true);
    });

    it('keeps an object with finalizers until an update empties them', async () => {
      await api.client.create(ConfigMaps, { ...cm('a'), metadata: { name: 'a', namespace: 'default', finalizers: ['example.com/x'] } });
      const d = (await api.client.delete(ConfigMaps, 'default', 'a')) as ConfigMap;
      expect(d.metadata!.deletionTimestamp).toBe('2026-01-01T12:00:00Z');
      expect(d.metadata!.deletionGracePeriodSeconds).toBe(0);
      const still = await api.client.get<ConfigMap>(ConfigMaps, 'default', 'a');
      // updates may not clear the deletionTimestamp
      const u = await api.client.update(ConfigMaps, { ...still, metadata: { ...still.metadata, deletionTimestamp: undefined, labels: { a: 'b' } } });
      expect(u.metadata!.deletionTimestamp).toBeDefined();
      await api.client.update(ConfigMaps, { ...u, metadata: { ...u.metadata, finalizers: [] } });
      expect(isApiNotFound(await failure(api.client.get(ConfigMaps, 'default', 'a')))).toBe(true);
    });

    it('adds orphan / foregroundDeletion finalizers for the propagation policy', async () => {
      await api.client.create(Deployments, deploy('o'));
      const o = (await api.client.delete(Deployments, 'default', 'o', { propagationPolicy: 'Orphan' })) as Deployment;
      expect(o.metadata!.finalizers).toEqual(['orphan']);
      expect(o.metadata!.deletionTimestamp).toBeDefined();
      expect(o.metadata!.generation).toBe(2);
      await api.client.create(Deployments, deploy('f'));
      const f = (await api.client.delete(Deployments, 'default', 'f', { propagationPolicy: 'Foreground' })) as Deployment;
      expect(f.metadata!.finalizers).toEqual(['foregroundDeletion']);
      await api.client.create(Deployments, deploy('b'));
      const b = (await api.client.delete(Deployments, 'default', 'b', { propagationPolicy: 'Background' })) as Status;
      expect(b.status).toBe('Success');
    });

    it('deletes a namespace through Terminating and the finalize subresource', async () => {
      await api.client.create(Namespaces, { metadata: { name: 'team' } } as Namespace);
      const ns = await api.client.get<Namespace>(Namespaces, undefined, 'team');
      expect(ns.spec!.finalizers).toEqual(['kubernetes']);
      expect(ns.metadata!.labels!['kubernetes.io/metadata.name']).toBe('team');
      const d = (await api.client.delete(Namespaces, undefined, 'team')) as Namespace;
      expect(d.status!.phase).toBe('Terminating');
      expect(d.metadata!.deletionTimestamp).toBeDefined();
      // a main update cannot drop spec.finalizers
      const u = await api.client.update(Namespaces, { ...d, spec: { finalizers: [] } });
      expect(u.spec!.finalizers).toEqual(['kubernetes']);
      await api.client.update(Namespaces, { ...u, spec: { finalizers: [] } }, { subresource: 'finalize' });
      expect(isApiNotFound(await failure(api.client.get(Namespaces, undefined, 'team')))).toBe(true);
    });

    it('deletes a collection by label selector', async () => {
      await api.client.create(ConfigMaps, cm('a', {}, 'default', { t: 'x' }));
      await api.client.create(ConfigMaps, cm('b', {}, 'default', { t: 'x' }));
      await api.client.create(ConfigMaps, cm('c', {}, 'default', { t: 'y' }));
      await api.client.deleteCollection(ConfigMaps, { namespace: 'default', labelSelector: 't=x' });
      const left = await api.client.list<ConfigMap>(ConfigMaps, { namespace: 'default' });
      expect(left.items.map((c) => c.metadata!.name)).toEqual(['c']);
    });
  });

  describe('services', () => {
    it('allocates distinct ClusterIPs in range and fills the IP family fields', async () => {
      const ips = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const s = await api.client.create(Services, svc(`s${i}`));
        expect(s.spec!.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
        expect(s.spec!.clusterIPs).toEqual([s.spec!.clusterIP]);
        expect(s.spec!.ipFamilies).toEqual(['IPv4']);
        expect(s.spec!.ipFamilyPolicy).toBe('SingleStack');
        expect(s.spec!.clusterIP).not.toBe('10.96.0.1');
        ips.add(s.spec!.clusterIP!);
      }
      expect(ips.size).toBe(20);
    });

    it('refuses a taken ClusterIP and frees it on delete', async () => {
      await api.client.create(Services, svc('a', { clusterIP: '10.96.0.5' }));
      const err = await failure(api.client.create(Services, svc('b', { clusterIP: '10.96.0.5' })));
      expect(isInvalid(err)).toBe(true);
      expect(err.message).toBe(
        'Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already allocated',
      );
      expect(err.status.details!.causes![0]).toMatchObject({ field: 'spec.clusterIPs', reason: 'FieldValueInvalid' });
      const out = await failure(api.client.create(Services, svc('c', { clusterIP: '10.97.0.5' })));
      expect(out.message).toContain('is not in the valid range');
      await api.client.delete(Services, 'default', 'a');
      const b = await api.client.create(Services, svc('b', { clusterIP: '10.96.0.5' }));
      expect(b.spec!.clusterIP).toBe('10.96.0.5');
    });

    it('keeps headless services headless and keeps the IP on replace', async () => {
      const h = await api.client.create(Services, svc('h', { clusterIP: 'None' }));
      expect(h.spec!.clusterIPs).toEqual(['None']);
      const a = await api.client.create(Services, svc('a'));
      const { clusterIP: _c, clusterIPs: _cs, ...rest } = a.spec!;
      const u: Service = await api.client.update(Services, { ...a, spec: rest });
      expect(u.spec!.clusterIP).toBe(a.spec!.clusterIP);
    });

    it('allocates NodePorts for NodePort services, refusing duplicates', async () => {
      const a = await api.client.create(Services, svc('a', { type: 'NodePort' }));
      const np = a.spec!.ports![0].nodePort!;
      expect(np).toBeGreaterThanOrEqual(30000);
      expect(np).toBeLessThanOrEqual(32767);
      const err = await failure(api.client.create(Services, svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: np }] })));
      expect(err.message).toBe(`Service "b" is invalid: spec.ports[0].nodePort: Invalid value: ${np}: provided port is already allocated`);
      await api.client.delete(Services, 'default', 'a');
      const b = await api.client.create(Services, svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: np }] }));
      expect(b.spec!.ports![0].nodePort).toBe(np);
    });

    it('rebuilds allocations from the store after a restart', async () => {
      const a = await api.client.create(Services, svc('a'));
      const again = await createApi({ clock, store: api.store });
      const err = await failure(again.client.create(Services, svc('b', { clusterIP: a.spec!.clusterIP })));
      expect(err.message).toContain('provided IP is already allocated');
    });
  });

  describe('list', () => {
    it('filters by label and field selectors', async () => {
      await api.client.create(Pods, pod('p1', { nodeName: 'n1' }));
      await api.client.create(Pods, pod('p2', { nodeName: 'n2' }));
      await api.client.create(Pods, { ...pod('p3'), metadata: { name: 'p3', namespace: 'default', labels: { app: 'db' } } });
      const byLabel = await api.client.list<Pod>(Pods, { labelSelector: 'app=web' });
      expect(byLabel.items.map((p) => p.metadata!.name)).toEqual(['p1', 'p2']);
      const byName = await api.client.list<Pod>(Pods, { fieldSelector: 'metadata.name=p2' });
      expect(byName.items.map((p) => p.metadata!.name)).toEqual(['p2']);
      const err = await failure(api.client.list(Pods, { fieldSelector: 'spec.nope=x' }));
      expect(err.statusCode).toBe(400);
      expect(err.message).toContain('field label not supported: spec.nope');
    });

    it('filters by spec.nodeName (once the API helper exposes it)', async () => {
      await api.client.create(Pods, pod('p1', { nodeName: 'n1' }));
      await api.client.create(Pods, pod('p2', { nodeName: 'n2' }));
      const byNode = await api.client.list<Pod>(Pods, { fieldSelector: 'spec.nodeName=n1' });
      expect(byNode.items.map((p) => p.metadata!.name)).toEqual(['p1']);
    });

    it('pages with limit and continue at a consistent revision', async () => {
      for (const n of ['a', 'b', 'c', 'd', 'e']) await api.client.create(ConfigMaps, cm(n));
      const p1 = await api.client.list<ConfigMap>(ConfigMaps, { namespace: 'default', limit: 2 });
      expect(p1.items.map((c) => c.metadata!.name)).toEqual(['a', 'b']);
      expect(p1.metadata.continue).toBeTruthy();
      expect(p1.metadata.remainingItemCount).toBe(3);
      await api.client.delete(ConfigMaps, 'default', 'c');
      const p2 = await api.client.list<ConfigMap>(ConfigMaps, { namespace: 'default', limit: 2, continue: p1.metadata.continue });
      expect(p2.items.map((c) => c.metadata!.name)).toEqual(['c', 'd']);
      expect(p2.metadata.resourceVersion).toBe(p1.metadata.resourceVersion);
      const p3 = await api.client.list<ConfigMap>(ConfigMaps, { namespace: 'default', limit: 2, continue: p2.metadata.continue });
      expect(p3.items.map((c) => c.metadata!.name)).toEqual(['e']);
      expect(p3.metadata.continue).toBeUndefined();
    });

    it('lists across namespaces and strips kind from items', async () => {
      await api.client.create(Namespaces, { metadata: { name: 'other' } } as Namespace);
      await api.client.create(ConfigMaps, cm('a'));
      await api.client.create(ConfigMaps, cm('a', {}, 'other'));
      const all = await api.client.list<ConfigMap>(ConfigMaps);
      expect(all.kind).toBe('ConfigMapList');
      expect(all.items.map((c) => `${c.metadata!.namespace}/${c.metadata!.name}`)).toEqual(['default/a', 'other/a']);
      expect(all.items[0].kind).toBeUndefined();
    });

    it('answers a resourceVersion from the future with 504 and honours Exact', async () => {
      const a = await api.client.create(ConfigMaps, cm('a'));
      await api.client.create(ConfigMaps, cm('b'));
      expect((await failure(api.client.list(ConfigMaps, { resourceVersion: '999999' }))).statusCode).toBe(504);
      const exact = await api.client.list<ConfigMap>(ConfigMaps, { resourceVersion: a.metadata!.resourceVersion, resourceVersionMatch: 'Exact' });
      expect(exact.items.map((c) => c.metadata!.name)).toEqual(['a']);
    });
  });

  describe('watch', () => {
    it('starts with ADDED for the current state when resourceVersion is unset, then goes live', async () => {
      await api.client.create(ConfigMaps, cm('a'));
      const w = await api.client.watch<ConfigMap>(ConfigMaps, { namespace: 'default' });
      const p = collect(w, 3);
      await api.client.create(ConfigMaps, cm('b'));
      await api.client.delete(ConfigMaps, 'default', 'a');
      const evs = await p;
      w.close();
      expect(evs.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual(['ADDED a', 'ADDED b', 'DELETED a']);
    });

    it('replays events after a resourceVersion', async () => {
      const a = await api.client.create(ConfigMaps, cm('a'));
      await api.client.update(ConfigMaps, { ...a, data: { v: '1' } });
      const w = await api.client.watch<ConfigMap>(ConfigMaps, { resourceVersion: a.metadata!.resourceVersion });
      const evs = await collect(w, 1);
      w.close();
      expect(evs[0].type).toBe('MODIFIED');
      expect(evs[0].object.data).toEqual({ v: '1' });
    });

    it('answers 410 Expired for a resourceVersion older than the window', async () => {
      const small = await createApi({ clock, historySize: 5 });
      try {
        const a = await small.client.create(ConfigMaps, cm('a'));
        for (let i = 0; i < 10; i++) await small.client.update(ConfigMaps, { ...a, metadata: { ...a.metadata, resourceVersion: undefined }, data: { i: String(i) } });
        const err = await failure(small.client.watch(ConfigMaps, { resourceVersion: a.metadata!.resourceVersion }));
        expect(isGone(err)).toBe(true);
        expect(err.statusCode).toBe(410);
        expect(err.reason).toBe('Expired');
        expect(err.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
      } finally {
        await small.close();
      }
    });

    it('turns objects that stop matching the selector into DELETED', async () => {
      const a = await api.client.create(ConfigMaps, cm('a', {}, 'default', { t: 'x' }));
      const w = await api.client.watch<ConfigMap>(ConfigMaps, { labelSelector: 't=x', resourceVersion: a.metadata!.resourceVersion });
      const p = collect(w, 3);
      const u = await api.client.update(ConfigMaps, { ...a, metadata: { ...a.metadata, labels: { t: 'y' } } });
      await api.client.create(ConfigMaps, cm('other', {}, 'default', { t: 'y' }));
      const back = await api.client.update(ConfigMaps, { ...u, metadata: { ...u.metadata, labels: { t: 'x' } } });
      await api.client.update(ConfigMaps, { ...back, data: { v: '1' } });
      const evs = await p;
      w.close();
      expect(evs.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual(['DELETED a', 'ADDED a', 'MODIFIED a']);
    });

    it('sends BOOKMARKs with only the resourceVersion', async () => {
      const a = await api.client.create(ConfigMaps, cm('a'));
      const w = await api.client.watch<ConfigMap>(ConfigMaps, { allowWatchBookmarks: true, resourceVersion: a.metadata!.resourceVersion });
      await api.client.create(ConfigMaps, cm('b'));
      const p = collect(w, 2);
      await clock.advance(1000);
      const evs = await p;
      w.close();
      expect(evs[0].type).toBe('ADDED');
      expect(evs[1]).toEqual({
        type: 'BOOKMARK',
        object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: evs[0].object.metadata!.resourceVersion } },
      });
    });

    it('ends after timeoutSeconds', async () => {
      const w = await api.client.watch<ConfigMap>(ConfigMaps, { timeoutSeconds: 5, resourceVersion: String(await api.store.currentRevision()) });
      const p = collect(w, 1);
      await clock.advance(5000);
      expect(await p).toEqual([]);
    });

    it('hands out private copies to each watcher', async () => {
      const w1 = await api.client.watch<ConfigMap>(ConfigMaps, { namespace: 'default' });
      const w2 = await api.client.watch<ConfigMap>(ConfigMaps, { namespace: 'default' });
      const p1 = collect(w1, 1);
      const p2 = collect(w2, 1);
      await api.client.create(ConfigMaps, cm('a', { v: '1' }));
      const [[e1], [e2]] = await Promise.all([p1, p2]);
      e1.object.data!.v = 'changed';
      expect(e2.object.data!.v).toBe('1');
      expect((await api.client.get<ConfigMap>(ConfigMaps, 'default', 'a')).data!.v).toBe('1');
      w1.close();
      w2.close();
    });
  });

  describe('events', () => {
    it('expire after an hour', async () => {
      await api.client.create(Events, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e1', namespace: 'default' },
        involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
        reason: 'Test',
        message: 'hello',
      } as KubeObject);
      await clock.advance(3599_000);
      await api.client.get(Events, 'default', 'e1');
      await clock.advance(2_000);
      expect(isApiNotFound(await failure(api.client.get(Events, 'default', 'e1')))).toBe(true);
    });
  });

  describe('patch', () => {
    it('applies a merge patch through the update path', async () => {
      await api.client.create(ConfigMaps, cm('a', { v: '1' }));
      const p = await api.client.patch<ConfigMap>(ConfigMaps, 'default', 'a', 'merge', { data: { w: '2' } });
      expect(p.data).toEqual({ v: '1', w: '2' });
      expect(isApiNotFound(await failure(api.client.patch(ConfigMaps, 'default', 'nope', 'merge', {})))).toBe(true);
    });

    it('refuses server-side apply with 415', async () => {
      await api.client.create(ConfigMaps, cm('a'));
      expect((await failure(api.client.patch(ConfigMaps, 'default', 'a', 'apply', {}))).statusCode).toBe(415);
    });

    it('conflicts when the patch pins a stale resourceVersion', async () => {
      const c = await api.client.create(ConfigMaps, cm('a', { v: '1' }));
      await api.client.patch(ConfigMaps, 'default', 'a', 'merge', { data: { v: '2' } });
      const err = await failure(api.client.patch(ConfigMaps, 'default', 'a', 'merge', { metadata: { resourceVersion: c.metadata!.resourceVersion }, data: { v: '3' } }));
      expect(isConflict(err)).toBe(true);
    });
  });

  describe('validation hooks', () => {
    it('rejects negative replicas with kube\'s Invalid message (once the API helper validates)', async () => {
      const err = await failure(api.client.create(Deployments, deploy('web', -1)));
      expect(isInvalid(err)).toBe(true);
      expect(err.message).toBe('Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
      expect(err.status.details).toMatchObject({ name: 'web', group: 'apps', kind: 'Deployment' });
    });

    it('rejects unknown fields with fieldValidation=Strict and warns with Warn', async () => {
      const bad = { ...cm('a'), spec: { foo: 1 } } as KubeObject;
      const err = await failure(api.client.create(ConfigMaps, bad, { fieldValidation: 'Strict' }));
      expect(err.statusCode).toBe(400);
      expect(err.message).toContain('strict decoding error: unknown field "spec"');
      await api.client.create(ConfigMaps, bad, { fieldValidation: 'Warn' });
      expect(api.client.warnings).toContain('unknown field "spec"');
    });
  });
});
