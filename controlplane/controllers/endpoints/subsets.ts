/**
 * `RepackSubsets` (kube's `pkg/api/v1/endpoints`): addresses grouped by the exact set of ports
 * they serve, ready and not-ready kept apart, everything sorted so that equal content
 * compares equal.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';

/** One pod's contribution: an address, whether it is ready, and one port (or none). */
export interface AddressPort {
  address: EndpointAddress;
  ready: boolean;
  port?: EndpointPort;
}

function addrKey(a: EndpointAddress): string {
  return `${a.ip}|${a.targetRef?.uid ?? ''}`;
}

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port, p.protocol ?? 'TCP', p.appProtocol ?? '']);
}

function compareAddr(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? '';
  const ub = b.targetRef?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** Builds the subsets of an Endpoints object from individual address/port pairs. */
export function repackSubsets(items: readonly AddressPort[]): EndpointSubset[] {
  const addrs = new Map<string, EndpointAddress>();
  // port key → address key → ready (an address ready on a port wins over not ready).
  const byPort = new Map<string, { port?: EndpointPort; addrs: Map<string, boolean> }>();
  for (const it of items) {
    const ak = addrKey(it.address);
    addrs.set(ak, it.address);
    const pk = it.port ? portKey(it.port) : 'sentinel';
    let e = byPort.get(pk);
    if (!e) {
      e = { port: it.port, addrs: new Map() };
      byPort.set(pk, e);
    }
    e.addrs.set(ak, (e.addrs.get(ak) ?? false) || it.ready);
  }
  // Group ports by the identical address set they are served on.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs: set } of byPort.values()) {
    const k = JSON.stringify([...set].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let g = groups.get(k);
    if (!g) {
      g = { addrs: set, ports: [] };
      groups.set(k, g);
    }
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [ak, r] of g.addrs) (r ? ready : notReady).push(addrs.get(ak)!);
    const s: EndpointSubset = {};
    if (ready.length) s.addresses = ready.sort(compareAddr);
    if (notReady.length) s.notReadyAddresses = notReady.sort(compareAddr);
    if (g.ports.length) s.ports = g.ports.sort((a, b) => portKey(a).localeCompare(portKey(b)));
    out.push(s);
  }
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
