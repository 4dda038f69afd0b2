/**
 * Feeds the proxier from the apiserver: a Service informer and an endpoint informer, with
 * kube-proxy's label filters (Services handled by another proxy, and headless ones, are not
 * even listed).
 *
 * Which endpoint API to watch is asked of discovery, never guessed (kube-proxy 1.20 did the
 * same through its EndpointSliceProxying gate and the served versions):
 *
 * ```
 *  GET /apis/discovery.k8s.io ──404──► core/v1 Endpoints
 *        │ versions
 *        ├─ v1 serves endpointslices (list, watch)       ──► discovery.k8s.io/v1      (Kubernetes ≥ 1.21)
 *        ├─ v1beta1 serves endpointslices (list, watch)  ──► discovery.k8s.io/v1beta1 (Kubernetes 1.17–1.24)
 *        └─ neither                                       ──► core/v1 Endpoints
 * ```
 * Once both informers have listed, the proxier's `onSynced()` lets the first sync run.
 */
import type { Endpoints as CoreEndpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import {
  EndpointSlices,
  EndpointSlicesV1beta1,
  Endpoints,
  Informer,
  isApiNotFound,
  Services,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../lib/kube/index.js';
import type { EndpointSliceV1beta1 } from './adapters.js';
import type { Proxier } from './index.js';

/** kube-proxy's Service list selector (pkg/proxy/apis/well_known_labels + headless). */
export const SERVICE_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';
/** kube-proxy's endpoint selector: endpoints of headless Services carry this label. */
export const SLICE_LABEL_SELECTOR = '!service.kubernetes.io/headless';

/** Which endpoint API the proxy watches. */
export type EndpointSourceKind = 'discovery.k8s.io/v1' | 'discovery.k8s.io/v1beta1' | 'v1/Endpoints';

/** The part of `RestClient` discovery needs. */
export interface DiscoveryClient {
  getRaw<T>(path: string, signal?: AbortSignal): Promise<T>;
}

interface APIGroup {
  versions?: Array<{ version: string }>;
}

interface APIResourceList {
  resources?: Array<{ name: string; verbs?: string[] }>;
}

/**
 * Asks discovery which endpoint API to use (see the module comment). Throws when discovery
 * itself fails (other than 404): the caller retries rather than guessing.
 */
export async function chooseEndpointSource(client: DiscoveryClient, signal?: AbortSignal): Promise<EndpointSourceKind> {
  let group: APIGroup;
  try {
    group = await client.getRaw<APIGroup>('/apis/discovery.k8s.io', signal);
  } catch (err) {
    if (isApiNotFound(err)) return 'v1/Endpoints';
    throw err;
  }
  const versions = new Set((group.versions ?? []).map((v) => v.version));
  for (const version of ['v1', 'v1beta1'] as const) {
    if (!versions.has(version)) continue;
    let list: APIResourceList;
    try {
      list = await client.getRaw<APIResourceList>(`/apis/discovery.k8s.io/${version}`, signal);
    } catch (err) {
      if (isApiNotFound(err)) continue;
      throw err;
    }
    const r = list.resources?.find((x) => x.name === 'endpointslices');
    if (r && (!r.verbs || (r.verbs.includes('list') && r.verbs.includes('watch')))) return `discovery.k8s.io/${version}`;
  }
  return 'v1/Endpoints';
}

/** Running informers that feed a proxier. */
export interface ProxySources {
  /** The endpoint API in use. */
  readonly endpointSource: EndpointSourceKind;
  /** Resolves once both informers listed. */
  synced(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startProxySources}. */
export interface ProxySourcesOptions {
  client: KubeClient;
  proxier: Proxier;
  logger: Logger;
  clock: Clock;
  /** Discovery (a `RestClient`); when absent, `endpointSource` (default v1 slices) is used. */
  discovery?: DiscoveryClient;
  /** Force an endpoint API instead of asking discovery. */
  endpointSource?: EndpointSourceKind;
  /** Informer page size of the initial lists; default 2000. */
  pageSize?: number;
}

/** Drops what the proxy never reads, so the informer caches stay small at scale. */
function trim<T extends KubeObject>(obj: T): T {
  const m = obj.metadata as ({ managedFields?: unknown; annotations?: unknown } & object) | undefined;
  if (!m || (!m.managedFields && !m.annotations)) return obj;
  const { managedFields: _mf, annotations: _an, ...rest } = m as Record<string, unknown>;
  void _mf;
  void _an;
  return { ...obj, metadata: rest };
}

/**
 * Starts the Service and endpoint informers and wires them to `proxier`; calls
 * `proxier.onSynced()` once both have listed.
 */
export async function startProxySources(opts: ProxySourcesOptions): Promise<ProxySources> {
  const { client, proxier } = opts;
  const kind = opts.endpointSource ?? (opts.discovery ? await chooseEndpointSource(opts.discovery) : 'discovery.k8s.io/v1');
  opts.logger.info({ endpointSource: kind }, 'service proxy endpoint source chosen through discovery');
  const common = { logger: opts.logger, clock: opts.clock, freeze: false, pageSize: opts.pageSize ?? 2000 };
  const services = new Informer<Service>(client, Services, { ...common, labelSelector: SERVICE_LABEL_SELECTOR, transform: trim });
  services.addHandler({
    onAdd: (s) => proxier.onServiceUpsert(s),
    onUpdate: (_o, s) => proxier.onServiceUpsert(s),
    onDelete: (s) => proxier.onServiceDelete(s),
  });
  let endpoints: Informer<KubeObject>;
  if (kind === 'v1/Endpoints') {
    const inf = new Informer<CoreEndpoints>(client, Endpoints, { ...common, labelSelector: SLICE_LABEL_SELECTOR, transform: trim });
    inf.addHandler({
      onAdd: (e) => proxier.onEndpointsUpsert(e),
      onUpdate: (_o, e) => proxier.onEndpointsUpsert(e),
      onDelete: (e) => proxier.onEndpointsDelete(e),
    });
    endpoints = inf as unknown as Informer<KubeObject>;
  } else {
    const type: ResourceType = kind === 'discovery.k8s.io/v1' ? EndpointSlices : EndpointSlicesV1beta1;
    const inf = new Informer<EndpointSlice | (EndpointSliceV1beta1 & KubeObject)>(client, type, { ...common, labelSelector: SLICE_LABEL_SELECTOR, transform: trim });
    inf.addHandler({
      onAdd: (s) => proxier.onEndpointSliceUpsert(s),
      onUpdate: (_o, s) => proxier.onEndpointSliceUpsert(s),
      onDelete: (s) => proxier.onEndpointSliceDelete(s),
    });
    endpoints = inf as unknown as Informer<KubeObject>;
  }
  services.start();
  endpoints.start();
  const ac = new AbortController();
  const synced = Promise.all([services.waitForSync(ac.signal), endpoints.waitForSync(ac.signal)]).then(() => undefined);
  synced.then(
    () => proxier.onSynced(),
    (err: unknown) => opts.logger.debug({ err: errorMessage(err) }, 'proxy sources stopped before syncing'),
  );
  return {
    endpointSource: kind,
    synced: async (signal) => {
      if (!signal) return synced;
      await Promise.race([
        synced,
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      ]);
    },
    stop: async () => {
      ac.abort();
      await Promise.all([services.stop(), endpoints.stop()]);
    },
  };
}
