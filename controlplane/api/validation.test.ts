import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/kube/client.js';
import {
  ConfigMaps, Deployments, EndpointSlices, Events, Leases, Namespaces, Nodes, Pods, ReplicaSets, Secrets, Services,
} from '../../lib/kube/resources.js';
import { applyDefaults } from './defaults.js';
import { POD_UPDATE_FORBIDDEN, invalidStatus, validateObject, type FieldError } from './validation.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

type T = Parameters<typeof validateObject>[0];

function valid(t: T, obj: Record<string, unknown>): KubeObject {
  const o = JSON.parse(JSON.stringify(obj)) as KubeObject;
  applyDefaults(t, o);
  return o;
}

function errs(t: T, obj: Record<string, unknown>, old?: Record<string, unknown>): string[] {
  const o = valid(t, obj);
  const prev = old ? valid(t, old) : undefined;
  return validateObject(t, o, prev).map((e) => `${e.field}: ${e.message}`);
}

const pod = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> => ({
  metadata: { name: 'p', namespace: 'default', ...meta },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
});

describe('ObjectMeta', () => {
  it('a valid pod has no errors', () => {
    expect(errs(Pods, pod())).toEqual([]);
  });
  it('name syntax (subdomain)', () => {
    expect(errs(Pods, pod({}, { name: 'Bad_Name' }))).toEqual([`metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN_MSG}`]);
  });
  it('name required unless generateName', () => {
    expect(errs(Pods, pod({}, { name: undefined }))).toEqual(['metadata.name: Required value: name or generateName is required']);
    expect(errs(Pods, pod({}, { name: undefined, generateName: 'web-' }))).toEqual([]);
  });
  it('namespace required for namespaced kinds, forbidden for cluster-scoped', () => {
    expect(errs(Pods, pod({}, { namespace: undefined }))).toEqual(['metadata.namespace: Required value']);
    expect(errs(Nodes, { metadata: { name: 'n', namespace: 'x' } })).toEqual(['metadata.namespace: Forbidden: not allowed on this type']);
  });
  it('Service names are DNS-1035 labels, Namespace names DNS-1123 labels', () => {
    const svc = { metadata: { name: '1abc', namespace: 'd' }, spec: { ports: [{ port: 80 }] } };
    expect(errs(Services, svc)).toEqual([
      `metadata.name: Invalid value: "1abc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    ]);
    expect(errs(Namespaces, { metadata: { name: 'a.b' } })[0]).toMatch(/^metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label must consist of/);
  });
  it('labels and annotations', () => {
    const e = errs(Pods, pod({}, { labels: { 'bad key': 'v', ok: 'bad value!' }, annotations: { 'a/b/c': 'x' } }));
    expect(e).toHaveLength(3);
    expect(e[0]).toMatch(/^metadata.labels: Invalid value: "bad key": name part must consist of/);
    expect(e[1]).toMatch(/^metadata.labels: Invalid value: "bad value!": a valid label must be an empty string/);
    expect(e[2]).toMatch(/^metadata.annotations: Invalid value: "a\/b\/c": a qualified name must consist of/);
  });
  it('annotation size', () => {
    expect(errs(Pods, pod({}, { annotations: { big: 'x'.repeat(256 * 1024) } }))).toEqual(['metadata.annotations: Too long: may not be more than 262144 bytes']);
  });
  it('name is immutable on update', () => {
    expect(errs(ConfigMaps, { metadata: { name: 'b', namespace: 'd' } }, { metadata: { name: 'a', namespace: 'd' } })).toEqual([
      'metadata.name: Invalid value: "b": field is immutable',
    ]);
  });
});

describe('Pod', () => {
  it('at least one container; image required', () => {
    expect(errs(Pods, pod({ containers: [] }))).toEqual(['spec.containers: Required value']);
    expect(errs(Pods, pod({ containers: [{ name: 'c' }] }))).toEqual(['spec.containers[0].image: Required value']);
  });
  it('container names: DNS-1123 labels, unique across init and app containers', () => {
    const e = errs(Pods, pod({ initContainers: [{ name: 'c', image: 'x' }], containers: [{ name: 'c', image: 'x' }, { name: 'Bad', image: 'x' }] }));
    expect(e).toContain('spec.containers[0].name: Duplicate value: "c"');
    expect(e.some((x) => x.startsWith('spec.containers[1].name: Invalid value: "Bad": a lowercase RFC 1123 label'))).toBe(true);
  });
  it('ports', () => {
    const e = errs(Pods, pod({ containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 70000 }, { containerPort: 80, protocol: 'HTTP' }, {}] }] }));
    expect(e).toEqual([
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[2].containerPort: Required value',
    ]);
  });
  it('env names and valueFrom', () => {
    const e = errs(Pods, pod({ containers: [{ name: 'c', image: 'x', env: [{ name: '' }, { name: 'A=B' }, { name: 'OK', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }] }));
    expect(e).toEqual([
      'spec.containers[0].env[0].name: Required value',
      `spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
      'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    ]);
  });
  it('resources: quantities and requests <= limits', () => {
    const e = errs(Pods, pod({ containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1' }, requests: { cpu: '2', memory: 'lots' } } }] }));
    expect(e).toEqual([
      `spec.containers[0].resources.requests[memory]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ]);
  });
  it('volumes: unique names, mounts must refer to declared volumes', () => {
    const e = errs(Pods, pod({
      volumes: [{ name: 'v' }, { name: 'v' }],
      containers: [{ name: 'c', image: 'x', volumeMounts: [{ name: 'v', mountPath: '/a' }, { name: 'w', mountPath: '/b' }, { name: 'v', mountPath: '/a' }] }],
    }));
    expect(e).toEqual([
      'spec.volumes[1].name: Duplicate value: "v"',
      'spec.containers[0].volumeMounts[1].name: Not found: "w"',
      'spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/a": must be unique',
    ]);
  });
  it('enums and numeric ranges', () => {
    const e = errs(Pods, pod({ restartPolicy: 'Sometimes', dnsPolicy: 'Bogus', terminationGracePeriodSeconds: -1, nodeSelector: { 'bad key': 'x' } }));
    expect(e).toEqual([
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      'spec.dnsPolicy: Unsupported value: "Bogus": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"',
      'spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0',
      expect.stringMatching(/^spec.nodeSelector: Invalid value: "bad key": name part must consist of/) as unknown as string,
    ]);
  });
  it('probes', () => {
    const e = errs(Pods, pod({ containers: [{ name: 'c', image: 'x', livenessProbe: { successThreshold: 2, httpGet: { port: 0 } } }] }));
    expect(e).toEqual([
      'spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1',
      'spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive',
    ]);
  });
  it('updates may change images but not other fields', () => {
    const old = pod({ containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'IfNotPresent' }] });
    expect(errs(Pods, pod({ containers: [{ name: 'c', image: 'nginx:2', imagePullPolicy: 'IfNotPresent' }] }), old)).toEqual([]);
    // A defaulted field that changes with the image (pull policy) is a forbidden change, as in kube.
    expect(errs(Pods, pod({ containers: [{ name: 'c', image: 'nginx:2' }] }), pod())).toHaveLength(1);
    expect(errs(Pods, pod({ containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'IfNotPresent', command: ['x'] }] }), old)).toEqual([`spec: Forbidden: ${POD_UPDATE_FORBIDDEN}`]);
    expect(errs(Pods, pod({}, { labels: { a: 'b' } }), pod())).toEqual([]);
  });
  it('updates may add tolerations', () => {
    const old = pod();
    const extra = { key: 'k', operator: 'Exists', effect: 'NoSchedule' };
    const next = valid(Pods, pod());
    (next as { spec: { tolerations: unknown[] } }).spec.tolerations.push(extra);
    expect(validateObject(Pods, next, valid(Pods, old))).toEqual([]);
  });
});

describe('Deployment and ReplicaSet', () => {
  const dep = (spec: Record<string, unknown> = {}): Record<string, unknown> => ({
    metadata: { name: 'd', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...spec,
    },
  });
  it('valid', () => {
    expect(errs(Deployments, dep())).toEqual([]);
    expect(errs(ReplicaSets, dep())).toEqual([]);
  });
  it('replicas >= 0', () => {
    expect(errs(Deployments, dep({ replicas: -1 }))).toEqual(['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);
  });
  it('selector required and must match template labels', () => {
    expect(errs(Deployments, dep({ selector: undefined }))).toEqual(['spec.selector: Required value']);
    expect(errs(Deployments, dep({ selector: { matchLabels: { app: 'other' } } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ]);
    expect(errs(Deployments, dep({ selector: {} }))).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
    ]);
  });
  it('template restartPolicy must be Always', () => {
    const d = dep();
    (d.spec as { template: { spec: Record<string, unknown> } }).template.spec.restartPolicy = 'Never';
    expect(errs(Deployments, d)).toEqual(['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']);
  });
  it('template pod spec errors carry the template path', () => {
    const d = dep();
    (d.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0].image = '';
    expect(errs(Deployments, d)).toEqual(['spec.template.spec.containers[0].image: Required value']);
  });
  it('strategy params', () => {
    expect(errs(Deployments, dep({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }))).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    ]);
    expect(errs(Deployments, dep({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'x%' } } }))).toEqual([
      `spec.strategy.rollingUpdate.maxSurge: Invalid value: "x%": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
    ]);
    expect(errs(Deployments, dep({ strategy: { type: 'Recreate', rollingUpdate: {} } }))).toEqual([
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]);
    expect(errs(Deployments, dep({ strategy: { type: 'Blue' } }))).toEqual(['spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", "RollingUpdate"']);
  });
  it('selector is immutable', () => {
    const next = dep({ selector: { matchLabels: { app: 'web', x: 'y' } } });
    (next.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels.x = 'y';
    expect(errs(Deployments, next, dep())).toEqual([
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "x":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
  });
});

describe('Service', () => {
  const svc = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: { name: 's', namespace: 'd' }, spec });
  it('ports required unless headless', () => {
    expect(errs(Services, svc({}))).toEqual(['spec.ports: Required value']);
    expect(errs(Services, svc({ clusterIP: 'None' }))).toEqual([]);
  });
  it('port range, names, protocol, type', () => {
    expect(errs(Services, svc({ type: 'Foo', ports: [{ port: 0 }, { port: 80, protocol: 'ICMP' }] }))).toEqual([
      'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      'spec.ports[0].name: Required value',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      // targetPort defaults to port (0 here), which kube then rejects as well.
      'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[1].name: Required value',
      'spec.ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]);
    expect(errs(Services, svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }))).toEqual(['spec.ports[1].name: Duplicate value: "a"']);
  });
  it('clusterIP is immutable', () => {
    expect(errs(Services, svc({ clusterIP: '10.0.0.2', ports: [{ port: 80 }] }), svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }] }))).toEqual([
      'spec.clusterIPs[0]: Invalid value: []string{"10.0.0.2"}: may not change once set',
    ]);
  });
});

describe('other kinds', () => {
  it('ConfigMap and Secret keys', () => {
    expect(errs(ConfigMaps, { metadata: { name: 'c', namespace: 'd' }, data: { 'Bad Key': 'x', ok: 'y' } })).toEqual([
      `data[Bad Key]: Invalid value: "Bad Key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    ]);
    expect(errs(Secrets, { metadata: { name: 's', namespace: 'd' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } })).toEqual(['data[tls.key]: Required value']);
  });
  it('immutable ConfigMap', () => {
    const old = { metadata: { name: 'c', namespace: 'd' }, immutable: true, data: { a: '1' } };
    expect(errs(ConfigMaps, { ...old, data: { a: '2' } }, old)).toEqual(['data: Forbidden: field is immutable when `immutable` is set']);
  });
  it('EndpointSlice addressType enum and immutability', () => {
    const es = (at: string): Record<string, unknown> => ({ metadata: { name: 'e', namespace: 'd' }, addressType: at, endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 80 }] });
    expect(errs(EndpointSlices, es('IPv4'))).toEqual([]);
    expect(errs(EndpointSlices, es('IPv5'))).toEqual(['addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"']);
    expect(errs(EndpointSlices, { ...es('FQDN'), endpoints: [] }, es('IPv4'))).toEqual(['addressType: Invalid value: "FQDN": field is immutable']);
  });
  it('Node taints, Lease durations, Event namespaces', () => {
    expect(errs(Nodes, { metadata: { name: 'n' }, spec: { taints: [{ key: 'k', effect: 'Never' }] } })).toEqual([
      'spec.taints[0].effect: Unsupported value: "Never": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
    ]);
    expect(errs(Leases, { metadata: { name: 'l', namespace: 'd' }, spec: { leaseDurationSeconds: 0 } })).toEqual([
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
    ]);
    expect(errs(Events, { metadata: { name: 'e', namespace: 'd' }, involvedObject: { namespace: 'x' } })).toEqual([
      'involvedObject.namespace: Invalid value: "x": does not match event.namespace',
    ]);
  });
});

describe('invalidStatus', () => {
  const one: FieldError[] = [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }];
  it('one error', () => {
    const s = invalidStatus(Deployments, 'web', one);
    expect(s).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      message: 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      details: { name: 'web', group: 'apps', kind: 'Deployment', causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' }] },
    });
  });
  it('several errors', () => {
    const s = invalidStatus(Pods, 'p', [...one, { type: 'FieldValueRequired', field: 'spec.containers[0].image', message: 'Required value' }]);
    expect(s.message).toBe('Pod "p" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.containers[0].image: Required value]');
    expect(s.details?.group).toBeUndefined();
  });
});
