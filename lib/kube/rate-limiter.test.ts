import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  it('lets a burst through, then paces at qps', async () => {
    const clock = new FakeClock(0);
    const tb = new TokenBucket(10, 3, clock);
    const granted: number[] = [];
    const all = Array.from({ length: 5 }, () => tb.acquire().then(() => granted.push(clock.now())));
    await clock.advance(0);
    expect(granted).toEqual([0, 0, 0]);
    await clock.advance(100);
    expect(granted.length).toBe(4);
    await clock.advance(100);
    await Promise.all(all);
    expect(granted).toEqual([0, 0, 0, 100, 200]);
  });
});
