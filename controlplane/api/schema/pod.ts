/**
 * core/v1 Pod types: PodSpec, Container and everything they hold, PodStatus, Volume and its
 * common sources. Patch strategies and merge keys follow the struct tags of
 * k8s.io/api/core/v1/types.go (Kubernetes 1.32).
 *
 * Deviation: volume sources for cloud and legacy in-tree drivers (gcePersistentDisk, rbd,
 * iscsi, …) are free-form here, so unknown fields inside them are not detected.
 */
import {
  B, FREE, I, IOS, Q, S, T, atomicList, defineType, enumOf, list, mapOf, mergeList, ref,
} from './types.js';

const PROTOCOL = enumOf('TCP', 'UDP', 'SCTP');

// ---- containers ----------------------------------------------------------------------

const containerFields = {
  name: S,
  image: S,
  command: atomicList(S),
  args: atomicList(S),
  workingDir: S,
  // `patchStrategy:"merge" patchMergeKey:"containerPort"`, listMapKeys containerPort+protocol.
  ports: mergeList(ref('ContainerPort'), 'containerPort', { listMapKeys: ['containerPort', 'protocol'] }),
  envFrom: atomicList(ref('EnvFromSource')),
  env: mergeList(ref('EnvVar'), 'name'),
  resources: ref('ResourceRequirements'),
  resizePolicy: atomicList(ref('ContainerResizePolicy')),
  restartPolicy: S,
  volumeMounts: mergeList(ref('VolumeMount'), 'mountPath'),
  volumeDevices: mergeList(ref('VolumeDevice'), 'devicePath'),
  livenessProbe: ref('Probe'),
  readinessProbe: ref('Probe'),
  startupProbe: ref('Probe'),
  lifecycle: ref('Lifecycle'),
  terminationMessagePath: S,
  terminationMessagePolicy: enumOf('File', 'FallbackToLogsOnError'),
  imagePullPolicy: enumOf('Always', 'Never', 'IfNotPresent'),
  securityContext: ref('SecurityContext'),
  stdin: B,
  stdinOnce: B,
  tty: B,
};

defineType('Container', containerFields);
defineType('EphemeralContainer', { ...containerFields, targetContainerName: S });

defineType('ContainerPort', {
  name: S,
  hostPort: I,
  containerPort: I,
  protocol: PROTOCOL,
  hostIP: S,
});

defineType('EnvVar', { name: S, value: S, valueFrom: ref('EnvVarSource') });
defineType('EnvVarSource', {
  fieldRef: ref('ObjectFieldSelector'),
  resourceFieldRef: ref('ResourceFieldSelector'),
  configMapKeyRef: ref('ConfigMapKeySelector'),
  secretKeyRef: ref('SecretKeySelector'),
});
defineType('ObjectFieldSelector', { apiVersion: S, fieldPath: S });
defineType('ResourceFieldSelector', { containerName: S, resource: S, divisor: Q });
defineType('ConfigMapKeySelector', { name: S, key: S, optional: B });
defineType('SecretKeySelector', { name: S, key: S, optional: B });
defineType('EnvFromSource', { prefix: S, configMapRef: ref('ConfigMapEnvSource'), secretRef: ref('SecretEnvSource') });
defineType('ConfigMapEnvSource', { name: S, optional: B });
defineType('SecretEnvSource', { name: S, optional: B });

defineType('ResourceRequirements', {
  limits: mapOf(Q),
  requests: mapOf(Q),
  claims: { type: list(ref('ResourceClaim')), listType: 'map', listMapKeys: ['name'] },
});
defineType('ResourceClaim', { name: S, request: S });
defineType('ContainerResizePolicy', { resourceName: S, restartPolicy: S });

defineType('VolumeMount', {
  name: S,
  readOnly: B,
  recursiveReadOnly: S,
  mountPath: S,
  subPath: S,
  mountPropagation: S,
  subPathExpr: S,
});
defineType('VolumeDevice', { name: S, devicePath: S });

// ---- probes and lifecycle --------------------------------------------------------------

const handlerFields = {
  exec: ref('ExecAction'),
  httpGet: ref('HTTPGetAction'),
  tcpSocket: ref('TCPSocketAction'),
};
defineType('Probe', {
  ...handlerFields,
  grpc: ref('GRPCAction'),
  initialDelaySeconds: I,
  timeoutSeconds: I,
  periodSeconds: I,
  successThreshold: I,
  failureThreshold: I,
  terminationGracePeriodSeconds: I,
});
defineType('LifecycleHandler', { ...handlerFields, sleep: ref('SleepAction') });
defineType('Lifecycle', { postStart: ref('LifecycleHandler'), preStop: ref('LifecycleHandler') });
defineType('ExecAction', { command: atomicList(S) });
defineType('HTTPGetAction', {
  path: S,
  port: IOS,
  host: S,
  scheme: enumOf('HTTP', 'HTTPS'),
  httpHeaders: atomicList(ref('HTTPHeader')),
});
defineType('HTTPHeader', { name: S, value: S });
defineType('TCPSocketAction', { port: IOS, host: S });
defineType('GRPCAction', { port: I, service: S });
defineType('SleepAction', { seconds: I });

// ---- security --------------------------------------------------------------------------

defineType('SecurityContext', {
  capabilities: ref('Capabilities'),
  privileged: B,
  seLinuxOptions: ref('SELinuxOptions'),
  windowsOptions: ref('WindowsSecurityContextOptions'),
  runAsUser: I,
  runAsGroup: I,
  runAsNonRoot: B,
  readOnlyRootFilesystem: B,
  allowPrivilegeEscalation: B,
  procMount: S,
  seccompProfile: ref('SeccompProfile'),
  appArmorProfile: ref('AppArmorProfile'),
});
defineType('Capabilities', { add: atomicList(S), drop: atomicList(S) });
defineType('SELinuxOptions', { user: S, role: S, type: S, level: S });
defineType('WindowsSecurityContextOptions', { gmsaCredentialSpecName: S, gmsaCredentialSpec: S, runAsUserName: S, hostProcess: B });
defineType('SeccompProfile', { type: enumOf('Localhost', 'RuntimeDefault', 'Unconfined'), localhostProfile: S });
defineType('AppArmorProfile', { type: enumOf('Localhost', 'RuntimeDefault', 'Unconfined'), localhostProfile: S });
defineType('PodSecurityContext', {
  seLinuxOptions: ref('SELinuxOptions'),
  windowsOptions: ref('WindowsSecurityContextOptions'),
  runAsUser: I,
  runAsGroup: I,
  runAsNonRoot: B,
  supplementalGroups: atomicList(I),
  supplementalGroupsPolicy: S,
  fsGroup: I,
  sysctls: atomicList(ref('Sysctl')),
  fsGroupChangePolicy: S,
  seccompProfile: ref('SeccompProfile'),
  appArmorProfile: ref('AppArmorProfile'),
  seLinuxChangePolicy: S,
});
defineType('Sysctl', { name: S, value: S });

// ---- scheduling ------------------------------------------------------------------------

defineType('Affinity', {
  nodeAffinity: ref('NodeAffinity'),
  podAffinity: ref('PodAffinity'),
  podAntiAffinity: ref('PodAntiAffinity'),
});
defineType('NodeAffinity', {
  requiredDuringSchedulingIgnoredDuringExecution: ref('NodeSelector'),
  preferredDuringSchedulingIgnoredDuringExecution: atomicList(ref('PreferredSchedulingTerm')),
});
defineType('NodeSelector', { nodeSelectorTerms: atomicList(ref('NodeSelectorTerm')) });
defineType('NodeSelectorTerm', {
  matchExpressions: atomicList(ref('NodeSelectorRequirement')),
  matchFields: atomicList(ref('NodeSelectorRequirement')),
});
defineType('NodeSelectorRequirement', {
  key: S,
  operator: enumOf('In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'),
  values: atomicList(S),
});
defineType('PreferredSchedulingTerm', { weight: I, preference: ref('NodeSelectorTerm') });
const podAffinityFields = {
  requiredDuringSchedulingIgnoredDuringExecution: atomicList(ref('PodAffinityTerm')),
  preferredDuringSchedulingIgnoredDuringExecution: atomicList(ref('WeightedPodAffinityTerm')),
};
defineType('PodAffinity', podAffinityFields);
defineType('PodAntiAffinity', podAffinityFields);
defineType('PodAffinityTerm', {
  labelSelector: ref('LabelSelector'),
  namespaces: atomicList(S),
  topologyKey: S,
  namespaceSelector: ref('LabelSelector'),
  matchLabelKeys: atomicList(S),
  mismatchLabelKeys: atomicList(S),
});
defineType('WeightedPodAffinityTerm', { weight: I, podAffinityTerm: ref('PodAffinityTerm') });

defineType('Toleration', {
  key: S,
  operator: enumOf('Exists', 'Equal'),
  value: S,
  effect: enumOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'),
  tolerationSeconds: I,
});
defineType('TopologySpreadConstraint', {
  maxSkew: I,
  topologyKey: S,
  whenUnsatisfiable: enumOf('DoNotSchedule', 'ScheduleAnyway'),
  labelSelector: ref('LabelSelector'),
  minDomains: I,
  nodeAffinityPolicy: S,
  nodeTaintsPolicy: S,
  matchLabelKeys: atomicList(S),
});
defineType('HostAlias', { ip: S, hostnames: atomicList(S) });
defineType('PodDNSConfig', { nameservers: atomicList(S), searches: atomicList(S), options: atomicList(ref('PodDNSConfigOption')) });
defineType('PodDNSConfigOption', { name: S, value: S });
defineType('PodReadinessGate', { conditionType: S });
defineType('PodOS', { name: S });
defineType('PodSchedulingGate', { name: S });
defineType('PodResourceClaim', { name: S, resourceClaimName: S, resourceClaimTemplateName: S });

// ---- the pod ---------------------------------------------------------------------------

defineType('PodSpec', {
  volumes: mergeList(ref('Volume'), 'name', { retainKeys: true }),
  initContainers: mergeList(ref('Container'), 'name'),
  containers: mergeList(ref('Container'), 'name'),
  ephemeralContainers: mergeList(ref('EphemeralContainer'), 'name'),
  restartPolicy: enumOf('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: I,
  activeDeadlineSeconds: I,
  dnsPolicy: enumOf('ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'),
  nodeSelector: mapOf(),
  serviceAccountName: S,
  serviceAccount: S,
  automountServiceAccountToken: B,
  nodeName: S,
  hostNetwork: B,
  hostPID: B,
  hostIPC: B,
  shareProcessNamespace: B,
  securityContext: ref('PodSecurityContext'),
  imagePullSecrets: mergeList(ref('LocalObjectReference'), 'name'),
  hostname: S,
  subdomain: S,
  affinity: ref('Affinity'),
  schedulerName: S,
  tolerations: atomicList(ref('Toleration')),
  hostAliases: mergeList(ref('HostAlias'), 'ip'),
  priorityClassName: S,
  priority: I,
  dnsConfig: ref('PodDNSConfig'),
  readinessGates: atomicList(ref('PodReadinessGate')),
  runtimeClassName: S,
  enableServiceLinks: B,
  preemptionPolicy: enumOf('PreemptLowerPriority', 'Never'),
  overhead: mapOf(Q),
  topologySpreadConstraints: mergeList(ref('TopologySpreadConstraint'), 'topologyKey', {
    listMapKeys: ['topologyKey', 'whenUnsatisfiable'],
  }),
  setHostnameAsFQDN: B,
  os: ref('PodOS'),
  hostUsers: B,
  schedulingGates: mergeList(ref('PodSchedulingGate'), 'name'),
  resourceClaims: mergeList(ref('PodResourceClaim'), 'name', { retainKeys: true }),
  resources: ref('ResourceRequirements'),
});

defineType('PodTemplateSpec', { metadata: ref('ObjectMeta'), spec: ref('PodSpec') });

defineType('PodStatus', {
  phase: enumOf('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'),
  conditions: mergeList(ref('PodCondition'), 'type'),
  message: S,
  reason: S,
  nominatedNodeName: S,
  hostIP: S,
  hostIPs: mergeList(ref('HostIP'), 'ip'),
  podIP: S,
  podIPs: mergeList(ref('PodIP'), 'ip'),
  startTime: T,
  initContainerStatuses: atomicList(ref('ContainerStatus')),
  containerStatuses: atomicList(ref('ContainerStatus')),
  qosClass: enumOf('Guaranteed', 'Burstable', 'BestEffort'),
  ephemeralContainerStatuses: atomicList(ref('ContainerStatus')),
  resize: S,
  resourceClaimStatuses: mergeList(ref('PodResourceClaimStatus'), 'name', { retainKeys: true }),
});
defineType('PodCondition', {
  type: S,
  status: enumOf('True', 'False', 'Unknown'),
  lastProbeTime: T,
  lastTransitionTime: T,
  reason: S,
  message: S,
});
defineType('HostIP', { ip: S });
defineType('PodIP', { ip: S });
defineType('PodResourceClaimStatus', { name: S, resourceClaimName: S });
defineType('ContainerStatus', {
  name: S,
  state: ref('ContainerState'),
  lastState: ref('ContainerState'),
  ready: B,
  restartCount: I,
  image: S,
  imageID: S,
  containerID: S,
  started: B,
  allocatedResources: mapOf(Q),
  resources: ref('ResourceRequirements'),
  volumeMounts: mergeList(ref('VolumeMountStatus'), 'mountPath'),
  user: ref('ContainerUser'),
  allocatedResourcesStatus: mergeList(ref('ResourceStatus'), 'name'),
});
defineType('ContainerState', {
  waiting: ref('ContainerStateWaiting'),
  running: ref('ContainerStateRunning'),
  terminated: ref('ContainerStateTerminated'),
});
defineType('ContainerStateWaiting', { reason: S, message: S });
defineType('ContainerStateRunning', { startedAt: T });
defineType('ContainerStateTerminated', {
  exitCode: I,
  signal: I,
  reason: S,
  message: S,
  startedAt: T,
  finishedAt: T,
  containerID: S,
});
defineType('VolumeMountStatus', { name: S, mountPath: S, readOnly: B, recursiveReadOnly: S });
defineType('ContainerUser', { linux: ref('LinuxContainerUser') });
defineType('LinuxContainerUser', { uid: I, gid: I, supplementalGroups: atomicList(I) });
defineType('ResourceStatus', { name: S, resources: atomicList(ref('ResourceHealth')) });
defineType('ResourceHealth', { resourceID: S, health: S });

// ---- volumes ---------------------------------------------------------------------------

defineType('Volume', {
  name: S,
  hostPath: ref('HostPathVolumeSource'),
  emptyDir: ref('EmptyDirVolumeSource'),
  secret: ref('SecretVolumeSource'),
  configMap: ref('ConfigMapVolumeSource'),
  persistentVolumeClaim: ref('PersistentVolumeClaimVolumeSource'),
  nfs: ref('NFSVolumeSource'),
  downwardAPI: ref('DownwardAPIVolumeSource'),
  projected: ref('ProjectedVolumeSource'),
  ephemeral: ref('EphemeralVolumeSource'),
  csi: ref('CSIVolumeSource'),
  image: ref('ImageVolumeSource'),
  // Not modelled in detail (see the file comment).
  gcePersistentDisk: FREE,
  awsElasticBlockStore: FREE,
  gitRepo: FREE,
  iscsi: FREE,
  glusterfs: FREE,
  rbd: FREE,
  flexVolume: FREE,
  cinder: FREE,
  cephfs: FREE,
  flocker: FREE,
  fc: FREE,
  azureFile: FREE,
  vsphereVolume: FREE,
  quobyte: FREE,
  azureDisk: FREE,
  photonPersistentDisk: FREE,
  portworxVolume: FREE,
  scaleIO: FREE,
  storageos: FREE,
});
defineType('HostPathVolumeSource', {
  path: S,
  type: enumOf('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'),
});
defineType('EmptyDirVolumeSource', { medium: S, sizeLimit: Q });
defineType('KeyToPath', { key: S, path: S, mode: I });
defineType('SecretVolumeSource', { secretName: S, items: atomicList(ref('KeyToPath')), defaultMode: I, optional: B });
defineType('ConfigMapVolumeSource', { name: S, items: atomicList(ref('KeyToPath')), defaultMode: I, optional: B });
defineType('PersistentVolumeClaimVolumeSource', { claimName: S, readOnly: B });
defineType('NFSVolumeSource', { server: S, path: S, readOnly: B });
defineType('DownwardAPIVolumeSource', { items: atomicList(ref('DownwardAPIVolumeFile')), defaultMode: I });
defineType('DownwardAPIVolumeFile', {
  path: S,
  fieldRef: ref('ObjectFieldSelector'),
  resourceFieldRef: ref('ResourceFieldSelector'),
  mode: I,
});
defineType('ProjectedVolumeSource', { sources: atomicList(ref('VolumeProjection')), defaultMode: I });
defineType('VolumeProjection', {
  secret: ref('SecretProjection'),
  downwardAPI: ref('DownwardAPIProjection'),
  configMap: ref('ConfigMapProjection'),
  serviceAccountToken: ref('ServiceAccountTokenProjection'),
  clusterTrustBundle: ref('ClusterTrustBundleProjection'),
});
defineType('SecretProjection', { name: S, items: atomicList(ref('KeyToPath')), optional: B });
defineType('ConfigMapProjection', { name: S, items: atomicList(ref('KeyToPath')), optional: B });
defineType('DownwardAPIProjection', { items: atomicList(ref('DownwardAPIVolumeFile')) });
defineType('ServiceAccountTokenProjection', { audience: S, expirationSeconds: I, path: S });
defineType('ClusterTrustBundleProjection', {
  name: S,
  signerName: S,
  labelSelector: ref('LabelSelector'),
  optional: B,
  path: S,
});
defineType('EphemeralVolumeSource', { volumeClaimTemplate: FREE });
defineType('CSIVolumeSource', {
  driver: S,
  readOnly: B,
  fsType: S,
  volumeAttributes: mapOf(),
  nodePublishSecretRef: ref('LocalObjectReference'),
});
defineType('ImageVolumeSource', { reference: S, pullPolicy: S });

/** `PodSpec` fields whose value is a list of containers (for defaults and validation). */
export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

