import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/kube/client.js';
import { ApiError } from '../../lib/kube/errors.js';
import { ConfigMaps, Events, Namespaces, Nodes, Pods, ReplicaSets, Secrets } from '../../lib/kube/resources.js';
import { allowedFieldSelectors, compileFieldSelector, matchesFieldSelector, selectableFields } from './field-attrs.js';

const pod = {
  metadata: { name: 'p', namespace: 'ns' },
  spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', hostNetwork: true },
  status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], nominatedNodeName: '' },
} as KubeObject;

describe('selectable fields', () => {
  it('Pod', () => {
    expect(selectableFields(Pods, pod)).toEqual({
      'metadata.name': 'p',
      'metadata.namespace': 'ns',
      'spec.nodeName': 'n1',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'default',
      'spec.hostNetwork': 'true',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.1',
      'status.nominatedNodeName': '',
    });
  });
  it('Event, Node, Secret, Namespace, ReplicaSet', () => {
    const ev = { metadata: { name: 'e', namespace: 'ns' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u' }, reason: 'Started', source: { component: 'kubelet' }, type: 'Normal' } as KubeObject;
    expect(selectableFields(Events, ev)).toMatchObject({ 'involvedObject.kind': 'Pod', 'involvedObject.name': 'p', 'involvedObject.uid': 'u', reason: 'Started', source: 'kubelet', type: 'Normal', reportingComponent: '' });
    expect(selectableFields(Nodes, { metadata: { name: 'n' }, spec: { unschedulable: true } } as KubeObject)['spec.unschedulable']).toBe('true');
    expect(selectableFields(Secrets, { metadata: { name: 's' }, type: 'Opaque' } as KubeObject).type).toBe('Opaque');
    expect(selectableFields(Namespaces, { metadata: { name: 'x' }, status: { phase: 'Active' } } as KubeObject)['status.phase']).toBe('Active');
    expect(selectableFields(ReplicaSets, { metadata: { name: 'r' }, status: { replicas: 3 } } as KubeObject)['status.replicas']).toBe('3');
  });
  it('allowed lists', () => {
    expect(allowedFieldSelectors(ConfigMaps)).toEqual(['metadata.name', 'metadata.namespace']);
    expect(allowedFieldSelectors(Nodes)).toEqual(['metadata.name', 'spec.unschedulable']);
    expect(allowedFieldSelectors(Pods)).toContain('spec.nodeName');
  });
});

describe('compileFieldSelector', () => {
  it('matches objects', () => {
    const sel = compileFieldSelector(Pods, 'spec.nodeName=n1,status.phase!=Failed');
    expect(matchesFieldSelector(Pods, pod, sel)).toBe(true);
    expect(matchesFieldSelector(Pods, pod, compileFieldSelector(Pods, 'spec.nodeName=n2'))).toBe(false);
  });
  it('rejects unknown fields with kube messages', () => {
    const err = (t: Parameters<typeof compileFieldSelector>[0], s: string): ApiError => {
      try {
        compileFieldSelector(t, s);
      } catch (e) {
        return e as ApiError;
      }
      throw new Error('no error');
    };
    const e1 = err(ConfigMaps, 'spec.foo=x');
    expect(e1.statusCode).toBe(400);
    expect(e1.status.message).toBe('"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"');
    expect(err(Pods, 'spec.foo=x').status.message).toBe('field label not supported: spec.foo');
    expect(err(Pods, 'garbage').statusCode).toBe(400);
  });
});
