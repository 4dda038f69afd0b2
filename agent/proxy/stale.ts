/**
 * Which conntrack entries a rules change made stale, for UDP service ports (see
 * `conntrack.ts` for why). Compares what each UDP service port looked like in the rules before
 * and after a sync.
 */
import type { ConntrackFilter } from './conntrack.js';
import { endpointViews } from './endpoints.js';
import type { ServicePortState } from './model.js';

/** What the rules did with one UDP service port. */
export interface UdpPortState {
  /** Addresses that accept the Service port: cluster IPs, externalIPs, load-balancer IPs. */
  addrs: string[];
  port: number;
  nodePort: number;
  /** Endpoint addresses traffic may be DNATed to (either view). */
  endpoints: Set<string>;
}

const family = (ip: string): 'IPv4' | 'IPv6' => (ip.includes(':') ? 'IPv6' : 'IPv4');

/** The state of a UDP service port, or undefined for other protocols. */
export function udpStateOf(sp: ServicePortState, nodeName: string): UdpPortState | undefined {
  if (sp.info.protocol !== 'UDP') return undefined;
  const endpoints = new Set<string>();
  for (const fam of ['IPv4', 'IPv6'] as const) {
    const views = endpointViews(
      sp.endpoints.filter((e) => family(e.ip) === fam),
      nodeName,
    );
    for (const e of views.cluster) endpoints.add(e.ip);
    for (const e of views.local) endpoints.add(e.ip);
  }
  const info = sp.info;
  return { addrs: [...info.clusterIPs, ...info.externalIPs, ...info.loadBalancerIPs], port: info.port, nodePort: info.nodePort, endpoints };
}

/** The conntrack deletions that a change of one UDP service port from `before` to `after` needs. */
export function staleFilters(before: UdpPortState | undefined, after: UdpPortState | undefined): ConntrackFilter[] {
  const out: ConntrackFilter[] = [];
  if (before) {
    for (const ep of before.endpoints) {
      if (after?.endpoints.has(ep)) continue;
      for (const addr of before.addrs) if (family(addr) === family(ep)) out.push({ family: family(ep), protocol: 'udp', origDst: addr, dstNat: ep });
      if (before.nodePort) out.push({ family: family(ep), protocol: 'udp', origPortDst: before.nodePort, dstNat: ep });
    }
  }
  if (after && after.endpoints.size > 0 && (!before || before.endpoints.size === 0)) {
    for (const addr of after.addrs) out.push({ family: family(addr), protocol: 'udp', origDst: addr, origPortDst: after.port });
    if (after.nodePort) {
      const fams = new Set([...after.endpoints].map(family));
      for (const f of fams) out.push({ family: f, protocol: 'udp', origPortDst: after.nodePort });
    }
  }
  return out;
}
