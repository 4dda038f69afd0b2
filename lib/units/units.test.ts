import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatMillis, parseDuration, parseQuantity, cpuToMillis, isQuantity } from './index.js';

describe('durations', () => {
  it('parses Go durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('2h0m0s')).toBe(7_200_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('0')).toBe(0);
  });
  it('rejects junk with the field name', () => {
    expect(() => parseDuration('10', 'syncFrequency')).toThrow(/syncFrequency: invalid duration "10"/);
    expect(() => parseDuration('abc', 'x')).toThrow(/invalid duration/);
    expect(() => parseDuration('', 'x')).toThrow(/invalid duration/);
  });
  it('formats like Go', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(7_200_000)).toBe('2h0m0s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('quantities', () => {
  it('parses binary, decimal and exponent forms', () => {
    expect(parseQuantity('128Mi')).toBe(128 * 1024 * 1024);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('2')).toBe(2);
    expect(cpuToMillis('250m')).toBe(250);
    expect(cpuToMillis('1.5')).toBe(1500);
    expect(isQuantity('12Qi')).toBe(false);
  });
  it('formats canonical forms', () => {
    expect(formatBytes(2 * 1024 ** 3)).toBe('2Gi');
    expect(formatBytes(24 * 1024 ** 3 + 1024)).toBe('25165825Ki');
    expect(formatMillis(2000)).toBe('2');
    expect(formatMillis(1500)).toBe('1500m');
  });
});
