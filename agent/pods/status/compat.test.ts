import { describe, expect, it } from 'vitest';
import type { PodStatus } from 'kubernetes-types/core/v1.js';
import { ApiError, statusFailure } from '../../../lib/kube/index.js';
import { PodStatusCompat, parseServerVersion } from './compat.js';

const status: PodStatus = {
  phase: 'Running',
  hostIP: '10.0.0.1',
  hostIPs: [{ ip: '10.0.0.1' }],
  podIP: '10.244.0.5',
  podIPs: [{ ip: '10.244.0.5' }],
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: true, restartCount: 0, started: true, volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
};

describe('parseServerVersion', () => {
  it('reads gitVersion, with build metadata, or the minor field', () => {
    expect(parseServerVersion('v1.20.2')).toEqual({ major: 1, minor: 20 });
    expect(parseServerVersion('v1.28.3+k3s1')).toEqual({ major: 1, minor: 28 });
    expect(parseServerVersion(undefined, '21+')).toEqual({ major: 1, minor: 21 });
    expect(parseServerVersion('devel')).toBeUndefined();
  });
});

describe('PodStatusCompat', () => {
  it('leaves everything in for a current server, and returns the same object', () => {
    const c = new PodStatusCompat();
    c.setServerVersion({ major: 1, minor: 33 });
    expect(c.droppedFields()).toEqual([]);
    expect(c.prune(status)).toBe(status);
  });

  it('leaves out what kube-apiserver 1.20 does not know (hostIPs, containerStatuses[].volumeMounts), keeping the rest', () => {
    const c = new PodStatusCompat();
    c.setServerVersion({ major: 1, minor: 20 });
    expect(c.droppedFields()).toContain('PodStatus.hostIPs');
    expect(c.droppedFields()).not.toContain('PodStatus.podIPs');
    const p = c.prune(status);
    expect(p.hostIPs).toBeUndefined();
    expect(p.hostIP).toBe('10.0.0.1');
    expect(p.podIPs).toEqual([{ ip: '10.244.0.5' }]);
    expect(p.containerStatuses?.[0]).toEqual({ name: 'c', image: 'i', imageID: '', ready: true, restartCount: 0, started: true });
    // The input is not changed.
    expect(status.hostIPs).toHaveLength(1);
    expect(status.containerStatuses?.[0].volumeMounts).toHaveLength(1);
  });

  it('learns a field from the apiserver’s strategic-merge error, once', () => {
    const c = new PodStatusCompat();
    const err = new ApiError(statusFailure(500, 'InternalError', 'unable to find api field in struct PodStatus for the json field "hostIPs"'));
    expect(c.learn(err)).toBe(true);
    expect(c.learn(err)).toBe(false);
    expect(c.learn(new Error('connection refused'))).toBe(false);
    expect(c.learn(new Error('unable to find api field in struct Unrelated for the json field "x"'))).toBe(false);
    expect(c.prune(status).hostIPs).toBeUndefined();
  });
});
