import { describe, expect, it } from 'vitest';
import { describeAttributes, requestAttributes, subresourceOf, verbOf } from './authz.js';
import { FakeClock } from '../../lib/clock.js';
import { TtlCache } from './ttl-cache.js';

describe('kubelet authorization attributes', () => {
  it.each([
    ['/stats/summary', 'stats'],
    ['/stats', 'stats'],
    ['/stats/', 'stats'],
    ['/statsfoo', 'proxy'],
    ['/metrics', 'metrics'],
    ['/metrics/cadvisor', 'metrics'],
    ['/metrics/resource', 'metrics'],
    ['/metricsx', 'proxy'],
    ['/logs/', 'log'],
    ['/logs/syslog', 'log'],
    ['/spec/', 'spec'],
    ['/checkpoint/ns/pod/c', 'checkpoint'],
    ['/pods', 'proxy'],
    ['/containerLogs/ns/pod/c', 'proxy'],
    ['/exec/ns/pod/c', 'proxy'],
    ['/portForward/ns/pod', 'proxy'],
    ['/healthz', 'proxy'],
    ['/', 'proxy'],
  ])('%s → nodes/%s', (path, sub) => {
    expect(subresourceOf(path)).toBe(sub);
  });

  it.each([
    ['GET', 'get'],
    ['HEAD', 'get'],
    ['POST', 'create'],
    ['PUT', 'update'],
    ['PATCH', 'patch'],
    ['DELETE', 'delete'],
    ['OPTIONS', ''],
  ])('%s → %s', (method, verb) => {
    expect(verbOf(method)).toBe(verb);
  });

  it('builds attributes and kubelet texts', () => {
    const a = requestAttributes({ name: 'alice', groups: ['devs'] }, 'POST', '/exec/ns/p/c', 'node-1');
    expect(a).toMatchObject({ verb: 'create', resource: 'nodes', subresource: 'proxy', name: 'node-1', apiVersion: 'v1', apiGroup: '', namespace: '' });
    expect(describeAttributes('Forbidden', a)).toBe('Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)');
  });
});

describe('TtlCache', () => {
  it('expires entries and bounds its size', async () => {
    const clock = new FakeClock();
    const c = new TtlCache<number>(clock, 2);
    c.set('a', 1, 1000);
    await clock.advance(999);
    expect(c.get('a')).toBe(1);
    await clock.advance(1);
    expect(c.get('a')).toBeUndefined();
    c.set('a', 1, 10);
    c.set('b', 2, 10);
    c.set('c', 3, 10);
    expect(c.get('a')).toBeUndefined();
    expect(c.size()).toBe(2);
    c.set('z', 1, 0);
    expect(c.get('z')).toBeUndefined();
  });
});
