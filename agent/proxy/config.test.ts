import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { defaultProxyConfig, parseDuration, parseKubeProxyConfiguration } from './config.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).field;
  }
  throw new Error('expected an error');
}

describe('KubeProxyConfiguration', () => {
  it('defaults like upstream (mode nftables)', () => {
    expect(parseKubeProxyConfiguration('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n')).toEqual({
      mode: 'nftables',
      clusterCIDRs: [],
      bindAddress: '0.0.0.0',
      healthzBindAddress: '0.0.0.0:10256',
      metricsBindAddress: '127.0.0.1:10249',
      nodePortAddresses: [],
      masqueradeAll: false,
      masqueradeBit: 14,
      minSyncPeriodMs: 1000,
      syncPeriodMs: 30_000,
    });
    expect(parseKubeProxyConfiguration('')).toEqual(defaultProxyConfig());
  });

  it('reads the fields in use from YAML (kubeadm-style file)', () => {
    const cfg = parseKubeProxyConfiguration(`
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clusterCIDR: 10.244.0.0/16,fd00:10:244::/56
bindAddress: 0.0.0.0
healthzBindAddress: 0.0.0.0:10256
metricsBindAddress: 0.0.0.0:10249
nodePortAddresses: [primary, 192.168.0.0/24]
hostnameOverride: node-1
nftables:
  masqueradeAll: true
  masqueradeBit: 15
  minSyncPeriod: 500ms
  syncPeriod: 1m30s
iptables:
  minSyncPeriod: 10s
conntrack:
  maxPerCore: 0
`);
    expect(cfg).toMatchObject({
      mode: 'nftables',
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      metricsBindAddress: '0.0.0.0:10249',
      nodePortAddresses: ['primary', '192.168.0.0/24'],
      hostnameOverride: 'node-1',
      masqueradeAll: true,
      masqueradeBit: 15,
      minSyncPeriodMs: 500,
      syncPeriodMs: 90_000,
    });
  });

  it('takes sync settings from the section of the active mode, and IPv6 defaults from an IPv6 bindAddress', () => {
    const cfg = parseKubeProxyConfiguration({ mode: 'iptables', bindAddress: '::', iptables: { syncPeriod: '10s', minSyncPeriod: '2s' }, nftables: { syncPeriod: '1h' } });
    expect(cfg).toMatchObject({ mode: 'iptables', syncPeriodMs: 10_000, minSyncPeriodMs: 2000, healthzBindAddress: '[::]:10256', metricsBindAddress: '[::1]:10249' });
  });

  it('names the bad field', () => {
    expect(fieldOf(() => parseKubeProxyConfiguration({ apiVersion: 'kubeproxy.config.k8s.io/v1beta9' }))).toBe('apiVersion');
    expect(fieldOf(() => parseKubeProxyConfiguration({ kind: 'KubeletConfiguration' }))).toBe('kind');
    expect(fieldOf(() => parseKubeProxyConfiguration({ mode: 'ipvs' }))).toBe('mode');
    expect(fieldOf(() => parseKubeProxyConfiguration({ clusterCIDR: '10.244.0.0/33' }))).toBe('clusterCIDR');
    expect(fieldOf(() => parseKubeProxyConfiguration({ bindAddress: 'localhost' }))).toBe('bindAddress');
    expect(fieldOf(() => parseKubeProxyConfiguration({ healthzBindAddress: '0.0.0.0' }))).toBe('healthzBindAddress');
    expect(fieldOf(() => parseKubeProxyConfiguration({ metricsBindAddress: '127.0.0.1:99999' }))).toBe('metricsBindAddress');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nodePortAddresses: ['primary', 'nope'] }))).toBe('nodePortAddresses[1]');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { minSyncPeriod: '1 second' } }))).toBe('nftables.minSyncPeriod');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { minSyncPeriod: 1 } }))).toBe('nftables.minSyncPeriod');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { minSyncPeriod: '-1s' } }))).toBe('nftables.minSyncPeriod');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { syncPeriod: '0s' } }))).toBe('nftables.syncPeriod');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { syncPeriod: '1s', minSyncPeriod: '2s' } }))).toBe('nftables.syncPeriod');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { masqueradeBit: 32 } }))).toBe('nftables.masqueradeBit');
    expect(fieldOf(() => parseKubeProxyConfiguration({ nftables: { masqueradeAll: 'yes' } }))).toBe('nftables.masqueradeAll');
    expect(fieldOf(() => parseKubeProxyConfiguration({ iptables: [], mode: 'iptables' }))).toBe('iptables');
    expect(() => parseKubeProxyConfiguration('mode: [unclosed')).toThrow(InvalidInputError);
  });

  it('parses Go durations', () => {
    expect(parseDuration('1s', 'f')).toBe(1000);
    expect(parseDuration('0', 'f')).toBe(0);
    expect(parseDuration('1h2m3.5s', 'f')).toBe(3_723_500);
    expect(parseDuration('250ms', 'f')).toBe(250);
    expect(parseDuration('1500us', 'f')).toBe(1.5);
    expect(parseDuration('-2s', 'f')).toBe(-2000);
    expect(() => parseDuration('2', 'f')).toThrow(InvalidInputError);
    expect(() => parseDuration('s', 'f')).toThrow(InvalidInputError);
  });
});
