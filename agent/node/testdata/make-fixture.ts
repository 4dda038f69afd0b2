/**
 * Builds a fake machine root (proc, sys, etc) in a temporary directory for node tests.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Options of {@link makeFactsRoot}. */
export interface FixtureOptions {
  memTotalKb?: number;
  memAvailableKb?: number;
  machineId?: string;
  productUuid?: string | null;
  bootId?: string;
  osRelease?: string | null;
  pidMax?: number;
  procs?: number;
  hugepages2MiCount?: number;
  defaultRouteIface?: string | null;
}

/** Writes a fixture root and returns its path. */
export function makeFactsRoot(o: FixtureOptions = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'skiff-facts-'));
  const put = (p: string, text: string): void => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  put(
    'proc/meminfo',
    [
      `MemTotal:       ${o.memTotalKb ?? 16384000} kB`,
      `MemFree:         1000000 kB`,
      `MemAvailable:   ${o.memAvailableKb ?? 8000000} kB`,
      `Buffers:          100000 kB`,
      `Cached:          2000000 kB`,
      `HugePages_Total:       0`,
      '',
    ].join('\n'),
  );
  put('etc/machine-id', `${o.machineId ?? '0123456789abcdef0123456789abcdef'}\n`);
  if (o.productUuid !== null) put('sys/class/dmi/id/product_uuid', `${o.productUuid ?? 'EC2A1B2C-1111-2222-3333-444455556666'}\n`);
  put('proc/sys/kernel/random/boot_id', `${o.bootId ?? 'b00710d0-0000-4000-8000-000000000001'}\n`);
  put('proc/sys/kernel/osrelease', '6.18.0-skiff\n');
  if (o.osRelease !== null) put('etc/os-release', o.osRelease ?? 'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n');
  put('proc/sys/kernel/pid_max', `${o.pidMax ?? 4194304}\n`);
  put('proc/sys/kernel/threads-max', '191812\n');
  put('proc/loadavg', `0.10 0.20 0.30 2/${o.procs ?? 345} 12345\n`);
  put('sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', `${o.hugepages2MiCount ?? 0}\n`);
  put('sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages', '0\n');
  const iface = o.defaultRouteIface === undefined ? 'eth0' : o.defaultRouteIface;
  put(
    'proc/net/route',
    [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      ...(iface ? [`${iface}\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0`] : []),
      'eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0',
      '',
    ].join('\n'),
  );
  return root;
}

/** Interfaces as `os.networkInterfaces()` would report them on the fixture machine. */
export function fixtureInterfaces(): NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]> {
  const v4 = (address: string, internal = false): import('node:os').NetworkInterfaceInfo => ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal,
    cidr: `${address}/24`,
  });
  return {
    lo: [v4('127.0.0.1', true)],
    docker0: [v4('172.17.0.1')],
    eth0: [v4('10.0.0.5'), { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 }],
  };
}
