import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';

describe('FakeClock', () => {
  it('fires timers in due order and only when advanced', async () => {
    const c = new FakeClock(0);
    const fired: string[] = [];
    c.setTimer(20, () => fired.push('b'));
    c.setTimer(10, () => fired.push('a'));
    const t = c.setTimer(15, () => fired.push('cancelled'));
    t.cancel();
    await c.advance(9);
    expect(fired).toEqual([]);
    await c.advance(11);
    expect(fired).toEqual(['a', 'b']);
    expect(c.now()).toBe(20);
  });

  it('sleep resolves on advance and rejects on abort', async () => {
    const c = new FakeClock(0);
    let done = false;
    const p = c.sleep(100).then(() => (done = true));
    await c.advance(99);
    expect(done).toBe(false);
    await c.advance(1);
    await p;
    expect(done).toBe(true);
    const ac = new AbortController();
    const q = c.sleep(100, ac.signal);
    ac.abort(new Error('stop'));
    await expect(q).rejects.toThrow('stop');
  });
});
