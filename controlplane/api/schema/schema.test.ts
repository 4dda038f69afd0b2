import { describe, expect, it } from 'vitest';
import { EndpointSlicesV1beta1, SERVED_RESOURCES } from '../../../lib/kube/resources.js';
import { fieldOf, getType, schemaForType, typeNames, type FieldType } from './index.js';

function refs(t: FieldType): string[] {
  if (t.kind === 'object') return [t.ref];
  if (t.kind === 'list') return refs(t.items);
  if (t.kind === 'map') return refs(t.values);
  return [];
}

describe('schemas', () => {
  it('every served kind has a schema', () => {
    for (const r of [...SERVED_RESOURCES, EndpointSlicesV1beta1]) {
      const s = schemaForType(r);
      expect(s, r.kind).toBeDefined();
      expect(Object.keys(s!.fields)).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'metadata']));
    }
  });
  it('every referenced type is defined', () => {
    for (const name of typeNames()) {
      for (const f of Object.values(getType(name).fields)) for (const r of refs(f.type)) expect(() => getType(r), `${name} → ${r}`).not.toThrow();
    }
  });
  it('merge keys are fields of the item type', () => {
    for (const name of typeNames()) {
      for (const [k, f] of Object.entries(getType(name).fields)) {
        if (!f.patchMergeKey) continue;
        expect(f.type.kind, `${name}.${k}`).toBe('list');
        const item = f.type.kind === 'list' ? f.type.items : f.type;
        if (item.kind === 'object') expect(fieldOf(getType(item.ref), f.patchMergeKey), `${name}.${k}`).toBeDefined();
      }
    }
  });
  it.each([
    ['PodSpec', 'containers', 'merge', 'name'],
    ['PodSpec', 'volumes', 'merge,retainKeys', 'name'],
    ['PodSpec', 'imagePullSecrets', 'merge', 'name'],
    ['PodSpec', 'hostAliases', 'merge', 'ip'],
    ['PodSpec', 'tolerations', undefined, undefined],
    ['Container', 'env', 'merge', 'name'],
    ['Container', 'ports', 'merge', 'containerPort'],
    ['Container', 'volumeMounts', 'merge', 'mountPath'],
    ['ObjectMeta', 'ownerReferences', 'merge', 'uid'],
    ['ObjectMeta', 'finalizers', 'merge', undefined],
    ['ServiceSpec', 'ports', 'merge', 'port'],
    ['PodStatus', 'conditions', 'merge', 'type'],
    ['NodeStatus', 'addresses', 'merge', 'type'],
    ['DeploymentSpec', 'strategy', 'retainKeys', undefined],
  ])('%s.%s is %s by %s', (type, field, strategy, key) => {
    const f = getType(type).fields[field];
    expect(f.patchStrategy).toBe(strategy);
    expect(f.patchMergeKey).toBe(key);
  });
});
