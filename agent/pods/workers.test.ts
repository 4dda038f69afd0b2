import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import type { SyncContext, SyncOutcome } from './syncer.js';
import { PodWorkers, type PodWorkerSyncer } from './workers.js';

function mkPod(rv: string, meta: Partial<NonNullable<Pod['metadata']>> = {}, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return { metadata: { name: 'p', namespace: 'ns', uid: 'u1', resourceVersion: rv, ...meta }, spec: { containers: [], terminationGracePeriodSeconds: 30, ...spec } };
}

class ScriptedSyncer implements PodWorkerSyncer {
  log: string[] = [];
  gate?: Promise<void>;
  release?: () => void;
  failures = 0;
  terminal = false;
  wakeAt?: number;
  terminatingGate?: Promise<void>;
  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  async sync(pod: Pod, ctx: SyncContext): Promise<SyncOutcome> {
    this.log.push(`sync:${pod.metadata?.resourceVersion}`);
    if (this.gate) {
      const g = this.gate;
      this.gate = undefined;
      await Promise.race([g, new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted'))))]);
    }
    if (this.failures > 0) {
      this.failures--;
      throw new Error('boom');
    }
    return { terminal: this.terminal, failed: false, fingerprint: 'fp', wakeAt: this.wakeAt };
  }
  async syncTerminating(pod: Pod, grace: number, ctx: SyncContext): Promise<SyncOutcome> {
    this.log.push(`terminating:${grace}`);
    if (this.terminatingGate) {
      const g = this.terminatingGate;
      this.terminatingGate = undefined;
      await Promise.race([g, new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted'))))]);
    }
    return { terminal: true, failed: false, fingerprint: '' };
  }
  async syncTerminated(pod: Pod, deleted: boolean, inApi: boolean): Promise<void> {
    this.log.push(`terminated:${deleted}:${inApi}`);
  }
}

function setup(): { clock: FakeClock; s: ScriptedSyncer; w: PodWorkers; forgotten: string[] } {
  const clock = new FakeClock();
  const s = new ScriptedSyncer();
  const forgotten: string[] = [];
  const w = new PodWorkers({ syncer: s, clock, logger: silentLogger(), resyncIntervalMs: 60_000, random: () => 0, onForget: (u) => forgotten.push(u) });
  return { clock, s, w, forgotten };
}

describe('pod workers', () => {
  it('serializes turns and lets a newer update replace a pending one', async () => {
    const { s, w } = setup();
    s.hold();
    w.update(mkPod('1'));
    w.update(mkPod('2'));
    w.update(mkPod('3'));
    s.release!();
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'sync:3']);
  });

  it('resyncs after syncFrequency, or earlier when a backoff ends', async () => {
    const { clock, s, w } = setup();
    w.update(mkPod('1'));
    await w.idle();
    await clock.advance(59_000);
    expect(s.log).toEqual(['sync:1']);
    await clock.advance(1_000);
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'sync:1']);
    s.wakeAt = clock.now() + 10_000;
    w.wake('u1');
    await w.idle();
    await clock.advance(10_000);
    await w.idle();
    expect(s.log).toHaveLength(4);
  });

  it('retries a failed turn with a growing backoff', async () => {
    const { clock, s, w } = setup();
    s.failures = 3;
    w.update(mkPod('1'));
    await w.idle();
    const times: number[] = [];
    const t0 = clock.now();
    for (let i = 0; i < 60 && s.log.length < 4; i++) {
      const n = s.log.length;
      await clock.advance(250);
      await w.idle();
      if (s.log.length > n) times.push(clock.now() - t0);
    }
    // 1 s, then 2 s, then 4 s (jitter 0)
    expect(times).toEqual([1000, 3000, 7000]);
  });

  it('aborts a running sync when the pod is deleted, then terminates and forgets it', async () => {
    const { s, w, forgotten } = setup();
    s.hold();
    w.update(mkPod('1'));
    w.update(mkPod('2', { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 10 }));
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'terminating:10', 'terminated:true:true']);
    expect(w.phaseOf('u1')).toBe('finished');
    w.update(mkPod('3', { deletionTimestamp: '2026-01-01T00:00:00Z' }), { deleted: true });
    await w.idle();
    expect(w.has('u1')).toBe(false);
    expect(forgotten).toEqual(['u1']);
  });

  it('restarts termination when the grace period shrinks, never when it grows', async () => {
    const { s, w } = setup();
    w.update(mkPod('1'));
    await w.idle();
    s.terminatingGate = new Promise(() => undefined);
    w.update(mkPod('2', { deletionTimestamp: 't', deletionGracePeriodSeconds: 30 }));
    await new Promise((r) => setImmediate(r));
    w.update(mkPod('3', { deletionTimestamp: 't', deletionGracePeriodSeconds: 60 }));
    w.update(mkPod('4', { deletionTimestamp: 't', deletionGracePeriodSeconds: 5 }));
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'terminating:30', 'terminating:5', 'terminated:true:true']);
  });

  it('terminates a pod that finished on its own without deleting anything', async () => {
    const { s, w } = setup();
    s.terminal = true;
    w.update(mkPod('1', {}, { terminationGracePeriodSeconds: 3 }));
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'terminating:3', 'terminated:false:true']);
    expect(w.activePods()).toEqual([]);
    w.update(mkPod('2', { deletionTimestamp: 't' }));
    await w.idle();
    expect(s.log.slice(3)).toEqual(['terminated:true:true']);
  });

  it('ignores wake-ups caused by its own runtime changes', async () => {
    const { s, w } = setup();
    w.update(mkPod('1'));
    await w.idle();
    w.wake('u1', 'fp');
    await w.idle();
    expect(s.log).toEqual(['sync:1']);
    w.wake('u1', 'other');
    await w.idle();
    expect(s.log).toEqual(['sync:1', 'sync:1']);
  });
});
