import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/kube/client.js';
import { ApiError } from '../../lib/kube/errors.js';
import { ConfigMaps, Deployments, Pods, Services } from '../../lib/kube/resources.js';
import { applyJsonPatch, applyMergePatch, applyPatch, applyStrategicMergePatch } from './patch.js';
import { getType } from './schema/index.js';

function apiErr(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('JSON patch (RFC 6902)', () => {
  const doc = { a: { b: 1, 'c/d': 2, 'e~f': 3 }, list: [1, 2, 3] };

  it('add, remove, replace, move, copy, test', () => {
    const out = applyJsonPatch(doc, [
      { op: 'add', path: '/a/x', value: { y: 1 } },
      { op: 'add', path: '/list/1', value: 9 },
      { op: 'add', path: '/list/-', value: 10 },
      { op: 'remove', path: '/a/b' },
      { op: 'replace', path: '/a/c~1d', value: 'slash' },
      { op: 'replace', path: '/a/e~0f', value: 'tilde' },
      { op: 'copy', from: '/a/x', path: '/copied' },
      { op: 'move', from: '/list/0', path: '/first' },
      { op: 'test', path: '/first', value: 1 },
    ]);
    expect(out).toEqual({ a: { 'c/d': 'slash', 'e~f': 'tilde', x: { y: 1 } }, list: [9, 2, 3, 10], copied: { y: 1 }, first: 1 });
    expect(doc.list).toEqual([1, 2, 3]); // original untouched
  });

  it('supports negative indices as evanphx/json-patch does', () => {
    expect(applyJsonPatch({ l: [1, 2, 3] }, [{ op: 'remove', path: '/l/-1' }])).toEqual({ l: [1, 2] });
  });

  it('a failing test is 422 with the generic message', () => {
    const e = apiErr(() => applyJsonPatch(doc, [{ op: 'test', path: '/a/b', value: 2 }]));
    expect(e.statusCode).toBe(422);
    expect(e.reason).toBe('Invalid');
    expect(e.status.message).toBe('the server rejected our request due to an error in our request');
    expect((e.cause as Error).message).toBe('testing value /a/b failed: test failed');
  });

  it('an operation on a missing path is 422', () => {
    expect(apiErr(() => applyJsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }])).statusCode).toBe(422);
    expect(apiErr(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/zz' }])).statusCode).toBe(422);
    expect(apiErr(() => applyJsonPatch(doc, [{ op: 'add', path: '/list/7', value: 1 }])).statusCode).toBe(422);
  });

  it('a patch that is not a list is 400', () => {
    const e = apiErr(() => applyJsonPatch(doc, { op: 'add' }));
    expect(e.statusCode).toBe(400);
    expect(e.status.message).toBe('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  });
});

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, null deletes, lists replace', () => {
    const out = applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2], keep: true }, { a: { b: null, d: 4 }, l: [3], n: null });
    expect(out).toEqual({ a: { c: 2, d: 4 }, l: [3], keep: true });
  });
  it('rejects a non-object patch with 400', () => {
    const e = apiErr(() => applyMergePatch({}, [1]));
    expect(e.statusCode).toBe(400);
    expect(e.status.message).toBe('Invalid JSON Patch');
  });
});

const podSchema = getType('Pod');

function pod(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec };
}

describe('strategic merge patch', () => {
  it('merges containers by name and env by name', () => {
    const orig = pod({
      containers: [
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] },
        { name: 'b', image: 'b:1' },
      ],
    });
    const out = applyStrategicMergePatch(orig, { spec: { containers: [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '3' }, { name: 'Z', value: '4' }] }] } }, podSchema);
    expect(out).toEqual(
      pod({
        containers: [
          { name: 'a', image: 'a:2', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '3' }, { name: 'Z', value: '4' }] },
          { name: 'b', image: 'b:1' },
        ],
      }),
    );
  });

  it('appends new keyed items and replaces atomic lists', () => {
    const orig = pod({ containers: [{ name: 'a', image: 'a', command: ['x', 'y'] }], tolerations: [{ key: 'k', operator: 'Exists' }] });
    const out = applyStrategicMergePatch(
      orig,
      { spec: { containers: [{ name: 'b', image: 'b' }, { name: 'a', command: ['z'] }], tolerations: [{ key: 'other', operator: 'Exists' }] } },
      podSchema,
    );
    expect(out).toEqual(pod({ containers: [{ name: 'a', image: 'a', command: ['z'] }, { name: 'b', image: 'b' }], tolerations: [{ key: 'other', operator: 'Exists' }] }));
  });

  it('merges ports by containerPort and volumeMounts by mountPath', () => {
    const orig = pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'http' }], volumeMounts: [{ name: 'v', mountPath: '/a' }] }] });
    const out = applyStrategicMergePatch(
      orig,
      { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }], volumeMounts: [{ mountPath: '/a', readOnly: true }] }] } },
      podSchema,
    ) as { spec: { containers: { ports: unknown; volumeMounts: unknown }[] } };
    expect(out.spec.containers[0].ports).toEqual([{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 443 }]);
    expect(out.spec.containers[0].volumeMounts).toEqual([{ name: 'v', mountPath: '/a', readOnly: true }]);
  });

  it('null deletes map keys; maps merge recursively', () => {
    const orig = pod({ containers: [] }, { labels: { a: '1', b: '2' }, annotations: { x: 'y' } });
    const out = applyStrategicMergePatch(orig, { metadata: { labels: { a: null, c: '3' }, annotations: null } }, podSchema) as KubeObject;
    expect(out.metadata).toEqual({ name: 'p', labels: { b: '2', c: '3' } });
  });

  it('finalizers merge as a set; $deleteFromPrimitiveList removes', () => {
    const orig = pod({}, { finalizers: ['a', 'b'] });
    const out = applyStrategicMergePatch(orig, { metadata: { finalizers: ['b', 'c'] } }, podSchema) as KubeObject;
    expect(out.metadata?.finalizers).toEqual(['a', 'b', 'c']);
    const out2 = applyStrategicMergePatch(orig, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, podSchema) as KubeObject;
    expect(out2.metadata?.finalizers).toEqual(['b']);
  });

  it('$setElementOrder for primitives combined with deletes', () => {
    const orig = pod({}, { finalizers: ['a', 'b', 'c'] });
    const out = applyStrategicMergePatch(
      orig,
      { metadata: { '$setElementOrder/finalizers': ['c', 'a', 'd'], '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['d'] } },
      podSchema,
    ) as KubeObject;
    expect(out.metadata?.finalizers).toEqual(['c', 'a', 'd']);
  });

  it('ownerReferences merge by uid', () => {
    const orig = pod({}, { ownerReferences: [{ uid: '1', name: 'a', kind: 'ReplicaSet', apiVersion: 'apps/v1' }] });
    const out = applyStrategicMergePatch(orig, { metadata: { ownerReferences: [{ uid: '2', name: 'b', kind: 'X', apiVersion: 'v1' }] } }, podSchema) as KubeObject;
    expect(out.metadata?.ownerReferences?.map((r) => r.uid)).toEqual(['1', '2']);
  });

  it('$patch: delete removes a keyed list item', () => {
    const orig = pod({ containers: [{ name: 'a' }, { name: 'b' }] });
    const out = applyStrategicMergePatch(orig, { spec: { containers: [{ $patch: 'delete', name: 'a' }] } }, podSchema);
    expect(out).toEqual(pod({ containers: [{ name: 'b' }] }));
  });

  it('$patch: replace in a list replaces the whole list', () => {
    const orig = pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b' }] });
    const out = applyStrategicMergePatch(orig, { spec: { containers: [{ name: 'c', image: 'c' }, { $patch: 'replace' }] } }, podSchema);
    expect(out).toEqual(pod({ containers: [{ name: 'c', image: 'c' }] }));
  });

  it('$patch: replace in a map replaces the map; $patch: delete empties it', () => {
    const orig = pod({ containers: [], nodeSelector: { a: '1', b: '2' }, securityContext: { runAsUser: 1 } });
    const out = applyStrategicMergePatch(orig, { spec: { nodeSelector: { c: '3', $patch: 'replace' }, securityContext: { $patch: 'delete' } } }, podSchema);
    expect(out).toEqual(pod({ containers: [], nodeSelector: { c: '3' }, securityContext: {} }));
  });

  it('$patch: merge inside a list is rejected', () => {
    const e = apiErr(() => applyStrategicMergePatch(pod({ containers: [{ name: 'a' }] }), { spec: { containers: [{ name: 'a', $patch: 'merge' }] } }, podSchema));
    expect(e.statusCode).toBe(400);
  });

  it('$retainKeys keeps only the listed keys (volumes are merge,retainKeys)', () => {
    const orig = pod({ containers: [], volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', emptyDir: {} }] });
    const out = applyStrategicMergePatch(
      orig,
      { spec: { volumes: [{ name: 'v', hostPath: { path: '/x' }, $retainKeys: ['hostPath', 'name'] }] } },
      podSchema,
    );
    expect(out).toEqual(pod({ containers: [], volumes: [{ name: 'v', hostPath: { path: '/x' } }, { name: 'w', emptyDir: {} }] }));
  });

  it('$retainKeys on a Deployment strategy (retainKeys field)', () => {
    const orig = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } };
    const out = applyStrategicMergePatch(orig, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, getType('Deployment'));
    expect(out).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });

  it('patch content outside $retainKeys is 422; bad $retainKeys is 400', () => {
    const orig = { spec: { strategy: { type: 'RollingUpdate' } } };
    expect(apiErr(() => applyStrategicMergePatch(orig, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, getType('Deployment'))).statusCode).toBe(422);
    expect(apiErr(() => applyStrategicMergePatch(orig, { spec: { strategy: { $retainKeys: 'type' } } }, getType('Deployment'))).statusCode).toBe(400);
  });

  it('$setElementOrder reorders keyed lists and keeps server-only items in place', () => {
    const orig = pod({ containers: [{ name: 'a' }, { name: 'server' }, { name: 'b' }, { name: 'c' }] });
    const out = applyStrategicMergePatch(
      orig,
      { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }], containers: [{ name: 'b', image: 'new' }] } },
      podSchema,
    ) as { spec: { containers: { name: string }[] } };
    // mergeSortedSlice: `server` (original index 1) goes before `c` (original index 3).
    expect(out.spec.containers.map((c) => c.name)).toEqual(['server', 'c', 'a', 'b']);
    expect(out.spec.containers[3]).toEqual({ name: 'b', image: 'new' });
  });

  it('a $setElementOrder that contradicts the patch list is 400', () => {
    const e = apiErr(() =>
      applyStrategicMergePatch(pod({ containers: [] }), { spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'b' }] } }, podSchema),
    );
    expect(e.statusCode).toBe(400);
    expect(e.status.message).toBe('invalid patch format of setElementOrder list');
  });

  it('a missing merge key is rejected', () => {
    expect(apiErr(() => applyStrategicMergePatch(pod({ containers: [] }), { spec: { containers: [{ image: 'x' }] } }, podSchema)).statusCode).toBe(400);
  });

  it('unknown fields merge as plain JSON', () => {
    const out = applyStrategicMergePatch({ spec: { foo: { a: 1 } } }, { spec: { foo: { b: 2 }, bar: [1] } }, podSchema);
    expect(out).toEqual({ spec: { foo: { a: 1, b: 2 }, bar: [1] } });
  });

  it('service ports merge by port', () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }] } };
    const out = applyStrategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, getType('Service'));
    expect(out).toEqual({ spec: { ports: [{ port: 80, targetPort: 9090, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }] } });
  });

  it('a non-object patch is 400', () => {
    expect(apiErr(() => applyStrategicMergePatch({}, [1], podSchema)).status.message).toBe(
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });
});

interface Capture {
  cases: Record<string, { live: KubeObject; patch: unknown; applied: KubeObject }>;
}
const capture = JSON.parse(readFileSync(new URL('./testdata/kubectl-apply.json', import.meta.url), 'utf8')) as Capture;

describe('kubectl apply patches (captured from kubectl 1.32)', () => {
  const lastApplied = (o: KubeObject): string | undefined => o.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];

  it('Deployment: changed replicas and image, removed env var, reordered ports', () => {
    const c = capture.cases.deployment;
    const out = applyPatch(Deployments, c.live, 'strategic', c.patch) as unknown as {
      spec: { replicas: number; template: { spec: { containers: { image: string; env: unknown; ports: unknown; imagePullPolicy: string }[] } } };
    } & KubeObject;
    expect(out.spec.replicas).toBe(3);
    const ctr = out.spec.template.spec.containers[0];
    expect(ctr.image).toBe('nginx:1.25');
    expect(ctr.env).toEqual([{ name: 'A', value: '1' }]);
    expect(ctr.ports).toEqual([{ containerPort: 443, protocol: 'TCP' }, { containerPort: 80, protocol: 'TCP' }]);
    expect(ctr.imagePullPolicy).toBe('IfNotPresent'); // server-side default kept
    expect(JSON.parse(lastApplied(out) ?? '{}').spec.replicas).toBe(3);
    expect(c.live.metadata?.annotations).toBeDefined();
  });

  it('Service: reordered ports and a changed targetPort', () => {
    const c = capture.cases.service;
    const out = applyPatch(Services, c.live, 'strategic', c.patch) as unknown as { spec: { ports: unknown[]; clusterIP: string } };
    expect(out.spec.ports).toEqual([
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 443 },
      { name: 'http', port: 80, targetPort: 8081, protocol: 'TCP' },
    ]);
    expect(out.spec.clusterIP).toBe('10.96.0.10');
  });

  it('ConfigMap: removed and added keys', () => {
    const c = capture.cases.configmap;
    const out = applyPatch(ConfigMaps, c.live, 'strategic', c.patch) as unknown as { data: Record<string, string> };
    expect(out.data).toEqual({ a: '1', c: '3' });
  });

  it('Pod: changed image and an added label', () => {
    const c = capture.cases.pod;
    const out = applyPatch(Pods, c.live, 'strategic', c.patch) as unknown as { spec: { containers: unknown[] } } & KubeObject;
    expect(out.spec.containers).toEqual([{ name: 'c', image: 'busybox:1.37', command: ['sleep', '3600'] }]);
    expect(out.metadata?.labels).toEqual({ app: 'p', tier: 'x' });
    expect(JSON.parse(lastApplied(out) ?? '{}').spec).toEqual((c.applied as { spec?: unknown }).spec);
  });

  it('never mutates the live object', () => {
    const c = capture.cases.deployment;
    const before = JSON.stringify(c.live);
    applyPatch(Deployments, c.live, 'strategic', c.patch);
    expect(JSON.stringify(c.live)).toBe(before);
  });
});

describe('applyPatch', () => {
  it('server-side apply is 415 for now', () => {
    expect(apiErr(() => applyPatch(Pods, {}, 'apply', {})).statusCode).toBe(415);
  });
  it('dispatches json and merge patches', () => {
    expect(applyPatch(Pods, { metadata: { name: 'a' } }, 'json', [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }]).metadata).toEqual({ name: 'a', labels: { x: 'y' } });
    expect(applyPatch(Pods, { metadata: { name: 'a' } }, 'merge', { metadata: { labels: { x: 'y' } } }).metadata).toEqual({ name: 'a', labels: { x: 'y' } });
  });
});
