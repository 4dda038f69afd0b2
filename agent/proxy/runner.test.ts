import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { BoundedFrequencyRunner, type SyncReason } from './runner.js';

function setup(opts: { fail?: (n: number) => boolean; slowMs?: number } = {}) {
  const clock = new FakeClock(0);
  const calls: Array<{ at: number; reason: SyncReason }> = [];
  const runner = new BoundedFrequencyRunner({
    clock,
    logger: silentLogger(),
    minIntervalMs: 1000,
    maxIntervalMs: 30_000,
    backoff: { initialMs: 500, maxMs: 8000, factor: 2 },
    fn: async (reason) => {
      calls.push({ at: clock.now(), reason });
      if (opts.slowMs) await clock.sleep(opts.slowMs);
      if (opts.fail?.(calls.length)) throw new Error('boom');
    },
  });
  return { clock, calls, runner };
}

describe('bounded-frequency runner', () => {
  it('syncs at start, then the first change after idle at once', async () => {
    const { clock, calls, runner } = setup();
    runner.start();
    await clock.advance(0);
    expect(calls).toEqual([{ at: 0, reason: 'initial' }]);
    await clock.advance(5000);
    runner.run();
    await clock.advance(0);
    expect(calls.at(-1)).toEqual({ at: 5000, reason: 'change' });
    await runner.stop();
  });

  it('coalesces a burst within the minimum interval into one sync at its end', async () => {
    const { clock, calls, runner } = setup();
    runner.start();
    await clock.advance(5000);
    runner.run(); // at once, t=5000
    await clock.advance(0);
    for (let i = 0; i < 10; i++) {
      await clock.advance(50);
      runner.run();
    }
    expect(calls.length).toBe(2);
    await clock.advance(499); // t=5999
    expect(calls.length).toBe(2);
    await clock.advance(1); // t=6000 = last start + minInterval
    expect(calls.length).toBe(3);
    expect(calls.at(-1)).toEqual({ at: 6000, reason: 'change' });
    await clock.advance(10_000);
    expect(calls.length).toBe(3); // nothing pending
    await runner.stop();
  });

  it('a change arriving during a sync runs after it, no sooner than minInterval from its start', async () => {
    const { clock, calls, runner } = setup({ slowMs: 300 });
    runner.start();
    await clock.advance(100);
    runner.run();
    await clock.advance(200); // the initial sync ends at 300
    expect(calls.length).toBe(1);
    await clock.advance(699);
    expect(calls.length).toBe(1);
    await clock.advance(1);
    expect(calls.at(-1)).toEqual({ at: 1000, reason: 'change' });
    await clock.advance(300); // let it finish
    await runner.stop();
  });

  it('syncs periodically at the maximum interval', async () => {
    const { clock, calls, runner } = setup();
    runner.start();
    await clock.advance(90_000);
    expect(calls.map((c) => [c.at, c.reason])).toEqual([
      [0, 'initial'],
      [30_000, 'periodic'],
      [60_000, 'periodic'],
      [90_000, 'periodic'],
    ]);
    await runner.stop();
  });

  it('retries with backoff after failures and resets after a success', async () => {
    const { clock, calls, runner } = setup({ fail: (n) => n <= 4 });
    runner.start();
    await clock.advance(20_000);
    expect(calls.map((c) => c.at).slice(0, 5)).toEqual([0, 500, 1500, 3500, 7500]);
    expect(calls.slice(1, 5).every((c) => c.reason === 'retry')).toBe(true);
    expect(runner.consecutiveFailures()).toBe(0);
    expect(calls.length).toBe(5);
    await runner.stop();
  });

  it('runNow runs at once, after an in-flight sync, and reports the outcome', async () => {
    const { clock, calls, runner } = setup({ fail: (n) => n === 2 });
    await runner.runNow();
    expect(calls).toEqual([{ at: 0, reason: 'manual' }]);
    await expect(runner.runNow()).rejects.toThrow('boom');
    await runner.runNow();
    expect(calls.length).toBe(3);
    expect(clock.pending()).toBe(0); // not started: no timers
  });

  it('stops on abort and schedules nothing more', async () => {
    const { clock, calls, runner } = setup();
    const ac = new AbortController();
    runner.start(ac.signal);
    await clock.advance(0);
    ac.abort();
    await clock.advance(0);
    runner.run();
    await clock.advance(100_000);
    expect(calls.length).toBe(1);
    expect(clock.pending()).toBe(0);
  });
});
