import { describe, expect, it } from 'vitest';
import { cgroupRootFor } from './up.js';

describe('cgroupRootFor', () => {
  it('keeps /skiff for the default state dir and separates every other one', () => {
    expect(cgroupRootFor('/var/lib/skiff')).toBe('/skiff');
    expect(cgroupRootFor('/var/lib/skiff/')).toBe('/skiff');
    const a = cgroupRootFor('/tmp/sk-a');
    const b = cgroupRootFor('/tmp/sk-b');
    expect(a).toMatch(/^\/skiff-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(cgroupRootFor('/tmp/sk-a')).toBe(a);
  });
});
