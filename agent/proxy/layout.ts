/**
 * Skiff's nftables layout for Services: a fixed, small set of chains, with every Service in
 * map and set elements.
 *
 * ## Why this shape (MACHINE.md, "nftables scale")
 * Loading a chain-per-Service layout took 57 s at 5k Services; a maps-only layout took 1 s
 * at 5k and 6 s at 30k, and changing one element costs about 0.1 s (mostly starting nft).
 * Chains cost more than linear time, elements linear time. So nothing here grows a chain or
 * a rule with the number of Services or endpoints: a Service port is a handful of elements.
 *
 * ## The table (`table ip skiff`)
 * ```
 *  nat-prerouting (nat, prerouting -100) ─┐
 *  nat-output     (nat, output -100)  ────┤ output first: ip daddr @cluster-ips → mark-for-masquerade
 *                                         ▼
 *  services:  [ip daddr @cluster-ips ip saddr != <cluster CIDR> → mark-for-masquerade]
 *             ip daddr . meta l4proto . th dport vmap @service-ips ──► goto lb-<n>
 *  lb-<n>:    meta l4proto tcp dnat ip addr . port to
 *                 ip daddr . tcp dport . numgen random mod <n> map @service-endpoints-tcp
 *             (same for udp, with @service-endpoints-udp)
 *  nat-postrouting (nat, postrouting 100) → masquerading:
 *             ct status dnat ip saddr . ip daddr @hairpin → mark-for-masquerade
 *             mark bit clear → return; clear the bit; masquerade fully-random
 *  filter-forward (filter, forward -10), filter-output (filter, output -90):
 *             ct state new → service-reject:
 *             ip daddr . meta l4proto . th dport vmap @no-endpoint-services (→ goto reject-packet)
 *             ip daddr @cluster-ips → goto reject-packet   (a port the Service does not have)
 *  reject-packet: TCP → reject with tcp reset; otherwise ICMP port-unreachable
 * ```
 *
 * ## Spreading uniformly over each Service's own endpoint count
 * `numgen random mod N` needs a constant N, and N differs per Service. Service ports are
 * grouped by their number of ready endpoints n: the verdict-map element of a port with n
 * endpoints says `goto lb-<n>`, and chain `lb-<n>` draws `numgen random mod n` and looks up
 * `vip . port . k` in the endpoint map, where the port's endpoints occupy slots k = 0…n-1
 * (sorted by address). The draw is uniform over 0…n-1 (the kernel scales a random u32 by n)
 * and every slot holds exactly one endpoint, so each endpoint gets 1/n. Chains and rules
 * depend on the set of distinct endpoint counts, not on the number of Services: lb-1…lb-8
 * always exist (so ordinary endpoint churn is pure element churn), larger n get a chain
 * while some Service port has that many endpoints. The packet-tracer tests enumerate every
 * draw and check the distribution is exactly 1/n.
 *
 * The endpoint maps are per protocol because nft 1.0.6 refuses a `dnat … to … th dport …`
 * rule against a `typeof … th dport` map loaded from the kernel ("conflicting protocols");
 * with `typeof ip daddr . tcp dport . numgen …` per protocol, rules and maps can be added in
 * separate transactions (checked on this machine).
 *
 * ## Masquerade
 * - Hairpin: a pod reaching itself through its Service arrives from, and is DNATed back to,
 *   the same address; without SNAT the reply would not return through conntrack. The
 *   `hairpin` set holds `ep . ep` for every endpoint address on this node, matched after
 *   DNAT in postrouting. (The CNI bridge has hairpinMode on, and br_netfilter passes bridged
 *   traffic through these hooks.)
 * - Host traffic: everything the host itself sends to a cluster IP is masqueraded (the
 *   `nat-output` rule), so replies come back whatever source address routing picked.
 *   Deviation: kube-proxy masquerades host traffic only when its source is outside the
 *   cluster CIDR; marking all of it is equivalent in effect and needs no CIDR.
 * - Off-cluster sources arriving on an interface: `ip saddr != <cluster CIDR>` in
 *   `services` (clusterCIDR, else the node's podCIDR; absent both, no rule, as kube-proxy).
 *   With masqueradeAll, every packet to a cluster IP is marked.
 * The mark is one bit (masqueradeBit, default 14 → 0x4000), cleared before masquerading so
 * it does not leak to later processing, as kube-proxy does.
 *
 * ## How later features slot in (the proxy-at-scale issue)
 * - **NodePort**: a `nodeport-ips` set (node IPs from nodePortAddresses, never 127.0.0.1)
 *   and, in `services`, `ip daddr @nodeport-ips meta l4proto . th dport vmap
 *   @service-nodeports` (elements `tcp . 30080 : goto lb-<n>`); the endpoint maps get
 *   `nodeIP . nodePort . k` elements. Every address a Service answers on is just more
 *   `addr . port . k` elements of the same maps.
 * - **externalIPs / LoadBalancer ingress IPs**: more `service-ips` elements and
 *   `addr . port . k` endpoint elements; they are external destinations (below).
 * - **externalTrafficPolicy / internalTrafficPolicy Local**: the external (resp. cluster IP)
 *   elements take the node-local subset of endpoints and their own `lb-<m>`; with no local
 *   endpoint the element goes to `no-endpoint-services` with verdict `drop` instead of
 *   `goto reject-packet` (that map is a verdict map for this reason). The
 *   healthCheckNodePort server reads the local endpoint counts from the model.
 * - **Masquerade for off-cluster sources to external addresses**: a `external-masq` set of
 *   `addr . proto . port` (ETP Cluster) matched in `services` → mark-for-masquerade.
 * - **sessionAffinity ClientIP**: per-protocol dynamic maps `affinity-tcp` (`typeof ip saddr
 *   . ip daddr . tcp dport : ip daddr . tcp dport`, flags dynamic,timeout). In `services`,
 *   before the vmap, `meta l4proto tcp dnat … to ip saddr . ip daddr . tcp dport map
 *   @affinity-tcp` sends a known client to its endpoint; in `masquerading`, for
 *   `ct status dnat` packets of affinity Service ports (a set of `vip . proto . port`), one
 *   rule per distinct timeout records `update @affinity-tcp { ip saddr . ct original ip
 *   daddr . ct original proto-dst timeout <t>s : ip daddr . tcp dport }`. Rules grow with
 *   distinct timeouts, not Services.
 * - **Reject for Services without ready endpoints**: done (`no-endpoint-services`).
 * - **Terminating endpoints**: {@link usableEndpoints} falls back to serving+terminating
 *   endpoints when no ready ones remain; nothing else changes.
 * - **UDP conntrack cleanup**: the diff already knows which `service-endpoints-udp` elements
 *   it deleted; after a successful apply the proxier runs `conntrack -D -p udp` for them.
 * - **v1beta1 EndpointSlices and the Endpoints fallback**: adapters in the tracker that
 *   produce the same derived slice records (v1beta1 `topology["kubernetes.io/hostname"]` →
 *   nodeName; Endpoints subsets → ready/not-ready endpoints).
 * - **IPv6**: the same layout with family `ip6`, `ip6 daddr`/`ipv6_addr`, fed IPv6 cluster
 *   IPs and IPv6 slices from the same model; its table goes in the same transaction.
 * - **iptables mode**: another backend over the same model, tracker and runner
 *   (`iptables-restore --noflush`); only this file and `nft/` are nftables-specific.
 * - **Metrics / benchmark**: around `sync()`; the one-endpoint-change path already renders
 *   only the touched elements (see `desired.ts`).
 */
import type { EndpointInfo, ServicePortState } from './model.js';
import { defineSet, type ChainSpec, type SetSpec, type Structure } from './nft/ruleset.js';
import { isIPv4, parseIPv4Prefix } from './nft/types.js';

/** Chain names of the layout. */
export const CHAINS = {
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  filterForward: 'filter-forward',
  filterOutput: 'filter-output',
  services: 'services',
  masquerading: 'masquerading',
  markForMasquerade: 'mark-for-masquerade',
  serviceReject: 'service-reject',
  rejectPacket: 'reject-packet',
} as const;

/** Set and map names of the layout. */
export const SETS = {
  clusterIPs: 'cluster-ips',
  serviceIPs: 'service-ips',
  endpointsTcp: 'service-endpoints-tcp',
  endpointsUdp: 'service-endpoints-udp',
  noEndpoints: 'no-endpoint-services',
  hairpin: 'hairpin',
} as const;

/**
 * A pseudo-set in the desired elements: its keys are the endpoint counts n in use, which
 * decide the `lb-<n>` chains. It is never written to nft.
 */
export const LB_COUNTS = '#lb-counts';

/** The name of the chain that spreads over n endpoints. */
export function lbChain(n: number): string {
  return `lb-${n}`;
}

/** Configuration of the layout. */
export interface LayoutConfig {
  /** This node's name: only endpoints on this node (or of unknown node) can hairpin here. */
  nodeName: string;
  /** Table family; only `ip` is implemented. */
  family: 'ip';
  /** Table name (`skiff`). */
  table: string;
  /** The masquerade mark bit (0–31). */
  masqueradeBit: number;
  /** Masquerade every packet to a cluster IP. */
  masqueradeAll: boolean;
  /** IPv4 CIDRs of the cluster's pods; traffic to a cluster IP from outside them is masqueraded. */
  localCidrs: string[];
  /** `lb-1 … lb-<lbPrealloc>` always exist; defaults to 8. */
  lbPrealloc?: number;
}

/** One element a service port contributes: `set`, canonical `key`, canonical `value`. */
export interface ElementRef {
  set: string;
  key: string;
  value: string;
}

const NFT_PROTO: Record<string, 'tcp' | 'udp' | undefined> = { TCP: 'tcp', UDP: 'udp' };

/**
 * The endpoints a service port sends traffic to: its ready IPv4 endpoints.
 * (Later: fall back to serving+terminating ones when none is ready; node-local subsets for
 * the Local traffic policies.)
 */
export function usableEndpoints(sp: ServicePortState): EndpointInfo[] {
  return sp.endpoints.filter((e) => e.ready && isIPv4(e.ip));
}

/**
 * The elements a service port contributes to the ruleset. Ports of protocols the layout
 * does not handle (SCTP: this kernel has no SCTP support) contribute nothing.
 *
 * Hairpin pairs are written only for endpoints on this node (or whose node is unknown): a
 * pod on another node that reaches itself through a Service is DNATed on its own node and
 * never passes here. That keeps the `hairpin` set at the size of the node's pods instead of
 * the cluster's endpoints.
 */
export function servicePortElements(sp: ServicePortState, nodeName: string): ElementRef[] {
  const proto = NFT_PROTO[sp.info.protocol];
  if (!proto) return [];
  const eps = usableEndpoints(sp);
  const n = eps.length;
  const port = sp.info.port;
  const out: ElementRef[] = [];
  for (const vip of sp.info.clusterIPs) {
    if (!isIPv4(vip)) continue;
    out.push({ set: SETS.clusterIPs, key: vip, value: '' });
    const svcKey = `${vip} . ${proto} . ${port}`;
    if (n === 0) {
      out.push({ set: SETS.noEndpoints, key: svcKey, value: `goto ${CHAINS.rejectPacket}` });
      continue;
    }
    out.push({ set: SETS.serviceIPs, key: svcKey, value: `goto ${lbChain(n)}` });
    const epSet = proto === 'tcp' ? SETS.endpointsTcp : SETS.endpointsUdp;
    eps.forEach((e, k) => out.push({ set: epSet, key: `${vip} . ${port} . ${k}`, value: `${e.ip} . ${e.port}` }));
    for (const e of eps) {
      if (!e.nodeName || e.nodeName === nodeName) out.push({ set: SETS.hairpin, key: `${e.ip} . ${e.ip}`, value: '' });
    }
    out.push({ set: LB_COUNTS, key: String(n), value: '' });
  }
  return out;
}

function hexMark(bit: number): string {
  return `0x${(1 << bit >>> 0).toString(16).padStart(8, '0')}`;
}

/** The chains, rules and set declarations for the given endpoint counts in use. */
export function buildStructure(cfg: LayoutConfig, lbCounts: Iterable<number>): Structure {
  const mark = hexMark(cfg.masqueradeBit);
  const cidrs = cfg.localCidrs.filter((c) => parseIPv4Prefix(c) !== undefined);
  const c = CHAINS;
  const s = SETS;

  const sets: SetSpec[] = [
    defineSet('set', s.clusterIPs, '{ type ipv4_addr; comment "cluster IPs of proxied Services"; }'),
    defineSet(
      'map',
      s.serviceIPs,
      '{ type ipv4_addr . inet_proto . inet_service : verdict; comment "service port with ready endpoints: goto lb-<endpoint count>"; }',
    ),
    defineSet(
      'map',
      s.endpointsTcp,
      '{ typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport; comment "vip . port . slot : endpoint"; }',
    ),
    defineSet(
      'map',
      s.endpointsUdp,
      '{ typeof ip daddr . udp dport . numgen random mod 1 : ip daddr . udp dport; comment "vip . port . slot : endpoint"; }',
    ),
    defineSet(
      'map',
      s.noEndpoints,
      '{ type ipv4_addr . inet_proto . inet_service : verdict; comment "service ports without ready endpoints"; }',
    ),
    defineSet('set', s.hairpin, '{ type ipv4_addr . ipv4_addr; comment "endpoint . endpoint, for hairpin masquerade"; }'),
  ];

  const servicesRules: string[] = [];
  if (cfg.masqueradeAll) servicesRules.push(`ip daddr @${s.clusterIPs} jump ${c.markForMasquerade}`);
  else if (cidrs.length === 1) servicesRules.push(`ip daddr @${s.clusterIPs} ip saddr != ${cidrs[0]} jump ${c.markForMasquerade}`);
  else if (cidrs.length > 1) {
    servicesRules.push(`ip daddr @${s.clusterIPs} ip saddr != { ${cidrs.join(', ')} } jump ${c.markForMasquerade}`);
  }
  servicesRules.push(`ip daddr . meta l4proto . th dport vmap @${s.serviceIPs}`);

  const chains: ChainSpec[] = [
    { name: c.natPrerouting, base: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }, rules: [`jump ${c.services}`] },
    {
      name: c.natOutput,
      base: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
      rules: [`ip daddr @${s.clusterIPs} jump ${c.markForMasquerade}`, `jump ${c.services}`],
    },
    { name: c.natPostrouting, base: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' }, rules: [`jump ${c.masquerading}`] },
    {
      name: c.filterForward,
      base: { type: 'filter', hook: 'forward', priority: -10, policy: 'accept' },
      rules: [`ct state new jump ${c.serviceReject}`],
    },
    {
      name: c.filterOutput,
      base: { type: 'filter', hook: 'output', priority: -90, policy: 'accept' },
      rules: [`ct state new jump ${c.serviceReject}`],
    },
    { name: c.services, rules: servicesRules },
    { name: c.markForMasquerade, rules: [`meta mark set meta mark | ${mark}`] },
    {
      name: c.masquerading,
      rules: [
        `ct status dnat ip saddr . ip daddr @${s.hairpin} jump ${c.markForMasquerade}`,
        `meta mark & ${mark} == 0 return`,
        `meta mark set meta mark ^ ${mark}`,
        'masquerade fully-random',
      ],
    },
    {
      name: c.serviceReject,
      rules: [`ip daddr . meta l4proto . th dport vmap @${s.noEndpoints}`, `ip daddr @${s.clusterIPs} goto ${c.rejectPacket}`],
    },
    // Deviation: kube-proxy answers with ICMP port-unreachable for every protocol; a TCP
    // reset gives a TCP client the same "connection refused", without relying on ICMP.
    { name: c.rejectPacket, rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
  ];

  const counts = new Set<number>();
  for (let n = 1; n <= (cfg.lbPrealloc ?? 8); n++) counts.add(n);
  for (const n of lbCounts) if (Number.isInteger(n) && n > 0) counts.add(n);
  for (const n of [...counts].sort((a, b) => a - b)) {
    chains.push({
      name: lbChain(n),
      rules: [
        `meta l4proto tcp dnat ip addr . port to ip daddr . tcp dport . numgen random mod ${n} map @${s.endpointsTcp}`,
        `meta l4proto udp dnat ip addr . port to ip daddr . udp dport . numgen random mod ${n} map @${s.endpointsUdp}`,
      ],
    });
  }
  return { family: cfg.family, table: cfg.table, chains, sets };
}
