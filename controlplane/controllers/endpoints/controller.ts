/**
 * The Endpoints controller (kube's `pkg/controller/endpoint`): a `core/v1` Endpoints object
 * named after each Service with a selector, listing the selected pods as ready or not-ready
 * addresses per port set. Endpoints of Services without a selector (the `kubernetes` Service
 * among them) are left to whoever writes them.
 *
 * Deviation: kube also deletes, at start, Endpoints left over from Services deleted while it
 * was down (`checkLeftoverEndpoints`); here they stay until their name is synced again.
 */
import type { Endpoints as EndpointsObj, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { objectKey, splitKey } from '../../../lib/kube/client.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { Endpoints, Pods, Services } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import {
  LABEL_HEADLESS,
  TRIGGER_TIME_ANNOTATION,
  findPort,
  lastChangeTriggerTime,
  podIPsOfFamily,
  podsSelectedBy,
  serviceAddressTypes,
  servicesSelectingPod,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  stableJson as stable,
} from '../common/endpoint-util.js';
import { isNamespaceTerminating } from '../common/errors.js';
import { isPodReady } from '../common/pods.js';
import { QueueWorker } from '../common/worker.js';
import { repackSubsets, type AddressPort } from './subsets.js';

export { TRIGGER_TIME_ANNOTATION };
/** Annotation 'endpoints.kubernetes.io/over-capacity'. */
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** kube's `maxCapacity`: addresses kept in one Endpoints object. */
const MAX_CAPACITY = 1000;

/** Subsets compared without the pods' resourceVersions. */
function subsetsEqual(a: unknown, b: unknown): boolean {
  const strip = (v: unknown): string => stable(JSON.parse(JSON.stringify(v ?? []), (k, x) => (k === 'resourceVersion' ? undefined : x)));
  return strip(a) === strip(b);
}

/** Keeps the first {@link MAX_CAPACITY} addresses (ready ones first); true when it cut. */
function truncate(ep: EndpointsObj): boolean {
  let total = 0;
  for (const s of ep.subsets ?? []) total += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (total <= MAX_CAPACITY) return false;
  let left = MAX_CAPACITY;
  for (const s of ep.subsets ?? []) {
    const take = (arr: NonNullable<typeof s.addresses> | undefined) => {
      if (!arr) return arr;
      const kept = arr.slice(0, Math.max(0, left));
      left -= kept.length;
      return kept.length ? kept : undefined;
    };
    s.addresses = take(s.addresses);
    s.notReadyAddresses = take(s.notReadyAddresses);
  }
  ep.subsets = (ep.subsets ?? []).filter((s) => s.addresses?.length || s.notReadyAddresses?.length);
  return true;
}

/** kube's `capacityAnnotationSetCorrectly`. */
function capacityAnnotationOk(ep: EndpointsObj): boolean {
  let n = 0;
  for (const s of ep.subsets ?? []) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (n > MAX_CAPACITY) return false;
  return ep.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] === undefined;
}

/** Maintains the Endpoints of Services with selectors. */
export class EndpointsController implements Controller {
  readonly name = 'endpoint';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<EndpointsObj>;
  private readonly worker: QueueWorker;
  private readonly log: Logger;

  constructor(private readonly ctx: ControllerContext, opts: { workers?: number } = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.services = ctx.informers.informerFor<Service>(Services);
    this.pods = ctx.informers.informerFor<Pod>(Pods);
    this.endpoints = ctx.informers.informerFor<EndpointsObj>(Endpoints);
    this.worker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: opts.workers ?? 5, sync: (k) => this.sync(k) });
    const enqueueSvc = (s: Service): void => this.worker.queue.add(objectKey(s));
    this.services.addHandler({ onAdd: enqueueSvc, onUpdate: (_o, s) => enqueueSvc(s), onDelete: enqueueSvc });
    this.pods.addHandler({
      onAdd: (p) => this.enqueueFor(p),
      onUpdate: (o, p) => {
        if (o.metadata?.resourceVersion === p.metadata?.resourceVersion) return;
        if (JSON.stringify(o.metadata?.labels ?? {}) !== JSON.stringify(p.metadata?.labels ?? {})) this.enqueueFor(o);
        this.enqueueFor(p);
      },
      onDelete: (p) => this.enqueueFor(p),
    });
    // Recreate Endpoints someone deleted.
    this.endpoints.addHandler({ onDelete: (e) => this.worker.queue.add(objectKey(e)) });
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private enqueueFor(pod: Pod): void {
    for (const svc of servicesSelectingPod(this.services, pod)) this.worker.queue.add(objectKey(svc));
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    if (!svc) {
      // The Service is gone: so are its Endpoints (only if we would have managed them; a
      // selector-less Service's Endpoints go with it all the same, as in kube).
      if (!this.endpoints.get(key)) return;
      try {
        await this.ctx.client.delete(Endpoints, namespace, name);
      } catch (err) {
        if (!isApiNotFound(err)) throw err;
      }
      return;
    }
    if (!svc.spec?.selector || svc.spec.type === 'ExternalName') return;
    const pods = podsSelectedBy(this.pods, namespace ?? '', svc.spec.selector);
    const tolerateUnready = !!svc.spec.publishNotReadyAddresses;
    const family = serviceAddressTypes(svc)[0];
    const headless = !svc.spec.clusterIP || svc.spec.clusterIP === 'None';
    const items: AddressPort[] = [];
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
      const ip = podIPsOfFamily(pod, family)[0];
      if (!ip) continue;
      const address: AddressPort['address'] = {
        ip,
        targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
      };
      if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
      if (shouldSetHostname(pod, svc)) address.hostname = pod.spec!.hostname;
      const ready = tolerateUnready || isPodReady(pod);
      const ports = svc.spec.ports ?? [];
      if (ports.length === 0 && svc.spec.clusterIP === 'None') {
        items.push({ address, ready });
        continue;
      }
      for (const sp of ports) {
        const port = findPort(pod, sp as ServicePort);
        if (port === undefined) continue;
        const epp: NonNullable<AddressPort['port']> = { port, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) epp.name = sp.name;
        if (sp.appProtocol) epp.appProtocol = sp.appProtocol;
        items.push({ address, ready, port: epp });
      }
    }
    const subsets = repackSubsets(items);
    const cur = this.endpoints.get(key);
    const compareLabels = { ...(cur?.metadata?.labels ?? {}) };
    delete compareLabels[LABEL_HEADLESS];
    if (cur && subsetsEqual(cur.subsets, subsets) && stable(compareLabels) === stable(svc.metadata?.labels ?? {}) && capacityAnnotationOk(cur)) return;

    const next: EndpointsObj = cur
      ? (structuredClone(cur) as EndpointsObj)
      : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
    next.subsets = subsets;
    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (headless) labels[LABEL_HEADLESS] = '';
    else delete labels[LABEL_HEADLESS];
    next.metadata = { ...next.metadata, labels };
    const annotations: Record<string, string> = { ...(next.metadata.annotations ?? {}) };
    const trigger = lastChangeTriggerTime(svc, pods);
    if (trigger) annotations[TRIGGER_TIME_ANNOTATION] = trigger;
    else delete annotations[TRIGGER_TIME_ANNOTATION];
    if (truncate(next)) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    next.metadata.annotations = annotations;
    try {
      if (cur) await this.ctx.client.update(Endpoints, next);
      else await this.ctx.client.create(Endpoints, next);
    } catch (err) {
      // The namespace is going away: nothing to keep up to date (as kube).
      if (isNamespaceTerminating(err)) return;
      throw err;
    }
  }
}
