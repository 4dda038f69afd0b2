import { describe, expect, it } from 'vitest';
import type { Container, Node, Pod } from 'kubernetes-types/core/v1.js';
import { admitPod } from './index.js';

let n = 0;
function pod(containers: Partial<Container>[], spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  n++;
  return {
    metadata: { name: `p${n}`, namespace: 'default', uid: `uid-${n}`, ...meta },
    spec: { containers: containers.map((c, i) => ({ name: `c${i}`, image: 'x', ...c })), ...spec },
  };
}

function node(extra: { allocatable?: Record<string, string>; labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints'] } = {}): Node {
  return {
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', 'kubernetes.io/os': 'linux', ...extra.labels } },
    spec: { taints: extra.taints },
    status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110', 'ephemeral-storage': '10Gi', ...extra.allocatable } },
  };
}

const req = (r: Record<string, string>): Partial<Container> => ({ resources: { requests: r } });

describe('admitPod', () => {
  it('admits a pod that fits', () => {
    expect(admitPod(pod([req({ cpu: '500m' })]), { node: node(), activePods: [] })).toEqual({ admit: true });
  });

  it('rejects on cpu with kubelet reason and message', () => {
    const others = [pod([req({ cpu: '1800m' })])];
    expect(admitPod(pod([req({ cpu: '500m' })]), { node: node(), activePods: others })).toEqual({
      admit: false,
      reason: 'OutOfcpu',
      message: "Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000",
    });
  });

  it('rejects on memory and ephemeral-storage in bytes', () => {
    const r = admitPod(pod([req({ memory: '5Gi' })]), { node: node(), activePods: [] });
    expect(r).toEqual({
      admit: false,
      reason: 'OutOfmemory',
      message: `Node didn't have enough resource: memory, requested: ${5 * 1024 ** 3}, used: 0, capacity: ${4 * 1024 ** 3}`,
    });
    const e = admitPod(pod([req({ 'ephemeral-storage': '11Gi' })]), { node: node(), activePods: [] });
    expect(e.admit === false && e.reason).toBe('OutOfephemeral-storage');
  });

  it('rejects past maxPods even for a pod without requests', () => {
    const others = [pod([{}]), pod([{}])];
    expect(admitPod(pod([{}]), { node: node({ allocatable: { pods: '2' } }), activePods: others })).toEqual({
      admit: false,
      reason: 'OutOfpods',
      message: "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2",
    });
  });

  it('ignores terminated pods and the pod itself', () => {
    const p = pod([req({ cpu: '1500m' })]);
    const done = pod([req({ cpu: '1500m' })]);
    Object.assign(done, { status: { phase: 'Succeeded' } });
    expect(admitPod(p, { node: node(), activePods: [p, done] })).toEqual({ admit: true });
  });

  it('checks extended resources the node has, ignores those it does not', () => {
    expect(admitPod(pod([req({ 'example.com/gpu': '1' })]), { node: node(), activePods: [] })).toEqual({ admit: true });
    const r = admitPod(pod([req({ 'example.com/gpu': '2' })]), { node: node({ allocatable: { 'example.com/gpu': '1' } }), activePods: [] });
    expect(r).toEqual({ admit: false, reason: 'OutOfexample.com/gpu', message: "Node didn't have enough resource: example.com/gpu, requested: 2, used: 0, capacity: 1" });
  });

  it('enforces nodeSelector and required node affinity', () => {
    const sel = pod([{}], { nodeSelector: { disk: 'ssd' } });
    expect(admitPod(sel, { node: node(), activePods: [] })).toEqual({
      admit: false,
      reason: 'NodeAffinity',
      message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
    });
    expect(admitPod(sel, { node: node({ labels: { disk: 'ssd' } }), activePods: [] })).toEqual({ admit: true });

    const aff = (op: string, values?: string[], key = 'zone'): Pod =>
      pod([{}], {
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: op, values }] }] } },
        },
      });
    const zoned = node({ labels: { zone: 'a', cores: '8' } });
    expect(admitPod(aff('In', ['a', 'b']), { node: zoned, activePods: [] }).admit).toBe(true);
    expect(admitPod(aff('In', ['b']), { node: zoned, activePods: [] }).admit).toBe(false);
    expect(admitPod(aff('NotIn', ['b']), { node: zoned, activePods: [] }).admit).toBe(true);
    expect(admitPod(aff('Exists'), { node: zoned, activePods: [] }).admit).toBe(true);
    expect(admitPod(aff('DoesNotExist'), { node: zoned, activePods: [] }).admit).toBe(false);
    expect(admitPod(aff('Gt', ['4'], 'cores'), { node: zoned, activePods: [] }).admit).toBe(true);
    expect(admitPod(aff('Lt', ['4'], 'cores'), { node: zoned, activePods: [] }).admit).toBe(false);

    const byName = pod([{}], {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['other'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }],
          },
        },
      },
    });
    expect(admitPod(byName, { node: node(), activePods: [] }).admit).toBe(true);
  });

  it('rejects a pod bound to another node', () => {
    expect(admitPod(pod([{}], { nodeName: 'node-2' }), { node: node(), activePods: [] })).toEqual({
      admit: false,
      reason: 'NodeName',
      message: "Predicate NodeName failed: node(s) didn't match the requested node name",
    });
  });

  it('detects host port conflicts, with 0.0.0.0 colliding with every IP', () => {
    const hp = (port: number, hostIP?: string, protocol?: string): Partial<Container> => ({ ports: [{ containerPort: 80, hostPort: port, hostIP, protocol }] });
    const running = [pod([hp(8080, '10.0.0.1')])];
    expect(admitPod(pod([hp(8080)]), { node: node(), activePods: running })).toEqual({
      admit: false,
      reason: 'NodePorts',
      message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    });
    expect(admitPod(pod([hp(8080, '10.0.0.2')]), { node: node(), activePods: running }).admit).toBe(true);
    expect(admitPod(pod([hp(8080, '10.0.0.1', 'UDP')]), { node: node(), activePods: running }).admit).toBe(true);
    expect(admitPod(pod([hp(8080, '10.0.0.1')]), { node: node(), activePods: running }).admit).toBe(false);
    expect(admitPod(pod([hp(8081)]), { node: node(), activePods: running }).admit).toBe(true);
  });

  it('rejects untolerated NoExecute taints only, and not for static pods', () => {
    const tainted = node({ taints: [{ key: 'maint', value: 'yes', effect: 'NoExecute' }, { key: 'x', effect: 'NoSchedule' }] });
    expect(admitPod(pod([{}]), { node: tainted, activePods: [] })).toEqual({
      admit: false,
      reason: 'TaintToleration',
      message: "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate",
    });
    expect(admitPod(pod([{}], { tolerations: [{ key: 'maint', operator: 'Equal', value: 'yes' }] }), { node: tainted, activePods: [] }).admit).toBe(true);
    expect(admitPod(pod([{}], { tolerations: [{ operator: 'Exists' }] }), { node: tainted, activePods: [] }).admit).toBe(true);
    expect(admitPod(pod([{}], { tolerations: [{ key: 'maint', value: 'no' }] }), { node: tainted, activePods: [] }).admit).toBe(false);
    expect(admitPod(pod([{}], {}, { annotations: { 'kubernetes.io/config.source': 'file' } }), { node: tainted, activePods: [] }).admit).toBe(true);
  });

  it('reports the first failure in kubelet order (resources before affinity)', () => {
    const r = admitPod(pod([req({ cpu: '3' })], { nodeSelector: { disk: 'ssd' } }), { node: node(), activePods: [] });
    expect(r.admit === false && r.reason).toBe('OutOfcpu');
  });

  it('rejects a pod whose OS label or field is not linux', () => {
    expect(admitPod(pod([{}], {}, { labels: { 'kubernetes.io/os': 'windows' } }), { node: node(), activePods: [] })).toEqual({
      admit: false,
      reason: 'PodOSSelectorNodeLabelDoesNotMatch',
      message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
    });
    expect(admitPod(pod([{}], { os: { name: 'windows' } }), { node: node(), activePods: [] })).toEqual({
      admit: false,
      reason: 'PodOSNotSupported',
      message: "Failed to admit pod as the OS field doesn't match node OS",
    });
  });
});
