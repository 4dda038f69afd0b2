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
 * ## The tables (`table ip skiff`, and `table ip6 skiff` on a node with IPv6)
 * Both families have the same layout (`ip6 daddr`, `ipv6_addr` in the second), are fed from
 * the same model, and go to the kernel in the same `nft -f -` transaction. A "destination" is
 * `addr . proto . port`: a cluster IP and Service port, or an external address (a node IP and
 * NodePort, an externalIP or a load-balancer IP, with the Service port).
 * ```
 *  nat-prerouting (nat, prerouting -100) → services
 *  nat-output     (nat, output -100):  host traffic to a cluster IP or to an ETP-Local
 *                                      destination → mark-for-masquerade; → services
 *  services:
 *    ip daddr @cluster-ips ip saddr != <cluster CIDR> → mark-for-masquerade
 *    ip daddr . l4proto . dport @external-masq      → mark-for-masquerade   (ETP Cluster)
 *    dnat to ip saddr . ip daddr . dport map @affinity-<proto>              (sticky clients)
 *    unmarked, ip saddr != <cluster CIDR>: vmap @external-local → goto lbl-<m> | accept
 *    ip daddr . l4proto . dport vmap @service-ips   → goto lb-<n>
 *  lb-<n>:  dnat ip addr . port to ip daddr . dport . numgen random mod n map @service-endpoints-<proto>
 *  lbl-<m>: the same with `numgen random mod m offset 65536` (the local view's slots)
 *  nat-postrouting (nat, postrouting 100) → masquerading:
 *    ct status dnat ip saddr . ip daddr @hairpin → mark-for-masquerade
 *    ct status dnat, original destination in @affinity-services → jump affinity-<t>
 *        (update @affinity-<proto> { client . original dst . original port timeout t : endpoint })
 *    mark bit clear → return; clear the bit; masquerade fully-random
 *  filter-input (input -10), filter-forward (forward -10), filter-output (output -90):
 *    ct state new → service-reject:
 *      ip daddr . l4proto . dport vmap @no-endpoint-services (→ goto reject-packet | drop)
 *      ip daddr @cluster-ips → goto reject-packet   (a port the Service does not have)
 *  reject-packet: TCP → reject with tcp reset; otherwise ICMP port-unreachable
 * ```
 *
 * ## Spreading uniformly over each Service's own endpoint count
 * `numgen random mod N` needs a constant N, and N differs per Service. Destinations are
 * grouped by their number of endpoints n: the verdict-map element of a destination with n
 * endpoints says `goto lb-<n>`, and chain `lb-<n>` draws `numgen random mod n` and looks up
 * `addr . port . k` in the endpoint map, where the destination's endpoints occupy slots
 * k = 0…n-1 (sorted by address). The draw is uniform over 0…n-1 and every slot holds exactly
 * one endpoint, so each endpoint gets 1/n. lb-1…lb-8 (and lbl-1…lbl-4) always exist, so
 * ordinary endpoint churn is pure element churn; larger counts get a chain while some
 * destination has that many endpoints. The packet-tracer tests enumerate every draw.
 *
 * The endpoint maps are per protocol because nft 1.0.6 refuses a `dnat … to … th dport …`
 * rule against a `typeof … th dport` map loaded from the kernel ("conflicting protocols").
 *
 * ## Traffic policies (kube-proxy's semantics, pkg/proxy/nftables)
 * - ClusterIP destinations use the cluster view, or with `internalTrafficPolicy: Local` the
 *   local view; no usable endpoint: `no-endpoint-services` → reject (Cluster) or drop (Local).
 * - External destinations, `externalTrafficPolicy: Cluster`: the cluster view, and every
 *   packet is masqueraded (`external-masq`).
 * - External destinations, `externalTrafficPolicy: Local`: clients from outside get the
 *   local view (`external-local`, slots offset by 65536, no masquerade, so the client address
 *   is preserved); pods (cluster CIDR) and the node itself short-circuit to the cluster view
 *   (`service-ips`), the node's own traffic masqueraded, as kube-proxy does. With no local
 *   endpoint the `external-local` element says `accept` (no DNAT), and the filter hooks drop
 *   the packet through `no-endpoint-services` (which only ever sees un-DNATed packets).
 *
 * ## Masquerade
 * - Hairpin: a pod reaching itself through its Service arrives from, and is DNATed back to,
 *   the same address; without SNAT the reply would not return through conntrack. The
 *   `hairpin` set holds `ep . ep` for every endpoint on this node (or of unknown node),
 *   matched after DNAT in postrouting.
 * - Host traffic to cluster IPs is all masqueraded (`nat-output`). Deviation: kube-proxy
 *   masquerades host traffic only when its source is outside the cluster CIDR; marking all of
 *   it is equivalent in effect and needs no CIDR.
 * - Off-cluster sources to cluster IPs: `ip saddr != <cluster CIDR>` (clusterCIDR, else the
 *   node's podCIDR; absent both, no rule, as kube-proxy). masqueradeAll marks every packet to
 *   a cluster IP.
 * The mark is one bit (masqueradeBit, default 14 → 0x4000), cleared before masquerading so
 * it does not leak to later processing, as kube-proxy does.
 *
 * ## Session affinity (ClientIP)
 * Two dynamic maps `affinity-tcp`/`affinity-udp` (`client . destination addr . port :
 * endpoint`, flags dynamic,timeout) are filled by the packet path: the first connection's
 * DNAT is recorded in postrouting with the Service's timeout (one chain `affinity-<t>` per
 * distinct timeout, selected through the `affinity-services` verdict map), and later
 * connections from the client hit the `dnat … map @affinity-<proto>` rule before the
 * random choice. As with kube-proxy's `recent` lists, each new connection refreshes the
 * timeout. Entries pointing at an endpoint that went away are deleted by the proxier.
 * Limitation: only in the `ip` table. nft 1.0.6 aborts (`netlink_gen_expr: Assertion
 * 'dreg < ctx->reg_low' failed`) on any packet-path map update with a concatenated key in an
 * `ip6` table, so IPv6 destinations of ClientIP Services are balanced without affinity in
 * nftables mode (iptables mode has IPv6 affinity through `-m recent`).
 *
 * ## iptables mode
 * Another backend over the same model, tracker and runner (`iptables/`); only this file and
 * `nft/` are nftables-specific.
 */
import { endpointViews, isLocalEndpoint } from './endpoints.js';
import { parseCidr } from './ip.js';
import type { EndpointInfo, ServicePortState } from './model.js';
import { defineSet, type ChainSpec, type Family, type SetSpec, type Structure } from './nft/ruleset.js';

/** Chain names of the layout. */
export const CHAINS = {
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  filterInput: 'filter-input',
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
  externalLocal: 'external-local',
  externalMasq: 'external-masq',
  endpointsTcp: 'service-endpoints-tcp',
  endpointsUdp: 'service-endpoints-udp',
  noEndpoints: 'no-endpoint-services',
  hairpin: 'hairpin',
  affinityServices: 'affinity-services',
  affinityTcp: 'affinity-tcp',
  affinityUdp: 'affinity-udp',
} as const;

/**
 * Pseudo-sets in the desired elements: their keys are the endpoint counts (cluster and local
 * views) and affinity timeouts in use, which decide the `lb-<n>`, `lbl-<m>` and
 * `affinity-<t>` chains. They are never written to nft.
 */
export const LB_COUNTS = '#lb-counts';
/** See {@link LB_COUNTS}. */
export const LBL_COUNTS = '#lbl-counts';
/** See {@link LB_COUNTS}. */
export const AFFINITY_TIMEOUTS = '#affinity-timeouts';

/** Slot offset of the local view in the endpoint maps. */
export const LOCAL_SLOT_OFFSET = 65536;

/** Size of the affinity maps (clients × affinity destinations remembered at once). */
export const AFFINITY_MAP_SIZE = 1 << 20;

/** The chain that spreads over n endpoints of the cluster view. */
export function lbChain(n: number): string {
  return `lb-${n}`;
}

/** The chain that spreads over m endpoints of the local view. */
export function lblChain(m: number): string {
  return `lbl-${m}`;
}

/** The chain that records session affinity with a timeout of t seconds. */
export function affinityChain(t: number): string {
  return `affinity-${t}`;
}

/** Configuration of the layout of one table. */
export interface LayoutConfig {
  /** This node's name: only endpoints on this node (or of unknown node) can hairpin here. */
  nodeName: string;
  /** Table family. */
  family: Family;
  /** Table name (`skiff`). */
  table: string;
  /** The masquerade mark bit (0–31). */
  masqueradeBit: number;
  /** Masquerade every packet to a cluster IP. */
  masqueradeAll: boolean;
  /** CIDRs of the cluster's pods (this family); traffic to a cluster IP from outside them is masqueraded. */
  localCidrs: string[];
  /** `lb-1 … lb-<lbPrealloc>` always exist; defaults to 8. */
  lbPrealloc?: number;
  /** `lbl-1 … lbl-<lblPrealloc>` always exist; defaults to 4. */
  lblPrealloc?: number;
}

/** What one sync knows besides the Service: node facts for this table's family. */
export interface ElementContext {
  nodeName: string;
  family: Family;
  /** Node addresses of this family that accept NodePorts (from nodePortAddresses). */
  nodePortIPs: readonly string[];
}

/** One element a service port contributes: `set`, canonical `key`, canonical `value`. */
export interface ElementRef {
  set: string;
  key: string;
  value: string;
}

const NFT_PROTO: Record<string, 'tcp' | 'udp' | undefined> = { TCP: 'tcp', UDP: 'udp' };

/** True when `ip` (canonical) belongs to the family of `fam`. */
export function inFamily(ip: string, fam: Family): boolean {
  return ip.includes(':') === (fam === 'ip6');
}

/**
 * The elements a service port contributes to the table of `ctx.family`. Ports of protocols
 * the layout does not handle (SCTP: this kernel has no SCTP support) contribute nothing.
 */
export function servicePortElements(sp: ServicePortState, ctx: ElementContext): ElementRef[] {
  const info = sp.info;
  const proto = NFT_PROTO[info.protocol];
  if (!proto) return [];
  const fam = ctx.family;
  const vips = info.clusterIPs.filter((ip) => inFamily(ip, fam));
  const external: Array<{ addr: string; port: number }> = [];
  const seenExternal = new Set<string>();
  const addExternal = (addr: string, port: number): void => {
    const k = `${addr} ${port}`;
    if (!inFamily(addr, fam) || seenExternal.has(k) || vips.includes(addr)) return;
    seenExternal.add(k);
    external.push({ addr, port });
  };
  for (const ip of info.externalIPs) addExternal(ip, info.port);
  for (const ip of info.loadBalancerIPs) addExternal(ip, info.port);
  if (info.nodePort > 0) for (const ip of ctx.nodePortIPs) addExternal(ip, info.nodePort);
  if (vips.length === 0 && external.length === 0) return [];

  const eps = sp.endpoints.filter((e) => inFamily(e.ip, fam));
  const views = endpointViews(eps, ctx.nodeName);
  const clusterView = info.internalTrafficPolicy === 'Local' ? views.local : views.cluster;
  const etpLocal = info.externalTrafficPolicy === 'Local';
  const epSet = proto === 'tcp' ? SETS.endpointsTcp : SETS.endpointsUdp;
  // See "Session affinity" above: not in the ip6 table with nft 1.0.6.
  const affinity = info.sessionAffinity === 'ClientIP' && fam === 'ip';
  const affinityVerdict = `jump ${affinityChain(info.affinityTimeoutSeconds)}`;
  const out: ElementRef[] = [];
  const lbCounts = new Set<number>();
  const lblCounts = new Set<number>();
  const hairpin = new Set<string>();

  /** Elements of one destination served by `view` at slots offset..offset+n-1. */
  const dest = (addr: string, port: number, view: EndpointInfo[], vmap: string, chain: (n: number) => string, offset: number): void => {
    const key = `${addr} . ${proto} . ${port}`;
    const n = view.length;
    out.push({ set: vmap, key, value: `goto ${chain(n)}` });
    (offset ? lblCounts : lbCounts).add(n);
    for (let k = 0; k < n; k++) {
      const e = view[k];
      out.push({ set: epSet, key: `${addr} . ${port} . ${k + offset}`, value: `${e.ip} . ${e.port}` });
      if (!e.nodeName || isLocalEndpoint(e, ctx.nodeName)) hairpin.add(e.ip);
    }
  };

  for (const vip of vips) {
    out.push({ set: SETS.clusterIPs, key: vip, value: '' });
    if (affinity) out.push({ set: SETS.affinityServices, key: `${vip} . ${proto} . ${info.port}`, value: affinityVerdict });
    if (clusterView.length === 0) {
      const verdict = info.internalTrafficPolicy === 'Local' ? 'drop' : `goto ${CHAINS.rejectPacket}`;
      out.push({ set: SETS.noEndpoints, key: `${vip} . ${proto} . ${info.port}`, value: verdict });
    } else {
      dest(vip, info.port, clusterView, SETS.serviceIPs, lbChain, 0);
    }
  }
  for (const { addr, port } of external) {
    const key = `${addr} . ${proto} . ${port}`;
    if (affinity) out.push({ set: SETS.affinityServices, key, value: affinityVerdict });
    if (views.cluster.length) dest(addr, port, views.cluster, SETS.serviceIPs, lbChain, 0);
    if (etpLocal) {
      if (views.local.length) dest(addr, port, views.local, SETS.externalLocal, lblChain, LOCAL_SLOT_OFFSET);
      else {
        out.push({ set: SETS.externalLocal, key, value: 'accept' });
        out.push({ set: SETS.noEndpoints, key, value: 'drop' });
      }
    } else {
      out.push({ set: SETS.externalMasq, key, value: '' });
      if (!views.cluster.length) out.push({ set: SETS.noEndpoints, key, value: `goto ${CHAINS.rejectPacket}` });
    }
  }
  for (const ip of hairpin) out.push({ set: SETS.hairpin, key: `${ip} . ${ip}`, value: '' });
  for (const n of lbCounts) out.push({ set: LB_COUNTS, key: String(n), value: '' });
  for (const n of lblCounts) out.push({ set: LBL_COUNTS, key: String(n), value: '' });
  if (affinity) out.push({ set: AFFINITY_TIMEOUTS, key: String(info.affinityTimeoutSeconds), value: '' });
  return out;
}

function hexMark(bit: number): string {
  return `0x${(1 << bit >>> 0).toString(16).padStart(8, '0')}`;
}

/** The chain counts (pseudo-set keys) a structure is built for. */
export interface StructureCounts {
  lb: Iterable<number>;
  lbl: Iterable<number>;
  affinityTimeouts: Iterable<number>;
}

function counts(pre: number, extra: Iterable<number>): number[] {
  const all = new Set<number>();
  for (let n = 1; n <= pre; n++) all.add(n);
  for (const n of extra) if (Number.isInteger(n) && n > 0) all.add(n);
  return [...all].sort((a, b) => a - b);
}

/** The chains, rules and set declarations for the given endpoint counts and timeouts in use. */
export function buildStructure(cfg: LayoutConfig, used: StructureCounts): Structure {
  const mark = hexMark(cfg.masqueradeBit);
  const fam = cfg.family;
  const want = fam === 'ip6' ? 'IPv6' : 'IPv4';
  const cidrs = cfg.localCidrs.filter((c) => parseCidr(c)?.family === want);
  const addrType = fam === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
  const c = CHAINS;
  const s = SETS;
  const dest = `${fam} daddr . meta l4proto . th dport`;
  const saddrNotLocal = cidrs.length === 0 ? '' : cidrs.length === 1 ? `${fam} saddr != ${cidrs[0]} ` : `${fam} saddr != { ${cidrs.join(', ')} } `;

  const destType = `${addrType} . inet_proto . inet_service`;
  const epMap = (p: 'tcp' | 'udp'): string =>
    `{ typeof ${fam} daddr . ${p} dport . numgen random mod 1 : ${fam} daddr . ${p} dport; comment "addr . port . slot : endpoint"; }`;
  const affMap = (p: 'tcp' | 'udp'): string =>
    `{ typeof ${fam} saddr . ${fam} daddr . ${p} dport : ${fam} daddr . ${p} dport; size ${AFFINITY_MAP_SIZE}; flags dynamic,timeout; comment "client . addr . port : endpoint, written by the packet path"; }`;
  const sets: SetSpec[] = [
    defineSet('set', s.clusterIPs, `{ type ${addrType}; comment "cluster IPs of proxied Services"; }`),
    defineSet('map', s.serviceIPs, `{ type ${destType} : verdict; comment "destination with usable endpoints: goto lb-<endpoint count>"; }`),
    defineSet('map', s.externalLocal, `{ type ${destType} : verdict; comment "externalTrafficPolicy Local destination, clients from outside: goto lbl-<local endpoints>"; }`),
    defineSet('set', s.externalMasq, `{ type ${destType}; comment "externalTrafficPolicy Cluster destinations, always masqueraded"; }`),
    defineSet('map', s.endpointsTcp, epMap('tcp')),
    defineSet('map', s.endpointsUdp, epMap('udp')),
    defineSet('map', s.noEndpoints, `{ type ${destType} : verdict; comment "destinations without usable endpoints"; }`),
    defineSet('set', s.hairpin, `{ type ${addrType} . ${addrType}; comment "endpoint . endpoint, for hairpin masquerade"; }`),
  ];
  const affinity = fam === 'ip';
  if (affinity) {
    sets.push(
      defineSet('map', s.affinityServices, `{ type ${destType} : verdict; comment "sessionAffinity ClientIP destinations: jump affinity-<timeout>"; }`),
      defineSet('map', s.affinityTcp, affMap('tcp')),
      defineSet('map', s.affinityUdp, affMap('udp')),
    );
  }

  const servicesRules: string[] = [];
  if (cfg.masqueradeAll) servicesRules.push(`${fam} daddr @${s.clusterIPs} jump ${c.markForMasquerade}`);
  else if (cidrs.length) servicesRules.push(`${fam} daddr @${s.clusterIPs} ${saddrNotLocal}jump ${c.markForMasquerade}`);
  servicesRules.push(`${dest} @${s.externalMasq} jump ${c.markForMasquerade}`);
  if (affinity) {
    servicesRules.push(
      `meta l4proto tcp dnat ${fam} addr . port to ${fam} saddr . ${fam} daddr . tcp dport map @${s.affinityTcp}`,
      `meta l4proto udp dnat ${fam} addr . port to ${fam} saddr . ${fam} daddr . udp dport map @${s.affinityUdp}`,
    );
  }
  servicesRules.push(`meta mark & ${mark} == 0 ${saddrNotLocal}${dest} vmap @${s.externalLocal}`, `${dest} vmap @${s.serviceIPs}`);

  const origDest = (p: 'tcp' | 'udp'): string => `meta l4proto ${p} ct status dnat ct original ${fam} daddr . meta l4proto . ct original proto-dst vmap @${s.affinityServices}`;
  const chains: ChainSpec[] = [
    { name: c.natPrerouting, base: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }, rules: [`jump ${c.services}`] },
    {
      name: c.natOutput,
      base: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
      rules: [
        `${fam} daddr @${s.clusterIPs} jump ${c.markForMasquerade}`,
        `${dest} @${s.externalLocal} jump ${c.markForMasquerade}`,
        `jump ${c.services}`,
      ],
    },
    { name: c.natPostrouting, base: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' }, rules: [`jump ${c.masquerading}`] },
    { name: c.filterInput, base: { type: 'filter', hook: 'input', priority: -10, policy: 'accept' }, rules: [`ct state new jump ${c.serviceReject}`] },
    { name: c.filterForward, base: { type: 'filter', hook: 'forward', priority: -10, policy: 'accept' }, rules: [`ct state new jump ${c.serviceReject}`] },
    { name: c.filterOutput, base: { type: 'filter', hook: 'output', priority: -90, policy: 'accept' }, rules: [`ct state new jump ${c.serviceReject}`] },
    { name: c.services, rules: servicesRules },
    { name: c.markForMasquerade, rules: [`meta mark set meta mark | ${mark}`] },
    {
      name: c.masquerading,
      rules: [
        `ct status dnat ${fam} saddr . ${fam} daddr @${s.hairpin} jump ${c.markForMasquerade}`,
        ...(affinity ? [origDest('tcp'), origDest('udp')] : []),
        `meta mark & ${mark} == 0 return`,
        `meta mark set meta mark ^ ${mark}`,
        'masquerade fully-random',
      ],
    },
    {
      name: c.serviceReject,
      rules: [`${dest} vmap @${s.noEndpoints}`, `${fam} daddr @${s.clusterIPs} goto ${c.rejectPacket}`],
    },
    // Deviation: kube-proxy answers with ICMP port-unreachable for every protocol; a TCP
    // reset gives a TCP client the same "connection refused", without relying on ICMP.
    { name: c.rejectPacket, rules: ['meta l4proto tcp reject with tcp reset', 'reject'] },
  ];
  const lbRules = (n: number, offset: number): string[] =>
    (['tcp', 'udp'] as const).map(
      (p) =>
        `meta l4proto ${p} dnat ${fam} addr . port to ${fam} daddr . ${p} dport . numgen random mod ${n}${offset ? ` offset ${offset}` : ''} map @${p === 'tcp' ? s.endpointsTcp : s.endpointsUdp}`,
    );
  for (const n of counts(cfg.lbPrealloc ?? 8, used.lb)) chains.push({ name: lbChain(n), rules: lbRules(n, 0) });
  for (const m of counts(cfg.lblPrealloc ?? 4, used.lbl)) chains.push({ name: lblChain(m), rules: lbRules(m, LOCAL_SLOT_OFFSET) });
  for (const t of affinity ? counts(0, used.affinityTimeouts) : []) {
    chains.push({
      name: affinityChain(t),
      rules: (['tcp', 'udp'] as const).map(
        (p) =>
          `meta l4proto ${p} update @${p === 'tcp' ? s.affinityTcp : s.affinityUdp} { ${fam} saddr . ct original ${fam} daddr . ct original proto-dst timeout ${t}s : ${fam} daddr . ${p} dport }`,
      ),
    });
  }
  return { family: fam, table: cfg.table, chains, sets };
}
