import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { KeyedBackoff, backoffDelay } from './backoff.js';

describe('backoff', () => {
  it('doubles from 10 s to a 300 s cap, as CrashLoopBackOff does', () => {
    const p = { initialMs: 10_000, maxMs: 300_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(p, a))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it('tracks per-key state and forgets idle keys', async () => {
    const clock = new FakeClock();
    const b = new KeyedBackoff({ initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 }, clock);
    expect(b.next('c1')).toBe(10_000);
    expect(b.isInBackoff('c1')).toBe(true);
    await clock.advance(10_000);
    expect(b.isInBackoff('c1')).toBe(false);
    expect(b.next('c1')).toBe(20_000);
    expect(b.remaining('c1')).toBe(20_000);
    expect(b.next('other')).toBe(10_000);
    await clock.advance(600_001);
    expect(b.next('c1')).toBe(10_000);
  });
});
