/**
 * Which node addresses accept NodePorts (kube-proxy's `nodePortAddresses`, `pkg/proxy/util`
 * `NodePortAddresses`):
 *
 * - empty, or the entry `primary`: the node's primary IPs (its InternalIPs / `--node-ip`), as
 *   kube-proxy's nftables mode does by default;
 * - CIDRs: every address of a local interface inside one of them (`0.0.0.0/0` and `::/0`
 *   select all of them).
 *
 * Loopback and IPv6 link-local addresses never accept NodePorts (kube-proxy's nftables mode
 * does not DNAT NodePorts on 127.0.0.1 either). Deviation: in iptables mode kube-proxy's
 * default is every local address, including 127.0.0.1 (`localhostNodePorts`); Skiff uses the
 * nftables-mode rule in both modes.
 */
import { networkInterfaces } from 'node:os';
import { canonicalIP, cidrContains, isLoopback, parseCidr, type Cidr } from './ip.js';

/** Addresses of the local interfaces (canonical), from `os.networkInterfaces()`. */
export function localInterfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = canonicalIP(a.address.split('%')[0]);
      if (ip) out.push(ip);
    }
  }
  return out;
}

function isLinkLocal6(ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip);
}

/**
 * The addresses that accept NodePorts.
 * @param nodePortAddresses the configuration (CIDRs and/or `primary`)
 * @param nodeIPs the node's primary addresses
 * @param interfaceAddresses the node's interface addresses
 */
export function resolveNodePortIPs(nodePortAddresses: readonly string[], nodeIPs: readonly string[], interfaceAddresses: readonly string[]): string[] {
  const out = new Set<string>();
  const add = (raw: string): void => {
    const ip = canonicalIP(raw);
    if (ip && !isLoopback(ip) && !isLinkLocal6(ip)) out.add(ip);
  };
  const cidrs = nodePortAddresses.map((c) => parseCidr(c)).filter((c): c is Cidr => !!c);
  if (nodePortAddresses.length === 0 || nodePortAddresses.includes('primary')) for (const ip of nodeIPs) add(ip);
  for (const ip of interfaceAddresses) if (cidrs.some((c) => cidrContains(c, ip))) add(ip);
  return [...out].sort();
}
