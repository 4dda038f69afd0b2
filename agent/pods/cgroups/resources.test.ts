import { describe, expect, it } from 'vitest';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import {
  computeQosClass,
  containerResources,
  milliCpuToQuota,
  milliCpuToShares,
  oomScoreAdj,
  podLimits,
  podRequests,
  podResourceConfig,
  qosClass,
  sharesToWeight,
} from './index.js';
import { expandSlice, parseCgroupRoot, podCgroupName, podUidFromDirName, renderName, toCgroupfs, toSystemd } from './names.js';

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };

function ctr(name: string, r: Res = {}, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox', resources: r, ...extra };
}

function pod(containers: Container[], extra: { init?: Container[]; status?: Pod['status']; overhead?: Record<string, string> } = {}): Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: '11111111-2222-3333-4444-555555555555' },
    spec: { containers, initContainers: extra.init, overhead: extra.overhead },
    status: extra.status,
  };
}

const GI = 1024 ** 3;

describe('qosClass', () => {
  it.each<[string, Container[], string]>([
    ['no resources', [ctr('a')], 'BestEffort'],
    ['requests only', [ctr('a', { requests: { memory: '256Mi' } })], 'Burstable'],
    ['equal requests and limits', [ctr('a', { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } })], 'Guaranteed'],
    ['equal by value, different spelling', [ctr('a', { requests: { cpu: '0.5', memory: '1Gi' }, limits: { cpu: '500m', memory: '1024Mi' } })], 'Guaranteed'],
    ['requests below limits', [ctr('a', { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } })], 'Burstable'],
    ['limits only (not defaulted)', [ctr('a', { limits: { cpu: '500m', memory: '256Mi' } })], 'Burstable'],
    ['cpu limit missing', [ctr('a', { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi' } })], 'Burstable'],
    [
      'one of two containers not guaranteed',
      [ctr('a', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }), ctr('b')],
      'Burstable',
    ],
    ['only extended resources', [ctr('a', { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '1' } })], 'BestEffort'],
    ['zero quantities', [ctr('a', { requests: { cpu: '0' }, limits: { memory: '0' } })], 'BestEffort'],
  ])('%s → %s', (_, containers, want) => {
    expect(computeQosClass(pod(containers))).toBe(want);
  });

  it('counts init containers', () => {
    const g = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
    expect(qosClass(pod([ctr('a', g)], { init: [ctr('i')] }))).toBe('Burstable');
    expect(qosClass(pod([ctr('a', g)], { init: [ctr('i', g)] }))).toBe('Guaranteed');
  });

  it('prefers status.qosClass', () => {
    expect(qosClass(pod([ctr('a')], { status: { qosClass: 'Burstable' } }))).toBe('Burstable');
  });
});

describe('podRequests / podLimits', () => {
  it('sums containers, takes the max with init containers, adds overhead', () => {
    const p = pod([ctr('a', { requests: { cpu: '100m', memory: '64Mi' } }), ctr('b', { requests: { cpu: '200m' } })], {
      init: [ctr('i', { requests: { cpu: '500m', memory: '32Mi' } })],
      overhead: { cpu: '10m' },
    });
    expect(podRequests(p)).toEqual({ cpu: 510, memory: 64 * 1024 ** 2 });
  });

  it('adds sidecars to the sum and to later init containers', () => {
    const p = pod([ctr('a', { requests: { cpu: '100m' } })], {
      init: [
        ctr('side', { requests: { cpu: '200m' } }, { restartPolicy: 'Always' }),
        ctr('later', { requests: { cpu: '250m' } }),
      ],
    });
    // regular 100 + sidecar 200 = 300; init "later" runs beside the sidecar: 250 + 200 = 450.
    expect(podRequests(p).cpu).toBe(450);
  });

  it('adds overhead to non-zero limits only', () => {
    const p = pod([ctr('a', { limits: { cpu: '1' } })], { overhead: { cpu: '100m', memory: '10Mi' } });
    expect(podLimits(p)).toEqual({ cpu: 1100 });
  });
});

describe('cpu conversions', () => {
  it('shares', () => {
    expect(milliCpuToShares(0)).toBe(2);
    expect(milliCpuToShares(1)).toBe(2);
    expect(milliCpuToShares(100)).toBe(102);
    expect(milliCpuToShares(1000)).toBe(1024);
    expect(milliCpuToShares(500)).toBe(512);
    expect(milliCpuToShares(1_000_000)).toBe(262144);
  });
  it('quota', () => {
    expect(milliCpuToQuota(0)).toBe(0);
    expect(milliCpuToQuota(1)).toBe(1000);
    expect(milliCpuToQuota(250)).toBe(25000);
    expect(milliCpuToQuota(2000)).toBe(200000);
  });
  it('v2 weight', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });
});

describe('podResourceConfig', () => {
  it('Guaranteed: shares, quota, period, memory', () => {
    const p = pod([ctr('a', { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } })]);
    expect(podResourceConfig(p)).toEqual({ cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, memoryLimit: 256 * 1024 ** 2 });
  });
  it('Burstable with all limits declared', () => {
    const p = pod([ctr('a', { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } })]);
    expect(podResourceConfig(p)).toEqual({ cpuShares: 102, cpuQuota: 100000, cpuPeriod: 100000, memoryLimit: 128 * 1024 ** 2 });
  });
  it('Burstable with a container lacking limits: shares only', () => {
    const p = pod([ctr('a', { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '1Gi' } }), ctr('b', { requests: { memory: '1Mi' } })]);
    expect(podResourceConfig(p)).toEqual({ cpuShares: 102 });
  });
  it('an init container without a cpu limit drops the pod quota', () => {
    const p = pod([ctr('a', { requests: { cpu: '100m', memory: '1Mi' }, limits: { cpu: '1', memory: '1Gi' } })], {
      init: [ctr('i', { limits: { memory: '1Gi' } })],
    });
    expect(podResourceConfig(p)).toEqual({ cpuShares: 102, memoryLimit: GI });
  });
  it('BestEffort: 2 shares', () => {
    expect(podResourceConfig(pod([ctr('a')]))).toEqual({ cpuShares: 2 });
  });
  it('cpuCFSQuota off: quota -1', () => {
    const p = pod([ctr('a', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } })]);
    expect(podResourceConfig(p, { enforceCpuLimits: false }).cpuQuota).toBe(-1);
  });
});

describe('oomScoreAdj', () => {
  const cap = 10 * GI;
  it('Guaranteed -997, BestEffort 1000', () => {
    const g = ctr('a', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(oomScoreAdj(pod([g]), g, cap)).toBe(-997);
    const b = ctr('a');
    expect(oomScoreAdj(pod([b]), b, cap)).toBe(1000);
  });
  it('Burstable: 1000 - 1000*request/capacity, clamped to [3, 999]', () => {
    const c = ctr('a', { requests: { memory: '1Gi' } });
    expect(oomScoreAdj(pod([c]), c, cap)).toBe(900);
    const tiny = ctr('a', { requests: { memory: '1Ki' } });
    expect(oomScoreAdj(pod([tiny]), tiny, cap)).toBe(999);
    const huge = ctr('a', { requests: { memory: '10Gi' } });
    expect(oomScoreAdj(pod([huge]), huge, cap)).toBe(3);
    const noMem = ctr('a', { requests: { cpu: '1' } });
    expect(oomScoreAdj(pod([noMem]), noMem, cap)).toBe(999);
  });
  it('node-critical static pods get -997', () => {
    const c = ctr('a', { requests: { memory: '1Gi' } });
    const p = pod([c]);
    p.metadata!.annotations = { 'kubernetes.io/config.source': 'file' };
    p.spec!.priorityClassName = 'system-node-critical';
    expect(oomScoreAdj(p, c, cap)).toBe(-997);
  });
  it('a sidecar scores at most like the smallest regular container', () => {
    const side = ctr('side', { requests: { memory: '1Ki' } }, { restartPolicy: 'Always' });
    const main = ctr('main', { requests: { memory: '2Gi' } });
    const p = pod([main], { init: [side] });
    expect(oomScoreAdj(p, side, cap)).toBe(800);
  });
});

describe('containerResources', () => {
  const cap = 8 * GI;
  it('requests and limits', () => {
    const c = ctr('a', { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } });
    expect(containerResources(pod([c]), c, cap)).toEqual({
      cpuShares: 256,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      memoryLimitInBytes: 128 * 1024 ** 2,
      oomScoreAdj: 1000 - Math.floor((1000 * 64 * 1024 ** 2) / cap),
    });
  });
  it('no resources: minimum shares, no quota, period still set', () => {
    const c = ctr('a');
    expect(containerResources(pod([c]), c, cap)).toEqual({ cpuShares: 2, cpuQuota: 0, cpuPeriod: 100000, oomScoreAdj: 1000 });
  });
  it('a cpu limit without a request gives shares from the limit', () => {
    const c = ctr('a', { limits: { cpu: '2' } });
    expect(containerResources(pod([c]), c, cap).cpuShares).toBe(2048);
  });
  it('cpuCFSQuota off omits quota and period', () => {
    const c = ctr('a', { limits: { cpu: '2' } });
    const r = containerResources(pod([c]), c, cap, { cpuCfsQuota: false });
    expect(r.cpuQuota).toBeUndefined();
    expect(r.cpuPeriod).toBeUndefined();
  });
});

describe('cgroup names', () => {
  const uid = '11111111-2222-3333-4444-555555555555';
  it('cgroupfs', () => {
    expect(toCgroupfs(podCgroupName([], 'Burstable', uid))).toBe(`/kubepods/burstable/pod${uid}`);
    expect(toCgroupfs(podCgroupName([], 'Guaranteed', uid))).toBe(`/kubepods/pod${uid}`);
    expect(toCgroupfs(podCgroupName(['skiff-test'], 'BestEffort', uid))).toBe(`/skiff-test/kubepods/besteffort/pod${uid}`);
  });
  it('systemd', () => {
    const u = uid.replace(/-/g, '_');
    expect(toSystemd(podCgroupName([], 'Burstable', uid))).toBe(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`);
    expect(toSystemd(podCgroupName([], 'Guaranteed', uid))).toBe(`/kubepods.slice/kubepods-pod${u}.slice`);
    expect(renderName('systemd', [])).toBe('/');
    expect(expandSlice('a-b-c.slice')).toBe('/a.slice/a-b.slice/a-b-c.slice');
    expect(() => expandSlice('a/b.slice')).toThrow(/invalid slice/);
  });
  it('parses roots and pod directory names', () => {
    expect(parseCgroupRoot('cgroupfs', '/')).toEqual([]);
    expect(parseCgroupRoot('cgroupfs', '/a/b')).toEqual(['a', 'b']);
    expect(parseCgroupRoot('systemd', 'foo-bar.slice')).toEqual(['foo', 'bar']);
    expect(podUidFromDirName('cgroupfs', `pod${uid}`)).toBe(uid);
    expect(podUidFromDirName('cgroupfs', 'burstable')).toBeUndefined();
    expect(podUidFromDirName('systemd', `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`)).toBe(uid);
    expect(podUidFromDirName('systemd', 'kubepods-burstable.slice')).toBeUndefined();
  });
});
