/**
 * kube-apiserver 1.32's defaulting (the `SetDefaults_*` functions of k8s.io/kubernetes
 * pkg/apis/{core,apps,discovery}/v1), plus what the admission plugins every cluster runs add
 * on create (ServiceAccount, Priority, DefaultTolerationSeconds) and what the pod strategy
 * sets on create (phase Pending, QoS class). Defaults are applied in place.
 */
import type {
  Container, EphemeralContainer, PodSpec, Pod, Probe, Service, Volume, Toleration,
  ResourceRequirements, Namespace, Secret, Endpoints, Node, Event,
} from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { computePodQos, type QOSClass } from '../../lib/kube/qos.js';
import { parseQuantity } from './quantity.js';

/** Options of {@link applyDefaults}. */
export interface DefaultsOptions {
  /**
   * `create` (the default) also applies what admission and the create strategy add
   * (service account, priority, default tolerations, `status.phase`, `status.qosClass`);
   * `update` applies only the API defaults, as kube-apiserver does on update.
   */
  operation?: 'create' | 'update';
}

type Loose = Record<string, unknown>;

const DEFAULT_MODE = 420; // 0644

/**
 * The image pull policy kube defaults to: `Always` for `:latest` or an untagged image
 * without a digest, `IfNotPresent` otherwise.
 */
export function defaultImagePullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  if (!image) return 'Always';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHandler(p as Loose);
}

function defaultHandler(h: Loose | undefined): void {
  if (!h) return;
  const http = h.httpGet as Loose | undefined;
  if (http) {
    if (!http.path) http.path = '/';
    http.scheme ??= 'HTTP';
  }
  const grpc = h.grpc as Loose | undefined;
  if (grpc) grpc.service ??= '';
}

function defaultFieldRef(fr: Loose | undefined): void {
  if (fr && !fr.apiVersion) fr.apiVersion = 'v1';
}

function defaultResourceFieldRef(rf: Loose | undefined): void {
  // `divisor` is a non-pointer Quantity upstream, so it always serializes ("0" when unset).
  if (rf && rf.divisor === undefined) rf.divisor = '0';
}

function defaultContainer(c: Container | EphemeralContainer): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= defaultImagePullPolicy(c.image);
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  for (const e of c.env ?? []) {
    defaultFieldRef(e.valueFrom?.fieldRef as Loose | undefined);
    defaultResourceFieldRef(e.valueFrom?.resourceFieldRef as Loose | undefined);
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart as Loose | undefined);
  defaultHandler(c.lifecycle?.preStop as Loose | undefined);
}

const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'nfs', 'downwardAPI', 'projected', 'ephemeral',
  'csi', 'image', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'iscsi', 'glusterfs', 'rbd', 'flexVolume',
  'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'portworxVolume', 'scaleIO', 'storageos',
];

function defaultVolume(v: Volume): void {
  const lv = v as unknown as Loose;
  if (!VOLUME_SOURCES.some((s) => lv[s] !== undefined && lv[s] !== null)) v.emptyDir = {};
  if (v.secret) v.secret.defaultMode ??= DEFAULT_MODE;
  if (v.configMap) v.configMap.defaultMode ??= DEFAULT_MODE;
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= DEFAULT_MODE;
    for (const i of v.downwardAPI.items ?? []) {
      defaultFieldRef(i.fieldRef as Loose | undefined);
      defaultResourceFieldRef(i.resourceFieldRef as Loose | undefined);
    }
  }
  if (v.projected) {
    v.projected.defaultMode ??= DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) s.serviceAccountToken.expirationSeconds ??= 3600;
      for (const i of s.downwardAPI?.items ?? []) {
        defaultFieldRef(i.fieldRef as Loose | undefined);
        defaultResourceFieldRef(i.resourceFieldRef as Loose | undefined);
      }
    }
  }
  if (v.hostPath) v.hostPath.type ??= '';
  if (v.iscsi) {
    v.iscsi.iscsiInterface ??= 'default';
  }
}

/** `SetDefaults_PodSpec` and the per-field defaults below it (containers, volumes, probes). */
export function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!spec) return;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.restartPolicy ??= 'Always';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  if (spec.hostNetwork) {
    // `defaultHostNetworkPorts`: hostPort mirrors containerPort on the host network.
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const p of c.ports ?? []) if (p.hostPort === undefined || p.hostPort === 0) p.hostPort = p.containerPort;
    }
  }
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

function copyLimitsToRequests(r: ResourceRequirements | undefined): void {
  if (!r?.limits) return;
  const requests = (r.requests ??= {});
  for (const [k, v] of Object.entries(r.limits)) if (requests[k] === undefined) requests[k] = v;
}

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

function tolerates(ts: Toleration[], key: string): boolean {
  return ts.some((t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (t.effect === 'NoExecute' || !t.effect));
}

/**
 * The QoS class of a pod, as `qos.GetPodQOS` computes it: `Guaranteed` when every container
 * has cpu and memory limits equal to its requests, `BestEffort` when no container has any
 * cpu/memory request or limit, `Burstable` otherwise. Quantities are compared as parsed (no
 * rounding to millicores or bytes); a malformed one counts as 0.
 */
export function computeQosClass(pod: Pod): QOSClass {
  return computePodQos(pod, (_name, q) => parseQuantity(q) ?? 0);
}

function defaultPod(pod: Pod, create: boolean): void {
  const spec = (pod.spec ??= { containers: [] });
  // SetDefaults_Pod: requests default to limits, per container.
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    if (c.resources?.limits) copyLimitsToRequests(c.resources);
  }
  spec.enableServiceLinks ??= true;
  defaultPodSpec(spec);
  if (!create) return;
  // ServiceAccount admission: the `default` service account. Deviation: Skiff does not
  // auto-mount a service-account token volume (`kube-api-access-*`) into the pod.
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
  // The deprecated `serviceAccount` field mirrors serviceAccountName (conversion does this).
  spec.serviceAccount = spec.serviceAccountName;
  // Priority admission: no priorityClassName → priority 0 and the default preemption policy.
  if (!spec.priorityClassName) spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  // DefaultTolerationSeconds admission.
  const ts = (spec.tolerations ??= []);
  if (!tolerates(ts, NOT_READY)) ts.push({ key: NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  if (!tolerates(ts, UNREACHABLE)) ts.push({ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  // Pod strategy PrepareForCreate: a fresh status, with the QoS class.
  (pod as Loose).status = { phase: 'Pending', qosClass: computeQosClass(pod) };
}

function defaultTemplate(t: { spec?: PodSpec } | undefined): void {
  // Deviation: kube also prints `metadata.creationTimestamp: null` in templates; we don't.
  if (t) defaultPodSpec(t.spec);
}

function defaultDeployment(d: Deployment): void {
  const spec = (d.spec ??= { selector: {}, template: {} });
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {});
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = (strategy.rollingUpdate ??= {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec.template);
}

function defaultReplicaSet(rs: ReplicaSet): void {
  const spec = (rs.spec ??= { selector: {} });
  spec.replicas ??= 1;
  defaultTemplate(spec.template);
}

function defaultService(svc: Service): void {
  const spec = (svc.spec ??= {});
  spec.sessionAffinity ??= 'None';
  spec.type ??= 'ClusterIP';
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = (spec.sessionAffinityConfig ??= {});
    const cip = (cfg.clientIP ??= {});
    cip.timeoutSeconds ??= 10800;
  }
  (svc as Loose).status ??= { loadBalancer: {} };
}

function defaultNamespace(ns: Namespace, create: boolean): void {
  // SetDefaults_Namespace: the immutable `kubernetes.io/metadata.name` label.
  const meta = (ns.metadata ??= {});
  if (meta.name) (meta.labels ??= {})['kubernetes.io/metadata.name'] = meta.name;
  if (create) {
    ns.spec ??= {};
    ns.spec.finalizers ??= ['kubernetes'];
  }
  const status = ((ns as Loose).status ??= {}) as Loose;
  status.phase ??= 'Active';
}

function defaultEndpointSlice(es: EndpointSlice): void {
  for (const p of es.ports ?? []) {
    p.protocol ??= 'TCP';
    p.name ??= '';
  }
}

function defaultEndpoints(ep: Endpoints): void {
  for (const s of ep.subsets ?? []) for (const p of s.ports ?? []) p.protocol ??= 'TCP';
}

function defaultNode(n: Node): void {
  // SetDefaults_NodeStatus: allocatable defaults to capacity.
  const st = (n as Loose).status as Loose | undefined;
  if (st?.capacity && !st.allocatable) st.allocatable = { ...(st.capacity as Record<string, string>) };
}

function defaultEvent(e: Event): void {
  // Non-omitempty fields of core/v1 Event, as kube-apiserver serializes them.
  const le = e as unknown as Loose;
  le.involvedObject ??= {};
  le.source ??= {};
  if (le.firstTimestamp === undefined) le.firstTimestamp = null;
  if (le.lastTimestamp === undefined) le.lastTimestamp = null;
  if (le.eventTime === undefined) le.eventTime = null;
  le.reportingComponent ??= '';
  le.reportingInstance ??= '';
}

/**
 * Applies kube-apiserver's defaults for `type` to `obj`, in place (as decoding does), plus,
 * on create, what admission and the create strategy add (see {@link DefaultsOptions}).
 */
export function applyDefaults(type: ResourceType, obj: KubeObject, opts: DefaultsOptions = {}): void {
  const create = (opts.operation ?? 'create') === 'create';
  switch (`${type.group}/${type.kind}`) {
    case '/Pod':
      defaultPod(obj as Pod, create);
      break;
    case 'apps/Deployment':
      defaultDeployment(obj as Deployment);
      break;
    case 'apps/ReplicaSet':
      defaultReplicaSet(obj as ReplicaSet);
      break;
    case '/Service':
      defaultService(obj as Service);
      break;
    case '/Namespace':
      defaultNamespace(obj as Namespace, create);
      break;
    case '/Secret':
      (obj as Secret).type ??= 'Opaque';
      break;
    case 'discovery.k8s.io/EndpointSlice':
      defaultEndpointSlice(obj as EndpointSlice);
      break;
    case '/Endpoints':
      defaultEndpoints(obj as Endpoints);
      break;
    case '/Node':
      defaultNode(obj as Node);
      break;
    case '/Event':
      defaultEvent(obj as Event);
      break;
    default:
      break;
  }
}
