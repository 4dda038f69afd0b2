import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/kube/client.js';
import {
  ConfigMaps, Deployments, EndpointSlices, Endpoints, Events, Leases, Namespaces, Nodes, Pods, ReplicaSets, Secrets, ServiceAccounts, Services,
} from '../../lib/kube/resources.js';
import { formatServicePorts, humanDuration, podStatusCells, toTable } from './table.js';

const NOW = Date.parse('2024-06-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString().replace('.000Z', 'Z');

describe('humanDuration', () => {
  it.each([
    [-5, '<invalid>'],
    [-1, '0s'],
    [0, '0s'],
    [5, '5s'],
    [119, '119s'],
    [150, '2m30s'],
    [180, '3m'],
    [600, '10m'],
    [179 * 60, '179m'],
    [3 * 3600 + 5 * 60, '3h5m'],
    [7 * 3600, '7h'],
    [10 * 3600, '10h'],
    [51 * 3600, '2d3h'],
    [7 * 86400, '7d'],
    [400 * 86400, '400d'],
    [(2 * 365 + 5) * 86400, '2y5d'],
    [9 * 365 * 86400, '9y'],
  ])('%d s → %s', (s, want) => {
    expect(humanDuration(s * 1000)).toBe(want);
  });
});

describe('pod status derivation', () => {
  const base = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> => ({
    metadata: { name: 'p', creationTimestamp: ago(30), ...meta },
    spec: { containers: [{ name: 'c' }], ...spec },
    status,
  });
  const st = (p: Record<string, unknown>): string => podStatusCells(p, NOW).status;

  it('phase by default, status.reason when set', () => {
    expect(st(base({ phase: 'Pending' }))).toBe('Pending');
    expect(st(base({ phase: 'Failed', reason: 'Evicted' }))).toBe('Evicted');
    expect(st(base({ phase: 'Failed', reason: 'NodeLost' }))).toBe('NodeLost');
  });
  it('container waiting and terminated reasons', () => {
    expect(st(base({ phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] }))).toBe('ContainerCreating');
    expect(st(base({ phase: 'Running', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'CrashLoopBackOff' } }, restartCount: 3 }] }))).toBe('CrashLoopBackOff');
    expect(st(base({ phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ErrImagePull' } } }] }))).toBe('ErrImagePull');
    expect(st(base({ phase: 'Succeeded', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }))).toBe('Completed');
    expect(st(base({ phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 2 } } }] }))).toBe('ExitCode:2');
    expect(st(base({ phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 137, signal: 9 } } }] }))).toBe('Signal:9');
  });
  it('Running with a Completed sibling', () => {
    const p = base(
      {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          { name: 'a', ready: true, state: { running: {} } },
          { name: 'b', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      },
      { containers: [{ name: 'a' }, { name: 'b' }] },
    );
    expect(podStatusCells(p, NOW)).toMatchObject({ status: 'NotReady', ready: '1/2' });
  });
  it('init containers', () => {
    const spec = { initContainers: [{ name: 'i' }] };
    expect(st(base({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { waiting: { reason: 'PodInitializing' } } }] }, spec))).toBe('Init:0/1');
    expect(st(base({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { running: {} } }] }, spec))).toBe('Init:0/1');
    expect(st(base({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, spec))).toBe('Init:CrashLoopBackOff');
    expect(st(base({ phase: 'Failed', initContainerStatuses: [{ name: 'i', state: { terminated: { exitCode: 1 } } }] }, spec))).toBe('Init:ExitCode:1');
    expect(st(base({ phase: 'Failed', initContainerStatuses: [{ name: 'i', state: { terminated: { exitCode: 1, reason: 'Error' } } }] }, spec))).toBe('Init:Error');
  });
  it('sidecar (restartable init) containers count as containers', () => {
    const p = base(
      {
        phase: 'Running',
        initContainerStatuses: [{ name: 's', started: true, ready: true, state: { running: {} } }],
        containerStatuses: [{ name: 'c', ready: true, state: { running: {} } }],
      },
      { initContainers: [{ name: 's', restartPolicy: 'Always' }] },
    );
    expect(podStatusCells(p, NOW)).toMatchObject({ status: 'Running', ready: '2/2' });
  });
  it('Terminating and Unknown', () => {
    expect(st(base({ phase: 'Running' }, {}, { deletionTimestamp: ago(1) }))).toBe('Terminating');
    expect(st(base({ phase: 'Running', reason: 'NodeLost' }, {}, { deletionTimestamp: ago(1) }))).toBe('Unknown');
    expect(st(base({ phase: 'Succeeded' }, {}, { deletionTimestamp: ago(1) }))).toBe('Succeeded');
  });
  it('SchedulingGated', () => {
    expect(st(base({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }))).toBe('SchedulingGated');
  });
  it('restarts with the time since the last one', () => {
    const p = base({ phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 5, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(300) } } }] });
    expect(podStatusCells(p, NOW).restarts).toBe('5 (5m ago)');
    expect(podStatusCells(base({ phase: 'Running' }), NOW).restarts).toBe('0');
  });
});

describe('toTable', () => {
  it('pods: columns, cells, wide columns and the PartialObjectMetadata row object', () => {
    const p = {
      metadata: { name: 'web', namespace: 'd', creationTimestamp: ago(150) },
      spec: { nodeName: 'n1', containers: [{ name: 'c' }], readinessGates: [{ conditionType: 'x' }] },
      status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }], conditions: [{ type: 'x', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, state: { running: {} } }] },
    } as KubeObject;
    const t = toTable(Pods, [p], { now: NOW, listMeta: { resourceVersion: '7' } });
    expect(t.metadata).toEqual({ resourceVersion: '7' });
    expect(t.columnDefinitions.map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1],
    ]);
    expect(t.columnDefinitions[0].format).toBe('name');
    expect(t.rows[0].cells).toEqual(['web', '1/1', 'Running', '0', '2m30s', '10.0.0.5', 'n1', '<none>', '1/1']);
    expect(t.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: p.metadata });
    expect(toTable(Pods, [p], { now: NOW, includeObject: 'None' }).rows[0].object).toBeUndefined();
    expect(toTable(Pods, [p], { now: NOW, includeObject: 'Object' }).rows[0].object).toBe(p);
  });
  it('completed pods carry a row condition', () => {
    const t = toTable(Pods, [{ metadata: { name: 'x' }, spec: { containers: [] }, status: { phase: 'Succeeded' } } as KubeObject], { now: NOW });
    expect(t.rows[0].conditions).toEqual([{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
    expect(t.rows[0].cells[4]).toBe('<unknown>');
  });
  it('nodes', () => {
    const n = {
      metadata: { name: 'n1', creationTimestamp: ago(3 * 86400 + 3600), labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'n1' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.6.20' },
      },
    } as KubeObject;
    expect(toTable(Nodes, [n], { now: NOW }).rows[0].cells).toEqual([
      'n1', 'Ready,SchedulingDisabled', 'control-plane,worker', '3d1h', 'v1.32.0', '172.18.0.2', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0', 'containerd://1.6.20',
    ]);
    expect(toTable(Nodes, [{ metadata: { name: 'x' } } as KubeObject], { now: NOW }).rows[0].cells.slice(0, 3)).toEqual(['x', 'Unknown', '<none>']);
  });
  it('services', () => {
    const s = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({ metadata: { name: 's', creationTimestamp: ago(600) }, spec, status }) as KubeObject;
    expect(toTable(Services, [s({ type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ port: 443, protocol: 'TCP' }] })], { now: NOW }).rows[0].cells).toEqual([
      's', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP', '10m', '<none>',
    ]);
    expect(toTable(Services, [s({ type: 'NodePort', clusterIP: '10.96.0.2', selector: { app: 'a' }, ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] })], { now: NOW }).rows[0].cells).toEqual([
      's', 'NodePort', '10.96.0.2', '<none>', '80:30080/TCP,53/UDP', '10m', 'app=a',
    ]);
    expect(toTable(Services, [s({ type: 'LoadBalancer', clusterIP: '10.96.0.3', ports: [] })], { now: NOW }).rows[0].cells.slice(3, 5)).toEqual(['<pending>', '<none>']);
    expect(toTable(Services, [s({ type: 'LoadBalancer', ports: [] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } })], { now: NOW }).rows[0].cells[3]).toBe('1.2.3.4');
    expect(toTable(Services, [s({ type: 'ExternalName', externalName: 'example.com' })], { now: NOW }).rows[0].cells.slice(2, 4)).toEqual(['<none>', 'example.com']);
    expect(formatServicePorts([{ port: 80, protocol: 'TCP' }])).toBe('80/TCP');
  });
  it('deployments and replicasets', () => {
    const spec = { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }, { name: 'b', image: 'busybox' }] } } };
    const d = { metadata: { name: 'web', creationTimestamp: ago(11 * 3600) }, spec, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } } as KubeObject;
    expect(toTable(Deployments, [d], { now: NOW }).rows[0].cells).toEqual(['web', '2/3', 3, 2, '11h', 'a,b', 'nginx:1,busybox', 'app=web']);
    const rs = { metadata: { name: 'web-1', creationTimestamp: ago(5) }, spec, status: { replicas: 3, readyReplicas: 1 } } as KubeObject;
    expect(toTable(ReplicaSets, [rs], { now: NOW }).rows[0].cells).toEqual(['web-1', 3, 3, 1, '5s', 'a,b', 'nginx:1,busybox', 'app=web']);
    expect(toTable(Deployments, [], { now: NOW }).columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  });
  it('endpoints and endpointslices', () => {
    const ep = { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }] }] } as KubeObject;
    expect(toTable(Endpoints, [ep], { now: NOW }).rows[0].cells[1]).toBe('10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...');
    expect(toTable(Endpoints, [{ metadata: { name: 'e' } } as KubeObject], { now: NOW }).rows[0].cells[1]).toBe('<none>');
    const es = { metadata: { name: 's' }, addressType: 'IPv4', ports: [{ port: 80 }, { name: 'x' }], endpoints: [{ addresses: ['10.0.0.1'] }] } as KubeObject;
    expect(toTable(EndpointSlices, [es], { now: NOW }).rows[0].cells.slice(0, 4)).toEqual(['s', 'IPv4', '80,x', '10.0.0.1']);
    expect(toTable(EndpointSlices, [{ metadata: { name: 'e' } } as KubeObject], { now: NOW }).rows[0].cells.slice(2, 4)).toEqual(['<unset>', '<unset>']);
  });
  it('events', () => {
    const ev = {
      metadata: { name: 'p.1' },
      involvedObject: { kind: 'Pod', name: 'p', fieldPath: 'spec.containers{c}' },
      reason: 'Pulled',
      message: ' pulled ',
      type: 'Normal',
      source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: ago(120),
      lastTimestamp: ago(60),
      count: 2,
    } as KubeObject;
    const t = toTable(Events, [ev], { now: NOW });
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
    expect(t.rows[0].cells).toEqual(['60s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{c}', 'kubelet, n1', 'pulled', '2m', 2, 'p.1']);
  });
  it('namespaces, configmaps, secrets, service accounts, leases', () => {
    const m = (extra: Record<string, unknown>): KubeObject => ({ metadata: { name: 'x', creationTimestamp: ago(5) }, ...extra }) as KubeObject;
    expect(toTable(Namespaces, [m({ status: { phase: 'Active' } })], { now: NOW }).rows[0].cells).toEqual(['x', 'Active', '5s']);
    expect(toTable(ConfigMaps, [m({ data: { a: '1', b: '2' }, binaryData: { c: '' } })], { now: NOW }).rows[0].cells).toEqual(['x', 3, '5s']);
    expect(toTable(Secrets, [m({ type: 'Opaque', data: { a: '' } })], { now: NOW }).rows[0].cells).toEqual(['x', 'Opaque', 1, '5s']);
    expect(toTable(ServiceAccounts, [m({})], { now: NOW }).rows[0].cells).toEqual(['x', 0, '5s']);
    expect(toTable(Leases, [m({ spec: { holderIdentity: 'n1' } })], { now: NOW }).rows[0].cells).toEqual(['x', 'n1', '5s']);
  });
});
