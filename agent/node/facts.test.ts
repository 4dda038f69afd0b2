import { describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { defaultRouteInterface, detectNodeAddresses, parseMeminfo, parseOsRelease, readMachineInfo, readNodeUsage } from './facts.js';
import { computeResources } from './resources.js';
import { fixtureInterfaces, makeFactsRoot } from './testdata/make-fixture.js';

describe('node facts', () => {
  it('reads machine info from a fixture root', async () => {
    const root = makeFactsRoot({ hugepages2MiCount: 4 });
    try {
      const info = await readMachineInfo({ root, cpus: 2 });
      expect(info).toMatchObject({
        cpus: 2,
        memoryCapacityBytes: 16384000 * 1024,
        machineID: '0123456789abcdef0123456789abcdef',
        systemUUID: 'EC2A1B2C-1111-2222-3333-444455556666',
        bootID: 'b00710d0-0000-4000-8000-000000000001',
        kernelVersion: '6.18.0-skiff',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
      });
      expect(info.hugePages).toEqual([
        { pageSizeBytes: 2 * 1024 * 1024, count: 4 },
        { pageSizeBytes: 1024 * 1024 * 1024, count: 0 },
      ]);
      expect(info.ephemeralStorageCapacityBytes).toBeGreaterThan(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('falls back to machine-id for the system UUID and to Linux for the OS image', async () => {
    const root = makeFactsRoot({ productUuid: null, osRelease: null });
    try {
      const info = await readMachineInfo({ root, cpus: 1 });
      expect(info.systemUUID).toBe(info.machineID);
      expect(info.osImage).toBe('Linux');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('samples usage: MemAvailable, fs, pids', async () => {
    const root = makeFactsRoot({ memAvailableKb: 1234, procs: 777 });
    try {
      const u = await readNodeUsage({ root });
      expect(u.memoryAvailableBytes).toBe(1234 * 1024);
      expect(u.pidCount).toBe(777);
      expect(u.pidMax).toBe(191812);
      expect(u.fsCapacityBytes).toBeGreaterThan(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('parses meminfo and os-release', () => {
    expect(parseMeminfo('MemTotal: 10 kB\nHugePages_Total: 3\n').get('HugePages_Total')).toBe(3);
    expect(parseOsRelease('PRETTY_NAME=Alpine\\ "x"\n')).toBe('Alpine\\ "x"');
    expect(parseOsRelease("PRETTY_NAME='Fedora 40'\n")).toBe('Fedora 40');
  });

  it('finds the default-route interface with the lowest metric', () => {
    const table = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\neth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\ndown0\t00000000\t0100000A\t0002\t0\t0\t1\t00000000\n';
    expect(defaultRouteInterface(table)).toBe('eth0');
  });

  describe('addresses', () => {
    it('uses the default-route interface', async () => {
      const root = makeFactsRoot();
      try {
        expect(await detectNodeAddresses({ root, hostname: 'n1', interfaces: fixtureInterfaces })).toEqual([
          { type: 'InternalIP', address: '10.0.0.5' },
          { type: 'Hostname', address: 'n1' },
        ]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('falls back to the first global IPv4, then loopback', async () => {
      const root = makeFactsRoot({ defaultRouteIface: null });
      try {
        const addrs = await detectNodeAddresses({ root, hostname: 'n1', interfaces: fixtureInterfaces });
        expect(addrs[0]).toEqual({ type: 'InternalIP', address: '172.17.0.1' });
        const none = await detectNodeAddresses({ root, hostname: 'n1', interfaces: () => ({ lo: fixtureInterfaces().lo }) });
        expect(none[0]).toEqual({ type: 'InternalIP', address: '127.0.0.1' });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('honours --node-ip and validates it like kubelet', async () => {
      const root = makeFactsRoot();
      try {
        expect(await detectNodeAddresses({ root, hostname: 'n1', nodeIPs: ['172.17.0.1'], interfaces: fixtureInterfaces })).toEqual([
          { type: 'InternalIP', address: '172.17.0.1' },
          { type: 'Hostname', address: 'n1' },
        ]);
        await expect(detectNodeAddresses({ root, hostname: 'n1', nodeIPs: ['127.0.0.1'], interfaces: fixtureInterfaces })).rejects.toThrow("nodeIP can't be loopback address");
        await expect(detectNodeAddresses({ root, hostname: 'n1', nodeIPs: ['10.9.9.9'], interfaces: fixtureInterfaces })).rejects.toThrow('not found in the host');
        await expect(detectNodeAddresses({ root, hostname: 'n1', nodeIPs: ['nope'], interfaces: fixtureInterfaces })).rejects.toThrow('invalid IP');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});

describe('capacity and allocatable', () => {
  const info = {
    cpus: 4,
    memoryCapacityBytes: 16 * 1024 ** 3,
    machineID: 'm',
    systemUUID: 'u',
    bootID: 'b',
    kernelVersion: 'k',
    osImage: 'o',
    hugePages: [{ pageSizeBytes: 2 * 1024 ** 2, count: 512 }],
    ephemeralStorageCapacityBytes: 100 * 1024 ** 3,
  };

  it('subtracts reservations, hard eviction thresholds and hugepages', () => {
    const r = computeResources(info, {
      maxPods: 110,
      kubeReserved: { cpu: '100m', memory: '256Mi' },
      systemReserved: { cpu: '400m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%' },
    });
    expect(r.capacity).toEqual({ cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi', 'hugepages-2Mi': '1Gi' });
    // 16Gi - 512Mi reserved - 100Mi eviction - 1Gi hugepages = 14748Mi
    expect(r.allocatable).toEqual({
      cpu: '3500m',
      memory: '14748Mi',
      pods: '110',
      'ephemeral-storage': '89Gi', // 100Gi - 1Gi reserved - 10% eviction
      'hugepages-2Mi': '1Gi',
    });
  });

  it('never goes below zero', () => {
    const r = computeResources(info, { maxPods: 10, kubeReserved: { cpu: '8' }, systemReserved: {}, evictionHard: {} });
    expect(r.allocatable.cpu).toBe('0');
  });
});
