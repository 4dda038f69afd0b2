/**
 * iptables rules for Services, in kube-proxy's iptables-mode structure (pkg/proxy/iptables)
 * with Skiff's own `SKIFF-` chain names, so Skiff never touches a `KUBE-` chain:
 *
 * ```
 * nat:  PREROUTING, OUTPUT ─► SKIFF-SERVICES ─► -d <clusterIP> --dport p  ─► SKIFF-SVC-<h> | SKIFF-SVL-<h>
 *                                            ─► -d <externalIP|lbIP> …   ─► SKIFF-EXT-<h>
 *                                            ─► -d <nodeIP> ─► SKIFF-NODEPORTS ─► --dport np ─► SKIFF-EXT-<h>
 *       SKIFF-EXT-<h>:  ETP Cluster: mark for masquerade; → SKIFF-SVC-<h>
 *                       ETP Local: pods (cluster CIDR) → SVC; node-local sources: masquerade, → SVC;
 *                                  others → SKIFF-SVL-<h> (local endpoints only)
 *       SKIFF-SVC-<h> / SKIFF-SVL-<h>: [masquerade off-cluster sources to the cluster IP]
 *                       [affinity: -m recent --rcheck … → SKIFF-SEP-<e>]
 *                       -m statistic --probability 1/(n-i) → SKIFF-SEP-<e> …
 *       SKIFF-SEP-<e>:  -s <ep> → mark (hairpin); DNAT --to-destination ep:port [-m recent --set]
 *       POSTROUTING ─► SKIFF-POSTROUTING: marked → clear mark, MASQUERADE --random-fully
 * filter: FORWARD, OUTPUT (ctstate NEW) ─► SKIFF-SERVICES: cluster IPs without endpoints → REJECT / DROP
 *         INPUT, FORWARD (ctstate NEW) ─► SKIFF-EXTERNAL-SERVICES: external destinations without
 *                                           endpoints → REJECT / DROP
 * ```
 * Chains per Service are iptables' nature (kube-proxy's too). Every chain's first rule is a
 * no-op comment carrying a hash of the chain's rules (`-m comment --comment "skiff:<hash>"`),
 * so a restarted agent reads `iptables-save` and rewrites only the chains that differ.
 * Deviations from kube-proxy: TCP is rejected with `tcp-reset` (as in nftables mode);
 * loadBalancerSourceRanges (SKIFF-FW chains) are not implemented.
 */
import { createHash } from 'node:crypto';
import { endpointViews, isLocalEndpoint } from '../endpoints.js';
import type { IPFamily } from '../ip.js';
import type { EndpointInfo, ServicePortState } from '../model.js';

/** The iptables tables Skiff writes. */
export type IptTable = 'nat' | 'filter';

/** Chain names shared by all Services. */
export const IPT_CHAINS = {
  services: 'SKIFF-SERVICES',
  nodePorts: 'SKIFF-NODEPORTS',
  postrouting: 'SKIFF-POSTROUTING',
  markMasq: 'SKIFF-MARK-MASQ',
  externalServices: 'SKIFF-EXTERNAL-SERVICES',
} as const;

/** Prefix of every chain Skiff owns. */
export const CHAIN_PREFIX = 'SKIFF-';

/** A jump from a built-in chain into Skiff's chains, kept in place with `-C`/`-I`. */
export interface JumpRule {
  table: IptTable;
  chain: string;
  /** The rule's match and target arguments (without `-A/-I <chain>`). */
  args: string[];
}

/** Configuration of the iptables rules of one family. */
export interface IptConfig {
  family: IPFamily;
  nodeName: string;
  masqueradeBit: number;
  masqueradeAll: boolean;
  /** Cluster (pod) CIDRs of this family. */
  localCidrs: readonly string[];
}

/** Rules of one chain, as iptables-restore lines without `-A <chain>`. */
export type ChainRules = string[];

/** What one service port contributes. */
export interface PortContribution {
  /** Its own chains (SVC, SVL, EXT, SEP), per table. */
  chains: Map<string, ChainRules>;
  /** Its lines in the shared chains (`table/chain` → lines). */
  shared: Map<string, ChainRules>;
}

function hash16(text: string): string {
  // kube-proxy: sha256, base32, first 16 characters.
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
  }
  return out;
}

/** `SKIFF-SVC-<hash>` and friends for a service port. */
export function portChainNames(portKey: string, protocol: string): { svc: string; svl: string; ext: string } {
  const h = hash16(`${portKey}${protocol.toLowerCase()}`);
  return { svc: `SKIFF-SVC-${h}`, svl: `SKIFF-SVL-${h}`, ext: `SKIFF-EXT-${h}` };
}

/** `SKIFF-SEP-<hash>` for an endpoint of a service port. */
export function endpointChainName(portKey: string, protocol: string, ep: EndpointInfo): string {
  return `SKIFF-SEP-${hash16(`${portKey}${protocol.toLowerCase()}${ep.ip}:${ep.port}`)}`;
}

/** The hash marker rule that opens every Skiff chain. */
export function markerRule(rules: readonly string[]): string {
  return `-m comment --comment "skiff:${createHash('sha256').update(rules.join('\n')).digest('hex').slice(0, 12)}"`;
}

/** The hash carried by a chain's first rule as `iptables-save` prints it, or undefined. */
export function markerOf(savedRule: string): string | undefined {
  return /--comment "?skiff:([0-9a-f]{12})"?/.exec(savedRule)?.[1];
}

function hexMark(bit: number): string {
  return `0x${(1 << bit >>> 0).toString(16)}`;
}

function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

function quote(s: string): string {
  return `"${s.replace(/"/g, "'")}"`;
}

/** Skiff's jump rules in the built-in chains (the same in every family and configuration). */
export const BASE_JUMPS: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', args: ['-m', 'comment', '--comment', 'skiff service portals', '-j', IPT_CHAINS.services] },
  { table: 'nat', chain: 'OUTPUT', args: ['-m', 'comment', '--comment', 'skiff service portals', '-j', IPT_CHAINS.services] },
  { table: 'nat', chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'skiff postrouting rules', '-j', IPT_CHAINS.postrouting] },
  { table: 'filter', chain: 'FORWARD', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'skiff service portals', '-j', IPT_CHAINS.services] },
  { table: 'filter', chain: 'OUTPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'skiff service portals', '-j', IPT_CHAINS.services] },
  { table: 'filter', chain: 'INPUT', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'skiff externally-visible service portals', '-j', IPT_CHAINS.externalServices] },
  { table: 'filter', chain: 'FORWARD', args: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'skiff externally-visible service portals', '-j', IPT_CHAINS.externalServices] },
];

/** The fixed chains and their rules, and the built-in jumps ({@link BASE_JUMPS}). */
export function baseChains(cfg: IptConfig): { nat: Map<string, ChainRules>; filter: Map<string, ChainRules>; jumps: readonly JumpRule[] } {
  const mark = hexMark(cfg.masqueradeBit);
  const c = IPT_CHAINS;
  const nat = new Map<string, ChainRules>([
    [c.markMasq, [`-j MARK --or-mark ${mark}`]],
    [c.postrouting, [`-m mark ! --mark ${mark}/${mark} -j RETURN`, `-j MARK --xor-mark ${mark}`, '-m comment --comment "skiff service traffic requiring SNAT" -j MASQUERADE --random-fully']],
  ]);
  const filter = new Map<string, ChainRules>();
  return { nat, filter, jumps: BASE_JUMPS };
}

/** The lines a service port contributes for the family of `cfg`. SCTP ports contribute nothing. */
export function portRules(sp: ServicePortState, cfg: IptConfig, nodePortIPs: readonly string[]): PortContribution {
  const out: PortContribution = { chains: new Map(), shared: new Map() };
  const info = sp.info;
  if (info.protocol !== 'TCP' && info.protocol !== 'UDP') return out;
  const v6 = cfg.family === 'IPv6';
  const fam = (ip: string): boolean => ip.includes(':') === v6;
  const proto = info.protocol.toLowerCase();
  const vips = info.clusterIPs.filter(fam);
  const externalAddrs = [...new Set([...info.externalIPs, ...info.loadBalancerIPs].filter(fam))];
  const nodeIPs = info.nodePort > 0 ? nodePortIPs.filter(fam) : [];
  if (!vips.length && !externalAddrs.length && !nodeIPs.length) return out;

  const names = portChainNames(info.key, info.protocol);
  const eps = sp.endpoints.filter((e) => fam(e.ip));
  const views = endpointViews(eps, cfg.nodeName);
  const itpLocal = info.internalTrafficPolicy === 'Local';
  const etpLocal = info.externalTrafficPolicy === 'Local';
  const internalView = itpLocal ? views.local : views.cluster;
  const internalChain = itpLocal ? names.svl : names.svc;
  const comment = `-m comment --comment ${quote(`${info.key}`)}`;
  const dport = `-p ${proto} -m ${proto} --dport`;
  const rejectWith = proto === 'tcp' ? 'tcp-reset' : v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
  const reject = `-j REJECT --reject-with ${rejectWith}`;
  const push = (table: IptTable, chain: string, line: string): void => {
    const k = `${table}/${chain}`;
    const l = out.shared.get(k);
    if (l) l.push(line);
    else out.shared.set(k, [line]);
  };
  const affinity = info.sessionAffinity === 'ClientIP';
  const mark = IPT_CHAINS.markMasq;

  /** Rules of a SVC/SVL chain over `view`, creating the SEP chains. */
  const lbChain = (chain: string, view: EndpointInfo[], masqVips: boolean): void => {
    const rules: string[] = [];
    if (masqVips) {
      for (const vip of vips) {
        const d = `${comment} -d ${hostPrefix(vip)} ${dport} ${info.port}`;
        // kube-proxy's local detector knows one cluster CIDR per family.
        if (cfg.masqueradeAll) rules.push(`${d} -j ${mark}`);
        else if (cfg.localCidrs.length) rules.push(`${d} ! -s ${cfg.localCidrs[0]} -j ${mark}`);
      }
    }
    const seps = view.map((e) => endpointChainName(info.key, info.protocol, e));
    if (affinity) {
      view.forEach((_, i) => {
        rules.push(`${comment} -m recent --name ${seps[i]} --mask ${v6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255'} --rsource --rcheck --seconds ${info.affinityTimeoutSeconds} --reap -j ${seps[i]}`);
      });
    }
    const n = view.length;
    view.forEach((e, i) => {
      const prob = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
      rules.push(`${comment}${prob} -j ${seps[i]}`);
      if (!out.chains.has(seps[i])) {
        const sep: string[] = [];
        if (!e.nodeName || isLocalEndpoint(e, cfg.nodeName)) sep.push(`${comment} -s ${hostPrefix(e.ip)} -j ${mark}`);
        const recent = affinity ? ` -m recent --name ${seps[i]} --mask ${v6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255'} --rsource --set` : '';
        const to = v6 ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
        sep.push(`${comment} -p ${proto}${recent} -m ${proto} -j DNAT --to-destination ${to}`);
        out.chains.set(seps[i], sep);
      }
    });
    out.chains.set(chain, rules);
  };

  // Cluster IPs.
  for (const vip of vips) {
    const d = `${comment} -d ${hostPrefix(vip)} ${dport} ${info.port}`;
    if (internalView.length) push('nat', IPT_CHAINS.services, `${d} -j ${internalChain}`);
    else push('filter', IPT_CHAINS.services, `${d} ${itpLocal ? '-j DROP' : reject}`);
  }
  if (vips.length && internalView.length) lbChain(internalChain, internalView, true);

  // External destinations.
  const external = externalAddrs.length > 0 || nodeIPs.length > 0;
  if (external) {
    const hasEndpoints = views.cluster.length > 0;
    const hasExternalEndpoints = etpLocal ? views.local.length > 0 : hasEndpoints;
    const filterTarget = etpLocal ? '-j DROP' : reject;
    for (const ip of externalAddrs) {
      const d = `${comment} -d ${hostPrefix(ip)} ${dport} ${info.port}`;
      if (hasEndpoints) push('nat', IPT_CHAINS.services, `${d} -j ${names.ext}`);
      if (!hasExternalEndpoints) push('filter', IPT_CHAINS.externalServices, `${d} ${filterTarget}`);
    }
    if (nodeIPs.length) {
      if (hasEndpoints) push('nat', IPT_CHAINS.nodePorts, `${comment} ${dport} ${info.nodePort} -j ${names.ext}`);
      if (!hasExternalEndpoints) for (const ip of nodeIPs) push('filter', IPT_CHAINS.externalServices, `${comment} -d ${hostPrefix(ip)} ${dport} ${info.nodePort} ${filterTarget}`);
    }
    if (hasEndpoints) {
      const ext: string[] = [];
      if (!etpLocal) {
        ext.push(`${comment} -j ${mark}`, `${comment} -j ${names.svc}`);
      } else {
        for (const cidr of cfg.localCidrs) ext.push(`${comment} -s ${cidr} -j ${names.svc}`);
        ext.push(`${comment} -m addrtype --src-type LOCAL -j ${mark}`, `${comment} -m addrtype --src-type LOCAL -j ${names.svc}`);
        if (views.local.length) ext.push(`${comment} -j ${names.svl}`);
      }
      out.chains.set(names.ext, ext);
      if (!out.chains.has(names.svc)) lbChain(names.svc, views.cluster, false);
      if (etpLocal && views.local.length && !out.chains.has(names.svl)) lbChain(names.svl, views.local, false);
    }
  }
  return out;
}

/** The jump into SKIFF-NODEPORTS for each NodePort address, appended last to SKIFF-SERVICES. */
export function nodePortJumps(cfg: IptConfig, nodePortIPs: readonly string[]): string[] {
  const v6 = cfg.family === 'IPv6';
  return nodePortIPs
    .filter((ip) => ip.includes(':') === v6)
    .map((ip) => `-m comment --comment "skiff service nodeports" -d ${hostPrefix(ip)} -j ${IPT_CHAINS.nodePorts}`);
}
