/**
 * Top-level kinds served by the companion apiserver and their non-Pod types: Namespace,
 * Node, Service, Endpoints, ConfigMap, Secret, ServiceAccount, Event (core/v1), Deployment
 * and ReplicaSet (apps/v1), EndpointSlice (discovery.k8s.io/v1 and v1beta1), Lease
 * (coordination.k8s.io/v1). Struct tags from k8s.io/api 1.32.
 */
import './meta.js';
import './pod.js';
import {
  B, BYTES, I, IOS, MT, Q, S, T, atomicList, defineType, enumOf, mapOf, mergeList, ref, setList,
} from './types.js';

const PROTOCOL = enumOf('TCP', 'UDP', 'SCTP');

function kind(name: string, fields: Parameters<typeof defineType>[1]): void {
  defineType(name, { apiVersion: S, kind: S, metadata: ref('ObjectMeta'), ...fields });
}

// ---- core/v1 ---------------------------------------------------------------------------

kind('Pod', { spec: ref('PodSpec'), status: ref('PodStatus') });

kind('Namespace', { spec: ref('NamespaceSpec'), status: ref('NamespaceStatus') });
defineType('NamespaceSpec', { finalizers: atomicList(S) });
defineType('NamespaceStatus', {
  phase: enumOf('Active', 'Terminating'),
  conditions: mergeList(ref('NamespaceCondition'), 'type'),
});
defineType('NamespaceCondition', { type: S, status: S, lastTransitionTime: T, reason: S, message: S });

kind('Node', { spec: ref('NodeSpec'), status: ref('NodeStatus') });
defineType('NodeSpec', {
  podCIDR: S,
  podCIDRs: setList(),
  providerID: S,
  unschedulable: B,
  taints: atomicList(ref('Taint')),
  configSource: ref('NodeConfigSource'),
  externalID: S,
});
defineType('Taint', { key: S, value: S, effect: enumOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'), timeAdded: T });
defineType('NodeConfigSource', { configMap: ref('ConfigMapNodeConfigSource') });
defineType('ConfigMapNodeConfigSource', { namespace: S, name: S, uid: S, resourceVersion: S, kubeletConfigKey: S });
defineType('NodeStatus', {
  capacity: mapOf(Q),
  allocatable: mapOf(Q),
  phase: S,
  conditions: mergeList(ref('NodeCondition'), 'type'),
  addresses: mergeList(ref('NodeAddress'), 'type'),
  daemonEndpoints: ref('NodeDaemonEndpoints'),
  nodeInfo: ref('NodeSystemInfo'),
  images: atomicList(ref('ContainerImage')),
  volumesInUse: atomicList(S),
  volumesAttached: atomicList(ref('AttachedVolume')),
  config: ref('NodeConfigStatus'),
  runtimeHandlers: atomicList(ref('NodeRuntimeHandler')),
  features: ref('NodeFeatures'),
});
defineType('NodeCondition', {
  type: S,
  status: enumOf('True', 'False', 'Unknown'),
  lastHeartbeatTime: T,
  lastTransitionTime: T,
  reason: S,
  message: S,
});
defineType('NodeAddress', { type: S, address: S });
defineType('NodeDaemonEndpoints', { kubeletEndpoint: ref('DaemonEndpoint') });
defineType('DaemonEndpoint', { Port: I });
defineType('NodeSystemInfo', {
  machineID: S,
  systemUUID: S,
  bootID: S,
  kernelVersion: S,
  osImage: S,
  containerRuntimeVersion: S,
  kubeletVersion: S,
  kubeProxyVersion: S,
  operatingSystem: S,
  architecture: S,
});
defineType('ContainerImage', { names: atomicList(S), sizeBytes: I });
defineType('AttachedVolume', { name: S, devicePath: S });
defineType('NodeConfigStatus', {
  assigned: ref('NodeConfigSource'),
  active: ref('NodeConfigSource'),
  lastKnownGood: ref('NodeConfigSource'),
  error: S,
});
defineType('NodeRuntimeHandler', { name: S, features: ref('NodeRuntimeHandlerFeatures') });
defineType('NodeRuntimeHandlerFeatures', { recursiveReadOnlyMounts: B, userNamespaces: B });
defineType('NodeFeatures', { supplementalGroupsPolicy: B });

kind('Service', { spec: ref('ServiceSpec'), status: ref('ServiceStatus') });
defineType('ServiceSpec', {
  // `patchStrategy:"merge" patchMergeKey:"port"`, listMapKeys port+protocol.
  ports: mergeList(ref('ServicePort'), 'port', { listMapKeys: ['port', 'protocol'] }),
  selector: mapOf(),
  clusterIP: S,
  clusterIPs: atomicList(S),
  type: enumOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
  externalIPs: atomicList(S),
  sessionAffinity: enumOf('ClientIP', 'None'),
  loadBalancerIP: S,
  loadBalancerSourceRanges: atomicList(S),
  externalName: S,
  externalTrafficPolicy: enumOf('Cluster', 'Local'),
  healthCheckNodePort: I,
  publishNotReadyAddresses: B,
  sessionAffinityConfig: ref('SessionAffinityConfig'),
  ipFamilies: atomicList(S),
  ipFamilyPolicy: enumOf('SingleStack', 'PreferDualStack', 'RequireDualStack'),
  allocateLoadBalancerNodePorts: B,
  loadBalancerClass: S,
  internalTrafficPolicy: enumOf('Cluster', 'Local'),
  trafficDistribution: S,
});
defineType('ServicePort', { name: S, protocol: PROTOCOL, appProtocol: S, port: I, targetPort: IOS, nodePort: I });
defineType('SessionAffinityConfig', { clientIP: ref('ClientIPConfig') });
defineType('ClientIPConfig', { timeoutSeconds: I });
defineType('ServiceStatus', {
  loadBalancer: ref('LoadBalancerStatus'),
  conditions: mergeList(ref('Condition'), 'type'),
});
defineType('LoadBalancerStatus', { ingress: atomicList(ref('LoadBalancerIngress')) });
defineType('LoadBalancerIngress', { ip: S, hostname: S, ipMode: S, ports: atomicList(ref('PortStatus')) });
defineType('PortStatus', { port: I, protocol: S, error: S });

kind('Endpoints', { subsets: atomicList(ref('EndpointSubset')) });
defineType('EndpointSubset', {
  addresses: atomicList(ref('EndpointAddress')),
  notReadyAddresses: atomicList(ref('EndpointAddress')),
  ports: atomicList(ref('EndpointPort')),
});
defineType('EndpointAddress', { ip: S, hostname: S, nodeName: S, targetRef: ref('ObjectReference') });
defineType('EndpointPort', { name: S, port: I, protocol: PROTOCOL, appProtocol: S });

kind('ConfigMap', { immutable: B, data: mapOf(), binaryData: mapOf(BYTES) });
kind('Secret', { immutable: B, data: mapOf(BYTES), stringData: mapOf(), type: S });
kind('ServiceAccount', {
  secrets: mergeList(ref('ObjectReference'), 'name'),
  imagePullSecrets: atomicList(ref('LocalObjectReference')),
  automountServiceAccountToken: B,
});

kind('Event', {
  involvedObject: ref('ObjectReference'),
  reason: S,
  message: S,
  source: ref('EventSource'),
  firstTimestamp: T,
  lastTimestamp: T,
  count: I,
  type: S,
  eventTime: MT,
  series: ref('EventSeries'),
  action: S,
  related: ref('ObjectReference'),
  reportingComponent: S,
  reportingInstance: S,
});
defineType('EventSource', { component: S, host: S });
defineType('EventSeries', { count: I, lastObservedTime: MT });

// ---- apps/v1 ---------------------------------------------------------------------------

kind('Deployment', { spec: ref('DeploymentSpec'), status: ref('DeploymentStatus') });
defineType('DeploymentSpec', {
  replicas: I,
  selector: ref('LabelSelector'),
  template: ref('PodTemplateSpec'),
  // `patchStrategy:"retainKeys"`.
  strategy: { type: ref('DeploymentStrategy'), patchStrategy: 'retainKeys' },
  minReadySeconds: I,
  revisionHistoryLimit: I,
  paused: B,
  progressDeadlineSeconds: I,
});
defineType('DeploymentStrategy', { type: enumOf('Recreate', 'RollingUpdate'), rollingUpdate: ref('RollingUpdateDeployment') });
defineType('RollingUpdateDeployment', { maxUnavailable: IOS, maxSurge: IOS });
defineType('DeploymentStatus', {
  observedGeneration: I,
  replicas: I,
  updatedReplicas: I,
  readyReplicas: I,
  availableReplicas: I,
  unavailableReplicas: I,
  terminatingReplicas: I,
  conditions: mergeList(ref('DeploymentCondition'), 'type'),
  collisionCount: I,
});
defineType('DeploymentCondition', {
  type: S,
  status: enumOf('True', 'False', 'Unknown'),
  lastUpdateTime: T,
  lastTransitionTime: T,
  reason: S,
  message: S,
});

kind('ReplicaSet', { spec: ref('ReplicaSetSpec'), status: ref('ReplicaSetStatus') });
defineType('ReplicaSetSpec', { replicas: I, minReadySeconds: I, selector: ref('LabelSelector'), template: ref('PodTemplateSpec') });
defineType('ReplicaSetStatus', {
  replicas: I,
  fullyLabeledReplicas: I,
  readyReplicas: I,
  availableReplicas: I,
  terminatingReplicas: I,
  observedGeneration: I,
  conditions: mergeList(ref('ReplicaSetCondition'), 'type'),
});
defineType('ReplicaSetCondition', { type: S, status: enumOf('True', 'False', 'Unknown'), lastTransitionTime: T, reason: S, message: S });

// ---- discovery.k8s.io ------------------------------------------------------------------

const ADDRESS_TYPE = enumOf('IPv4', 'IPv6', 'FQDN');
kind('EndpointSlice', {
  addressType: ADDRESS_TYPE,
  endpoints: atomicList(ref('Endpoint')),
  ports: atomicList(ref('EndpointSlicePort')),
});
defineType('Endpoint', {
  addresses: setList(),
  conditions: ref('EndpointConditions'),
  hostname: S,
  targetRef: ref('ObjectReference'),
  deprecatedTopology: mapOf(),
  nodeName: S,
  zone: S,
  hints: ref('EndpointHints'),
});
defineType('EndpointConditions', { ready: B, serving: B, terminating: B });
defineType('EndpointHints', { forZones: atomicList(ref('ForZone')), forNodes: atomicList(ref('ForNode')) });
defineType('ForZone', { name: S });
defineType('ForNode', { name: S });
defineType('EndpointSlicePort', { name: S, protocol: PROTOCOL, port: I, appProtocol: S });

/** discovery.k8s.io/v1beta1 (Kubernetes 1.20): `topology` instead of `deprecatedTopology`/`zone`. */
kind('EndpointSlice.v1beta1', {
  addressType: ADDRESS_TYPE,
  endpoints: atomicList(ref('Endpoint.v1beta1')),
  ports: atomicList(ref('EndpointSlicePort')),
});
defineType('Endpoint.v1beta1', {
  addresses: setList(),
  conditions: ref('EndpointConditions'),
  hostname: S,
  targetRef: ref('ObjectReference'),
  topology: mapOf(),
  nodeName: S,
  hints: ref('EndpointHints'),
});

// ---- coordination.k8s.io ---------------------------------------------------------------

kind('Lease', { spec: ref('LeaseSpec') });
defineType('LeaseSpec', {
  holderIdentity: S,
  leaseDurationSeconds: I,
  acquireTime: MT,
  renewTime: MT,
  leaseTransitions: I,
  strategy: S,
  preferredHolder: S,
});
