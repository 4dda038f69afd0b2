import { describe, expect, it } from 'vitest';
import { ConfigMaps, Deployments, EndpointSlicesV1beta1, Pods, Services } from '../../lib/kube/resources.js';
import { findUnknownFields, strictDecodingErrorMessage, unknownFieldMessages, unknownFieldsError } from './unknown-fields.js';

describe('findUnknownFields', () => {
  it('reports misspelled fields with kube paths', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { anything: 'goes' }, annotations: { 'x/y': 'z' }, bogus: 1 },
      spec: {
        containers: [{ name: 'c', image: 'x', imagee: 'typo', ports: [{ containerPort: 80, protocl: 'TCP' }], resources: { limits: { cpu: '1' } } }],
        nodeSelector: { 'any/key': 'v' },
        foo: true,
      },
      status: { whatever: 1 },
    };
    expect(findUnknownFields(Pods, pod)).toEqual(['metadata.bogus', 'spec.containers[0].imagee', 'spec.containers[0].ports[0].protocl', 'spec.foo']);
  });

  it('walks into the pod template of a Deployment', () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { foo: 1, containers: [{ name: 'c', image: 'x', livenessProbe: { httpGet: { port: 80, pth: '/' } } }] } } },
    };
    expect(findUnknownFields(Deployments, d)).toEqual(['spec.template.spec.foo', 'spec.template.spec.containers[0].livenessProbe.httpGet.pth']);
  });

  it('data maps are free-form; top-level unknowns are reported', () => {
    expect(findUnknownFields(ConfigMaps, { data: { 'any-key': 'v' }, binaryData: {}, extra: 1 })).toEqual(['extra']);
  });

  it('status is skipped unless asked for', () => {
    const svc = { spec: { ports: [{ port: 80 }] }, status: { loadBalancer: { ingres: [] } } };
    expect(findUnknownFields(Services, svc)).toEqual([]);
    expect(findUnknownFields(Services, svc, { includeStatus: true })).toEqual(['status.loadBalancer.ingres']);
  });

  it('knows the v1beta1 EndpointSlice shape', () => {
    expect(findUnknownFields(EndpointSlicesV1beta1, { addressType: 'IPv4', endpoints: [{ addresses: ['1.1.1.1'], topology: { a: 'b' }, zone: 'z' }] })).toEqual(['endpoints[0].zone']);
  });

  it('renders kube texts', () => {
    expect(unknownFieldMessages(['spec.foo'])).toEqual(['unknown field "spec.foo"']);
    expect(strictDecodingErrorMessage(['spec.foo', 'spec.bar'])).toBe('strict decoding error: unknown field "spec.foo", unknown field "spec.bar"');
    const e = unknownFieldsError(Deployments, ['spec.foo']);
    expect(e.statusCode).toBe(400);
    expect(e.status.message).toBe('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"');
  });
});
