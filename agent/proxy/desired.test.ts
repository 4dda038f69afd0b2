import { describe, expect, it } from 'vitest';
import { DesiredElements } from './desired.js';

describe('desired elements', () => {
  it('keeps a shared element while any owner wants it, and reports touched keys', () => {
    const d = new DesiredElements();
    d.setService('ns/a', new Map([['ns/a:/TCP', [{ set: 's', key: 'k', value: '' }]]]));
    d.setService('ns/b', new Map([['ns/b:/TCP', [{ set: 's', key: 'k', value: '' }]]]));
    // Touched keys carry their value before the change (absent here).
    expect([...d.takeTouched()]).toEqual([['s', new Map([['k', undefined]])]]);
    d.setService('ns/a', new Map());
    expect(d.keys('s')).toEqual(['k']);
    expect(d.takeTouched().size).toBe(0); // effective value unchanged
    d.setService('ns/b', new Map());
    expect(d.keys('s')).toEqual([]);
    expect([...d.takeTouched()]).toEqual([['s', new Map([['k', '']])]]);
  });

  it('resolves conflicting map values by the smallest owner, deterministically', () => {
    const d = new DesiredElements();
    d.setContribution('ns/z:/TCP', [{ set: 'm', key: 'vip', value: 'goto lb-1' }]);
    d.setContribution('ns/a:/TCP', [{ set: 'm', key: 'vip', value: 'goto lb-2' }]);
    expect(d.elements().get('m')!.get('vip')).toBe('goto lb-2');
    d.setContribution('ns/a:/TCP', []);
    expect(d.elements().get('m')!.get('vip')).toBe('goto lb-1');
    expect(d.ownerCount()).toBe(1);
  });

  it('drops the ports a Service no longer has', () => {
    const d = new DesiredElements();
    d.setService('ns/a', new Map([
      ['ns/a:x/TCP', [{ set: 's', key: '1', value: '' }]],
      ['ns/a:y/TCP', [{ set: 's', key: '2', value: '' }]],
    ]));
    d.setService('ns/a', new Map([['ns/a:x/TCP', [{ set: 's', key: '1', value: '' }]]]));
    expect(d.keys('s')).toEqual(['1']);
  });
});
