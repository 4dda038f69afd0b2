/**
 * The EndpointSlice controller (kube's `pkg/controller/endpointslice`): for every Service with
 * a selector, the pods it selects become endpoints in `discovery.k8s.io/v1` EndpointSlices
 * owned by the Service (deleted by the garbage collector with it).
 *
 * ```
 *  Service / Pod / EndpointSlice events ──► service key ──► sync
 *     cache behind our own slice writes? ──► retry later
 *     pods ──► endpoints grouped by (address type, resolved ports) ──► reconcileSlices
 *     ──► create / update / delete slices (recorded in the tracker)
 * ```
 *
 * Deviations: no topology hints and no resync on node changes (an endpoint's `zone` is read
 * from its node when the Service syncs); the own-writes tracker compares resourceVersions
 * because the companion apiserver keeps no `metadata.generation` on EndpointSlices.
 */
import type { Node, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { errorMessage } from '../../../lib/errors.js';
import { objectKey, splitKey } from '../../../lib/kube/client.js';
import { isApiNotFound } from '../../../lib/kube/errors.js';
import type { Informer } from '../../../lib/kube/informer.js';
import { EndpointSlices, Nodes, Pods, Services } from '../../../lib/kube/resources.js';
import type { Logger } from '../../../lib/log.js';
import type { Controller, ControllerContext } from '../common/context.js';
import { findPort, lastChangeTriggerTime, podIPsOfFamily, podsSelectedBy, serviceAddressTypes, servicesSelectingPod, shouldPodBeInEndpoints, shouldSetHostname } from '../common/endpoint-util.js';
import { ControllerError, isNamespaceTerminating } from '../common/errors.js';
import { isPodReady } from '../common/pods.js';
import { QueueWorker, STALE_CACHE } from '../common/worker.js';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, endpointKey, portsKey, reconcileSlices, sortPorts, type EndpointGroup } from './reconciler.js';
import { SliceTracker } from './tracker.js';

/** Index name: managed slices by `namespace/service`. */
const BY_SERVICE = 'endpointslice-service';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** Options of {@link EndpointSliceController}. */
export interface EndpointSliceControllerOptions {
  /** `--max-endpoints-per-slice` (default 100). */
  maxEndpointsPerSlice?: number;
  /** `--concurrent-service-endpoint-syncs` (default 5). */
  workers?: number;
}

function endpointFingerprint(p: Pod): string {
  return JSON.stringify([
    p.status?.podIP,
    p.status?.podIPs,
    isPodReady(p),
    !!p.metadata?.deletionTimestamp,
    p.spec?.nodeName,
    p.spec?.hostname,
    p.spec?.subdomain,
    p.status?.phase,
    (p.spec?.containers ?? []).map((c) => c.ports),
  ]);
}

/** The Service's ports resolved on `pod` (ports the pod lacks are left out, as kube). */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp as ServicePort);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** Maintains the EndpointSlices of Services with selectors. */
export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly nodes: Informer<Node>;
  private readonly worker: QueueWorker;
  private readonly tracker = new SliceTracker();
  private readonly log: Logger;
  private readonly max: number;

  constructor(private readonly ctx: ControllerContext, opts: EndpointSliceControllerOptions = {}) {
    this.log = ctx.logger.child({ controller: this.name });
    this.max = opts.maxEndpointsPerSlice ?? 100;
    this.services = ctx.informers.informerFor<Service>(Services);
    this.pods = ctx.informers.informerFor<Pod>(Pods);
    this.slices = ctx.informers.informerFor<EndpointSlice>(EndpointSlices);
    this.nodes = ctx.informers.informerFor<Node>(Nodes);
    ctx.informers.ensureIndex<EndpointSlice>(EndpointSlices, BY_SERVICE, (s) => {
      const l = s.metadata?.labels ?? {};
      return l[LABEL_MANAGED_BY] === CONTROLLER_NAME && l[LABEL_SERVICE_NAME] ? [`${s.metadata?.namespace}/${l[LABEL_SERVICE_NAME]}`] : [];
    });
    this.worker = new QueueWorker({ clock: ctx.clock, logger: this.log, workers: opts.workers ?? 5, sync: (k) => this.sync(k) });
    this.services.addHandler({
      onAdd: (s) => this.worker.queue.add(objectKey(s)),
      onUpdate: (_o, s) => this.worker.queue.add(objectKey(s)),
      onDelete: (s) => this.worker.queue.add(objectKey(s)),
    });
    this.pods.addHandler({
      onAdd: (p) => this.enqueueFor(p),
      onUpdate: (o, p) => {
        if (JSON.stringify(o.metadata?.labels ?? {}) !== JSON.stringify(p.metadata?.labels ?? {})) {
          this.enqueueFor(o);
          this.enqueueFor(p);
        } else if (endpointFingerprint(o) !== endpointFingerprint(p)) {
          this.enqueueFor(p);
        }
      },
      onDelete: (p) => this.enqueueFor(p),
    });
    const onSlice = (s: EndpointSlice): void => {
      const l = s.metadata?.labels ?? {};
      if (l[LABEL_MANAGED_BY] !== CONTROLLER_NAME || !l[LABEL_SERVICE_NAME]) return;
      const key = `${s.metadata?.namespace}/${l[LABEL_SERVICE_NAME]}`;
      if (this.tracker.isOwnWrite(key, s)) return;
      this.worker.queue.add(key);
    };
    this.slices.addHandler({ onAdd: onSlice, onUpdate: (_o, s) => onSlice(s), onDelete: onSlice });
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

  private podToEndpoint(svc: Service, pod: Pod, addresses: string[]): Endpoint {
    const serving = isPodReady(pod);
    const terminating = !!pod.metadata?.deletionTimestamp;
    const ep: Endpoint = {
      addresses,
      conditions: { ready: !!svc.spec?.publishNotReadyAddresses || (serving && !terminating), serving, terminating },
      targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    };
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      ep.nodeName = nodeName;
      const zone = this.nodes.get(nodeName)?.metadata?.labels?.[ZONE_LABEL];
      if (zone) ep.zone = zone;
    }
    if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
    return ep;
  }

  private async sync(key: string): Promise<void> {
    const svc = this.services.get(key);
    if (!svc) {
      // The garbage collector deletes the slices through their owner reference.
      this.tracker.forget(key);
      return;
    }
    // kube leaves ExternalName Services and Services without selector alone.
    if (svc.spec?.type === 'ExternalName' || !svc.spec?.selector) return;
    const existing = this.slices.byIndex(BY_SERVICE, key).filter((s) => !s.metadata?.deletionTimestamp);
    if (this.tracker.stale(key, existing)) {
      throw new ControllerError(STALE_CACHE, `EndpointSlice informer cache is out of date for service ${key}`);
    }
    const { namespace } = splitKey(key);
    const pods = podsSelectedBy(this.pods, namespace ?? '', svc.spec.selector);
    const addressTypes = serviceAddressTypes(svc);
    const groups = new Map<string, EndpointGroup>();
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = sortPorts(endpointPorts(svc, pod));
      for (const at of addressTypes) {
        const addrs = podIPsOfFamily(pod, at);
        if (!addrs.length) continue;
        const gk = `${at}|${portsKey(ports)}`;
        let g = groups.get(gk);
        if (!g) {
          g = { addressType: at, ports, endpoints: new Map() };
          groups.set(gk, g);
        }
        const ep = this.podToEndpoint(svc, pod, addrs);
        g.endpoints.set(endpointKey(ep), ep);
      }
    }
    const res = reconcileSlices(svc, addressTypes, [...groups.values()], existing, this.max, lastChangeTriggerTime(svc, pods));
    await this.apply(key, res.create, res.update, res.delete);
  }

  private async apply(key: string, create: EndpointSlice[], update: EndpointSlice[], del: EndpointSlice[]): Promise<void> {
    const errors: unknown[] = [];
    for (const s of create) {
      try {
        this.tracker.wrote(key, await this.ctx.client.create<EndpointSlice>(EndpointSlices, s));
      } catch (err) {
        if (!isNamespaceTerminating(err)) errors.push(err);
      }
    }
    for (const s of update) {
      try {
        this.tracker.wrote(key, await this.ctx.client.update<EndpointSlice>(EndpointSlices, s));
      } catch (err) {
        errors.push(err);
      }
    }
    for (const s of del) {
      try {
        await this.ctx.client.delete(EndpointSlices, s.metadata?.namespace, s.metadata?.name ?? '');
        this.tracker.deleted(key, s.metadata?.name ?? '');
      } catch (err) {
        if (isApiNotFound(err)) this.tracker.deleted(key, s.metadata?.name ?? '');
        else errors.push(err);
      }
    }
    if (errors.length) {
      throw new ControllerError('SKIFF_ENDPOINTSLICE_SYNC', `syncing EndpointSlices of ${key}: ${errors.map(errorMessage).join('; ')}`, { cause: errors[0] });
    }
    if (create.length || update.length || del.length) {
      this.log.debug({ service: key, created: create.length, updated: update.length, deleted: del.length }, 'endpoint slices synced');
    }
  }
}
