import { describe, expect, it } from 'vitest';
import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { effectiveTaints, toleratesTaint } from './taints.js';
import { podRequests } from './resources.js';
import { nodeMatchesPod } from './node-affinity.js';
import { SchedulingQueue } from './queue.js';
import { FakeClock } from '../../lib/clock.js';

describe('toleratesTaint', () => {
  const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const cases: [string, Toleration, boolean][] = [
    ['Equal with matching value', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
    ['default operator is Equal', { key: 'dedicated', value: 'gpu' }, true],
    ['an empty operator is Equal too', { key: 'dedicated', operator: '', value: 'gpu' }, true],
    ['an empty operator compares the value', { key: 'dedicated', operator: '', value: 'cpu' }, false],
    ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    ['Exists on the key', { key: 'dedicated', operator: 'Exists' }, true],
    ['Exists with empty key matches every taint', { operator: 'Exists' }, true],
    ['empty effect matches every effect', { key: 'dedicated', operator: 'Exists', effect: '' }, true],
    ['other effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    ['other key', { key: 'other', operator: 'Exists' }, false],
    ['unknown operator', { key: 'dedicated', operator: 'Bogus' as 'Exists' }, false],
  ];
  for (const [name, tol, want] of cases) it(name, () => expect(toleratesTaint(tol, taint)).toBe(want));
});

describe('effectiveTaints', () => {
  const node = (status: string | undefined, taints: Taint[] = []): Node => ({
    spec: { taints },
    status: { conditions: status ? [{ type: 'Ready', status }] : [] },
  });
  it('adds the condition taint the lifecycle controller would add', () => {
    expect(effectiveTaints(node('True'))).toEqual([]);
    expect(effectiveTaints(node('False'))).toEqual([{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
    expect(effectiveTaints(node(undefined))).toEqual([{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
    expect(effectiveTaints(node('Unknown'))).toEqual([{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
    const already = node('Unknown', [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: 'x' }]);
    expect(effectiveTaints(already)).toEqual(already.spec!.taints);
  });
});

describe('podRequests', () => {
  const c = (cpu: string, memory?: string, restartPolicy?: string) => ({
    name: 'c',
    image: 'x',
    ...(restartPolicy ? { restartPolicy } : {}),
    resources: { requests: { cpu, ...(memory ? { memory } : {}) } },
  });
  it('sums containers and takes the largest init container as a floor', () => {
    const pod: Pod = { spec: { containers: [c('100m', '64Mi'), c('200m')], initContainers: [c('500m'), c('50m', '1Gi')] } };
    const r = podRequests(pod);
    expect(r.get('cpu')).toBe(500);
    expect(r.get('memory')).toBe(1024 ** 3);
  });
  it('adds sidecars (restartable init containers) to the sum and to later init containers', () => {
    const pod: Pod = { spec: { containers: [c('100m')], initContainers: [c('200m', undefined, 'Always'), c('250m')] } };
    // Sidecar runs with the app: 100 + 200; the second init container runs with the sidecar: 250 + 200.
    expect(podRequests(pod).get('cpu')).toBe(450);
  });
  it('adds pod overhead and defaults requests to limits', () => {
    const pod: Pod = { spec: { overhead: { cpu: '10m' }, containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } };
    expect(podRequests(pod).get('cpu')).toBe(1010);
    expect(podRequests(pod).get('memory')).toBe(1024 ** 3);
  });
});

describe('nodeMatchesPod', () => {
  const node: Node = { metadata: { name: 'n1', labels: { zone: 'a', gen: '5' } } };
  it('ORs terms and ANDs requirements', () => {
    const pod = (terms: object[]): Pod => ({ spec: { containers: [], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } } });
    expect(nodeMatchesPod(pod([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]), node)).toBe(true);
    expect(nodeMatchesPod(pod([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'gen', operator: 'Lt', values: ['4'] }] }]), node)).toBe(false);
    expect(nodeMatchesPod(pod([{}]), node)).toBe(false);
    expect(nodeMatchesPod(pod([{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n2'] }] }]), node)).toBe(true);
    expect(nodeMatchesPod({ spec: { containers: [], nodeSelector: { zone: 'a' } } }, node)).toBe(true);
    expect(nodeMatchesPod({ spec: { containers: [], nodeSelector: { zone: 'a', disk: 'ssd' } } }, node)).toBe(false);
  });
});

describe('SchedulingQueue', () => {
  it('orders by priority then age, and backs off 1 s doubling to 10 s', async () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue(clock);
    q.add('low', 0);
    q.add('high', 100);
    expect(await q.pop()).toBe('high');
    expect(await q.pop()).toBe('low');
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      q.markUnschedulable('low');
      const start = clock.now();
      let got: string | undefined;
      void q.pop().then((k) => (got = k));
      while (!got) await clock.advance(250);
      delays.push(clock.now() - start);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    q.close();
  });
});
