/**
 * What kube-apiserver creates for itself at start: the default namespaces (its
 * `SystemNamespaces` controller) and the `kubernetes` Service in `default` with its
 * Endpoints and EndpointSlice (the bootstrap controller's endpoint reconciler), pointing at
 * the advertise address and secure port.
 */
import { isAlreadyExists } from '../../lib/kube/errors.js';
import { EndpointSlices, Endpoints, Namespaces, Services } from '../../lib/kube/resources.js';
import type { KubeObject } from '../../lib/kube/client.js';
import type { Registry, RequestContext } from './registry.js';
import { deepEqual, type Obj } from './meta.js';

/** Namespaces that exist from the start. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Where the apiserver can be reached, for the `kubernetes` Service's endpoints. */
export interface BootstrapOptions {
  advertiseAddress: string;
  securePort: number;
}

const SYSTEM: RequestContext = { user: { username: 'system:apiserver', groups: ['system:masters'] } };

async function ensureCreated(registry: Registry, create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  void registry;
}

/** Creates what is missing and reconciles the `kubernetes` endpoints. Idempotent. */
export async function bootstrap(registry: Registry, opts: BootstrapOptions): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    await ensureCreated(registry, () => registry.create(Namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, {}, SYSTEM));
  }
  const port = { name: 'https', port: 443, protocol: 'TCP', targetPort: opts.securePort };
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  let svc: Obj | undefined;
  try {
    svc = await registry.get(Services, 'default', 'kubernetes');
  } catch {
    svc = undefined;
  }
  if (!svc) {
    await ensureCreated(registry, () =>
      registry.create(
        Services,
        'default',
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'kubernetes', namespace: 'default', labels },
          spec: { type: 'ClusterIP', clusterIP: registry.allocations.ips.nth(1), ports: [port], sessionAffinity: 'None' },
        } as KubeObject,
        {},
        SYSTEM,
      ),
    );
  } else {
    const spec = (svc.spec ?? {}) as { ports?: unknown[] };
    if (!deepEqual(spec.ports?.[0] && { ...(spec.ports[0] as object) }, port) || spec.ports?.length !== 1) {
      svc.spec = { ...svc.spec, ports: [port] };
      delete svc.metadata.resourceVersion;
      await registry.update(Services, 'default', 'kubernetes', svc, {}, SYSTEM);
    }
  }
  const endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: opts.advertiseAddress }], ports: [{ name: 'https', port: opts.securePort, protocol: 'TCP' }] }],
  };
  await upsert(registry, Endpoints, endpoints as KubeObject, (cur) => deepEqual(cur.subsets, endpoints.subsets));
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [opts.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: 'https', port: opts.securePort, protocol: 'TCP' }],
  };
  await upsert(registry, EndpointSlices, slice as KubeObject, (cur) => deepEqual(cur.endpoints, slice.endpoints) && deepEqual(cur.ports, slice.ports));
}

async function upsert(registry: Registry, type: typeof Endpoints, obj: KubeObject, same: (cur: Obj) => boolean): Promise<void> {
  const name = obj.metadata!.name!;
  let cur: Obj | undefined;
  try {
    cur = await registry.get(type, 'default', name);
  } catch {
    cur = undefined;
  }
  if (!cur) {
    await ensureCreated(registry, () => registry.create(type, 'default', obj, {}, SYSTEM));
    return;
  }
  if (same(cur)) return;
  await registry.update(type, 'default', name, { ...obj, metadata: { ...obj.metadata, labels: { ...(cur.metadata.labels ?? {}), ...(obj.metadata!.labels ?? {}) } } }, {}, SYSTEM);
}
