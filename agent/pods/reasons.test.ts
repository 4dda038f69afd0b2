import { describe, expect, it } from 'vitest';
import { ALLOWED_MOVES, CONTAINER_REASONS, isAllowedMove, reasonOf, type ContainerReason } from './reasons.js';

describe('container reason table', () => {
  it('covers every reason, and every move lands on a known reason', () => {
    for (const r of Object.keys(CONTAINER_REASONS) as ContainerReason[]) {
      expect(ALLOWED_MOVES[r], r).toBeDefined();
      for (const to of ALLOWED_MOVES[r]) expect(CONTAINER_REASONS[to], `${r} → ${to}`).toBeDefined();
    }
  });

  it('allows the lifecycles kubelet shows', () => {
    const paths: ContainerReason[][] = [
      ['ContainerCreating', 'Running', 'Completed'],
      ['ContainerCreating', 'ErrImagePull', 'ImagePullBackOff', 'ErrImagePull', 'Running'],
      ['PodInitializing', 'Running', 'Error', 'CrashLoopBackOff', 'Running', 'CrashLoopBackOff'],
      ['ContainerCreating', 'CreateContainerConfigError', 'Running'],
      ['Running', 'OOMKilled', 'Running'],
      ['ContainerCreating', 'RunContainerError', 'CrashLoopBackOff'],
      ['Running', 'ContainerStatusUnknown', 'Running'],
    ];
    for (const p of paths) for (let i = 1; i < p.length; i++) expect(isAllowedMove(p[i - 1], p[i]), `${p[i - 1]} → ${p[i]}`).toBe(true);
  });

  it('refuses moves that cannot happen', () => {
    expect(isAllowedMove('ContainerCreating', 'CrashLoopBackOff')).toBe(false); // never ran, cannot crash-loop
    expect(isAllowedMove('PodInitializing', 'CrashLoopBackOff')).toBe(false);
    expect(isAllowedMove('ContainerStatusUnknown', 'Completed')).toBe(false);
    expect(isAllowedMove('ErrImagePull', 'CrashLoopBackOff')).toBe(false);
  });

  it('reads the reason of an API container state', () => {
    expect(reasonOf({ running: { startedAt: 'x' } })).toBe('Running');
    expect(reasonOf({ waiting: { reason: 'CrashLoopBackOff' } })).toBe('CrashLoopBackOff');
    expect(reasonOf({ terminated: { exitCode: 0, reason: 'Completed' } })).toBe('Completed');
    expect(reasonOf({ waiting: {} })).toBeUndefined();
    expect(reasonOf({ waiting: { reason: 'SomethingElse' } })).toBeUndefined();
    expect(isAllowedMove(undefined, 'Running')).toBe(true);
  });
});
