import { describe, expect, it } from 'vitest';
import { FakeClock } from '../clock.js';
import { WorkQueue, runWorkers } from './workqueue.js';

describe('WorkQueue', () => {
  it('deduplicates keys that are queued and not yet taken', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands out a key being processed; re-queues it on done', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const k = await q.get();
    q.add('a'); // arrives while processing
    expect(q.len()).toBe(0);
    q.done(k!);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker on add', async () => {
    const q = new WorkQueue(new FakeClock());
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('delays addAfter by the clock, earliest pending delay wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('a', 1000);
    q.addAfter('a', 500);
    q.addAfter('a', 2000);
    await clock.advance(499);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    await clock.advance(5000);
    expect(q.len()).toBe(1);
  });

  it('backs off per key exponentially and forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { initialMs: 10, maxMs: 40 });
    q.addRateLimited('a');
    expect(q.retryDelay('a')).toBe(10);
    q.addRateLimited('a');
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.retryDelay('a')).toBe(40);
    q.forget('a');
    expect(q.retryDelay('a')).toBe(0);
  });

  it('shutDown releases waiters and runWorkers retries failures', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { initialMs: 100, maxMs: 100 });
    const seen: string[] = [];
    let failOnce = true;
    const errors: string[] = [];
    const done = runWorkers(
      q,
      2,
      async (key) => {
        seen.push(key);
        if (key === 'bad' && failOnce) {
          failOnce = false;
          throw new Error('boom');
        }
      },
      (key) => errors.push(key),
    );
    q.add('good');
    q.add('bad');
    await clock.advance(0);
    expect(errors).toEqual(['bad']);
    await clock.advance(100);
    expect(seen.filter((k) => k === 'bad')).toHaveLength(2);
    q.shutDown();
    await done;
  });
});
