/**
 * Feeds the proxier from the apiserver: a Service informer and an EndpointSlice informer,
 * with kube-proxy's label filters (Services handled by another proxy, and headless ones,
 * are not even listed).
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { EndpointSlices, Informer, Services, type KubeClient } from '../../lib/kube/index.js';
import type { Proxier } from './index.js';

/** kube-proxy's Service list selector (pkg/proxy/apis/well_known_labels + headless). */
export const SERVICE_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';
/** kube-proxy's EndpointSlice selector: slices of headless Services carry this label. */
export const SLICE_LABEL_SELECTOR = '!service.kubernetes.io/headless';

/** Running informers that feed a proxier. */
export interface ProxySources {
  /** Resolves once both informers listed. */
  synced(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the Service and EndpointSlice informers and wires them to `proxier`. */
export function startProxySources(opts: { client: KubeClient; proxier: Proxier; logger: Logger; clock: Clock }): ProxySources {
  const { client, proxier } = opts;
  const services = new Informer<Service>(client, Services, { labelSelector: SERVICE_LABEL_SELECTOR, logger: opts.logger, clock: opts.clock });
  services.addHandler({
    onAdd: (s) => proxier.onServiceUpsert(s),
    onUpdate: (_o, s) => proxier.onServiceUpsert(s),
    onDelete: (s) => proxier.onServiceDelete(s),
  });
  const slices = new Informer<EndpointSlice>(client, EndpointSlices, { labelSelector: SLICE_LABEL_SELECTOR, logger: opts.logger, clock: opts.clock });
  slices.addHandler({
    onAdd: (s) => proxier.onEndpointSliceUpsert(s),
    onUpdate: (_o, s) => proxier.onEndpointSliceUpsert(s),
    onDelete: (s) => proxier.onEndpointSliceDelete(s),
  });
  services.start();
  slices.start();
  return {
    synced: async (signal) => {
      await Promise.all([services.waitForSync(signal), slices.waitForSync(signal)]);
    },
    stop: async () => {
      await Promise.all([services.stop(), slices.stop()]);
    },
  };
}
