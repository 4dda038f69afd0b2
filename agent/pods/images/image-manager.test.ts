import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { MemoryEventRecorder } from '../../events/index.js';
import { FakeRuntime } from '../../runtime/fake/index.js';
import { ImageManager, applyDefaultImageTag, credentialsFor, defaultPullPolicy, isImageError } from './index.js';

const pod: Pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [] } };

function setup(serialize = true) {
  const clock = new FakeClock();
  const runtime = new FakeRuntime({ clock, registry: ['a:1', 'b:1'], pullDelayMs: 1000 });
  const events = new MemoryEventRecorder();
  const im = new ImageManager({ runtime, events, clock, logger: silentLogger(), serializeImagePulls: serialize });
  return { clock, runtime, events, im };
}

describe('ImageManager', () => {
  it('serialises pulls by default and runs them in parallel when asked', async () => {
    for (const serialize of [true, false]) {
      const { clock, im } = setup(serialize);
      const done: string[] = [];
      const a = im.ensureImageExists({ pod, container: { name: 'a', image: 'a:1' }, fieldPath: 'spec.containers{a}' }).then(() => done.push('a'));
      const b = im.ensureImageExists({ pod, container: { name: 'b', image: 'b:1' }, fieldPath: 'spec.containers{b}' }).then(() => done.push('b'));
      await clock.advance(1000);
      await new Promise((r) => setImmediate(r));
      expect(done.length).toBe(serialize ? 1 : 2);
      await clock.advance(1000);
      await Promise.all([a, b]);
    }
  });

  it('reports a pull failure once as ErrImagePull, then ImagePullBackOff until the window ends', async () => {
    const { clock, im, events } = setup();
    const c = { name: 'x', image: 'x:1' };
    const attempt = async (): Promise<string> => {
      const p = im.ensureImageExists({ pod, container: c, fieldPath: 'spec.containers{x}' });
      await clock.advance(1000);
      try {
        await p;
        return 'ok';
      } catch (err) {
        return isImageError(err) ? err.reason : String(err);
      }
    };
    expect(await attempt()).toBe('ErrImagePull');
    expect(await attempt()).toBe('ImagePullBackOff');
    await clock.advance(9000);
    expect(await attempt()).toBe('ErrImagePull');
    expect(im.backoffExpiresAt('u', 'x:1')).toBe(clock.now() + 20_000);
    expect(events.events.map((e) => [e.type, e.reason])).toEqual([
      ['Normal', 'Pulling'],
      ['Warning', 'Failed'],
      ['Normal', 'BackOff'],
      ['Normal', 'Pulling'],
      ['Warning', 'Failed'],
    ]);
    expect(events.events[0].ref.fieldPath).toBe('spec.containers{x}');
  });

  it('knows kubelet defaults for tags and pull policy', () => {
    expect(applyDefaultImageTag('busybox')).toBe('busybox:latest');
    expect(applyDefaultImageTag('busybox@sha256:' + 'a'.repeat(64))).toBe('busybox@sha256:' + 'a'.repeat(64));
    expect(() => applyDefaultImageTag('Bad:Name:x')).toThrow(/couldn't parse image name/);
    expect(defaultPullPolicy('busybox')).toBe('Always');
    expect(defaultPullPolicy('busybox:latest')).toBe('Always');
    expect(defaultPullPolicy('busybox:1.29')).toBe('IfNotPresent');
  });

  it('finds registry credentials in pull secrets', () => {
    const cfg = Buffer.from(JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('u:p').toString('base64') }, 'reg.example:5000': { username: 'x', password: 'y' } } })).toString('base64');
    const secret = { data: { '.dockerconfigjson': cfg } };
    expect(credentialsFor('busybox:1', [secret])).toEqual([expect.objectContaining({ username: 'u', password: 'p' })]);
    expect(credentialsFor('reg.example:5000/app:1', [secret])).toEqual([expect.objectContaining({ username: 'x', password: 'y' })]);
    expect(credentialsFor('quay.io/app:1', [secret])).toEqual([]);
  });
});
