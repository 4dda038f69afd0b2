import { describe, expect, it } from 'vitest';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { KubeObject } from '../../lib/kube/client.js';
import { Deployments, EndpointSlices, Namespaces, Pods, ReplicaSets, Secrets, Services } from '../../lib/kube/resources.js';
import { applyDefaults, computeQosClass, defaultImagePullPolicy } from './defaults.js';

function defaulted<T extends KubeObject>(t: Parameters<typeof applyDefaults>[0], obj: T, operation?: 'create' | 'update'): T {
  applyDefaults(t, obj, { operation });
  return obj;
}

describe('Pod defaults', () => {
  it('a bare pod becomes what kube-apiserver 1.32 returns (minus the token volume)', () => {
    const pod = defaulted(Pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } as Pod);
    expect(pod.spec).toEqual({
      containers: [
        {
          name: 'c',
          image: 'nginx',
          imagePullPolicy: 'Always',
          resources: {},
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        { effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 },
        { effect: 'NoExecute', key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 300 },
      ],
    });
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('defaults ports, probes, handlers, volumes and downward API refs', () => {
    const pod = defaulted(Pods, {
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'nginx:1.25',
            ports: [{ containerPort: 80 }],
            livenessProbe: { httpGet: { port: 80 } },
            readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
            env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }],
          },
        ],
        volumes: [
          { name: 'a' },
          { name: 'b', configMap: { name: 'cm' } },
          { name: 'c', secret: { secretName: 's' } },
          { name: 'd', hostPath: { path: '/x' } },
          { name: 'e', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        ],
      },
    } as Pod);
    const c = pod.spec!.containers[0];
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(c.livenessProbe).toEqual({ httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c.readinessProbe?.periodSeconds).toBe(5);
    expect(c.env?.[0].valueFrom?.fieldRef?.apiVersion).toBe('v1');
    expect(c.env?.[1].valueFrom?.resourceFieldRef?.divisor).toBe('0');
    expect(pod.spec!.volumes).toEqual([
      { name: 'a', emptyDir: {} },
      { name: 'b', configMap: { name: 'cm', defaultMode: 420 } },
      { name: 'c', secret: { secretName: 's', defaultMode: 420 } },
      { name: 'd', hostPath: { path: '/x', type: '' } },
      { name: 'e', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } },
    ]);
  });

  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.25', 'IfNotPresent'],
    ['registry:5000/nginx', 'Always'],
    ['registry:5000/nginx:1', 'IfNotPresent'],
    ['nginx@sha256:abc', 'IfNotPresent'],
  ])('imagePullPolicy for %s is %s', (image, want) => {
    expect(defaultImagePullPolicy(image)).toBe(want);
  });

  it('requests default to limits; QoS Guaranteed', () => {
    const pod = defaulted(Pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } } as Pod);
    expect(pod.spec!.containers[0].resources).toEqual({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } });
    expect(pod.status?.qosClass).toBe('Guaranteed');
  });

  it('QoS classes', () => {
    const mk = (resources: object[]): Pod => ({ spec: { containers: resources.map((r, i) => ({ name: `c${i}`, resources: r })) } }) as Pod;
    expect(computeQosClass(mk([{}]))).toBe('BestEffort');
    expect(computeQosClass(mk([{ requests: { cpu: '100m' } }]))).toBe('Burstable');
    expect(computeQosClass(mk([{ requests: { cpu: '1', memory: '1G' }, limits: { cpu: '1', memory: '1G' } }, {}]))).toBe('Burstable');
    expect(computeQosClass(mk([{ requests: { cpu: '1000m', memory: '1G' }, limits: { cpu: '1', memory: '1G' } }]))).toBe('Guaranteed');
    expect(computeQosClass(mk([{ requests: { cpu: '500m', memory: '1G' }, limits: { cpu: '1', memory: '1G' } }]))).toBe('Burstable');
  });

  it('keeps existing tolerations that already cover not-ready', () => {
    const pod = defaulted(Pods, { metadata: { name: 'p' }, spec: { containers: [], tolerations: [{ operator: 'Exists' }] } } as Pod);
    expect(pod.spec!.tolerations).toEqual([{ operator: 'Exists' }]);
  });

  it('hostNetwork mirrors containerPort into hostPort', () => {
    const pod = defaulted(Pods, { metadata: { name: 'p' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 53 }] }] } } as Pod);
    expect(pod.spec!.containers[0].ports).toEqual([{ containerPort: 53, hostPort: 53, protocol: 'TCP' }]);
  });

  it('update applies API defaults only', () => {
    const pod = defaulted(Pods, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } } as Pod, 'update');
    expect(pod.spec!.serviceAccountName).toBeUndefined();
    expect(pod.spec!.tolerations).toBeUndefined();
    expect(pod.spec!.restartPolicy).toBe('Always');
    expect(pod.status).toBeUndefined();
  });
});

describe('Deployment and ReplicaSet defaults', () => {
  it('a bare deployment', () => {
    const d = defaulted(Deployments, {
      metadata: { name: 'd' },
      spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    } as Deployment);
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    });
    expect(d.spec!.template.spec).toEqual({
      containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'Always', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      terminationGracePeriodSeconds: 30,
    });
  });
  it('Recreate gets no rollingUpdate', () => {
    const d = defaulted(Deployments, { metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' } } } as unknown as Deployment);
    expect(d.spec!.strategy).toEqual({ type: 'Recreate' });
  });
  it('replicaset replicas', () => {
    const rs = defaulted(ReplicaSets, { metadata: { name: 'r' }, spec: { selector: {} } } as KubeObject) as { spec: { replicas: number } };
    expect(rs.spec.replicas).toBe(1);
  });
});

describe('Service defaults', () => {
  it('a bare ClusterIP service', () => {
    const s = defaulted(Services, { metadata: { name: 's' }, spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } } as Service);
    expect(s.spec).toEqual({
      selector: { app: 'a' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    });
    expect(s.status).toEqual({ loadBalancer: {} });
  });
  it('NodePort/LoadBalancer and ClientIP affinity', () => {
    const s = defaulted(Services, { metadata: { name: 's' }, spec: { type: 'LoadBalancer', sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 'http' }] } } as Service);
    expect(s.spec).toMatchObject({
      externalTrafficPolicy: 'Cluster',
      allocateLoadBalancerNodePorts: true,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      ports: [{ port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
  });
});

describe('other kinds', () => {
  it('Namespace', () => {
    const ns = defaulted(Namespaces, { metadata: { name: 'ns1' } } as KubeObject);
    expect(ns).toEqual({ metadata: { name: 'ns1', labels: { 'kubernetes.io/metadata.name': 'ns1' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  });
  it('Secret type', () => {
    expect((defaulted(Secrets, { metadata: { name: 's' } } as KubeObject) as { type: string }).type).toBe('Opaque');
  });
  it('EndpointSlice ports', () => {
    const es = defaulted(EndpointSlices, { metadata: { name: 'e' }, ports: [{ port: 80 }] } as KubeObject) as { ports: unknown[] };
    expect(es.ports).toEqual([{ port: 80, protocol: 'TCP', name: '' }]);
  });
});
