import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { FakeRuntime } from '../runtime/fake/index.js';
import { MANAGED_SELECTOR } from './labels.js';
import { Pleg } from './pleg.js';

describe('PLEG', () => {
  it('reports pods whose runtime objects changed, and nothing when the runtime fails', async () => {
    const clock = new FakeClock();
    const runtime = new FakeRuntime({ clock, images: ['busybox:1.29'] });
    const changes: string[] = [];
    const pleg = new Pleg({ runtime, clock, logger: silentLogger(), onPodChange: (uid) => changes.push(uid) });
    const labels = { ...MANAGED_SELECTOR, 'io.kubernetes.pod.uid': 'u1' };
    const sb = { metadata: { name: 'p', namespace: 'ns', uid: 'u1', attempt: 0 }, labels };
    const sid = await runtime.runPodSandbox(sb);
    const cid = await runtime.createContainer(sid, { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox:1.29' }, labels }, sb);
    await runtime.runPodSandbox({ metadata: { name: 'other', namespace: 'ns', uid: 'x', attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'x' } });
    pleg.start();
    await clock.advance(0);
    expect(changes).toEqual([]);
    expect(pleg.latest()?.byUid.has('x')).toBe(false); // not ours
    await runtime.startContainer(cid);
    await clock.advance(1000);
    expect(changes).toEqual(['u1']);
    runtime.setUnavailable(true);
    runtime.exitContainer(cid, 1);
    await clock.advance(1000);
    expect(changes).toEqual(['u1']);
    runtime.setUnavailable(false);
    await clock.advance(1000);
    expect(changes).toEqual(['u1', 'u1']);
    expect(pleg.healthy()).toBe(true);
    pleg.stop();
  });
});
