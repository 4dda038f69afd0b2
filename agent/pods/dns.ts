/**
 * A pod's DNS configuration, as kubelet's `pkg/kubelet/network/dns` forms it:
 *
 * | dnsPolicy                         | servers            | searches                                         | options        |
 * |-----------------------------------|--------------------|--------------------------------------------------|----------------|
 * | ClusterFirst (not host network)   | clusterDNS         | `<ns>.svc.<domain> svc.<domain> <domain>` + host | `ndots:5`      |
 * | ClusterFirstWithHostNet           | clusterDNS         | same                                             | `ndots:5`      |
 * | ClusterFirst on the host network  | host resolv.conf   | host                                             | host           |
 * | Default                           | host resolv.conf   | host                                             | host           |
 * | None                              | spec.dnsConfig only|                                                  |                |
 *
 * ClusterFirst without a configured clusterDNS falls back to Default (with a
 * `MissingClusterDNS` warning). `spec.dnsConfig` is merged on top of every policy, and the
 * result is trimmed to the resolver's limits (3 nameservers, 32 search domains, 2048 chars).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { DNSConfig } from '../runtime/index.js';

/** The host's resolver configuration (`--resolv-conf`). */
export interface HostResolvConf {
  servers: string[];
  searches: string[];
  options: string[];
}

/** Most nameservers kept (kubelet's `validation.MaxDNSNameservers`). */
export const MAX_DNS_NAMESERVERS = 3;
/** Most search domains kept. */
export const MAX_DNS_SEARCH_PATHS = 32;
/** Longest search line kept. */
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;

/** Parses resolv.conf text as kubelet's `parseResolvConf` does. */
export function parseResolvConf(text: string): HostResolvConf {
  const out: HostResolvConf = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const fields = line.split(/\s+/);
    if (fields[0] === 'nameserver' && fields.length >= 2) out.servers.push(fields[1]);
    else if (fields[0] === 'search') out.searches = fields.slice(1).filter((s) => s !== '.').map((s) => s.replace(/\.$/, ''));
    else if (fields[0] === 'options') out.options = fields.slice(1);
  }
  return out;
}

/** Inputs of {@link podDnsConfig}. */
export interface DnsInput {
  pod: Pod;
  clusterDNS: readonly string[];
  clusterDomain: string;
  /** The parsed host resolv.conf, or undefined when `resolvConf` is empty. */
  host: HostResolvConf | undefined;
  /** Node IPs, for the loopback fallback when there is no resolv.conf. */
  nodeIPs?: readonly string[];
}

/** The result: the config for the sandbox, plus a warning kubelet would record as an Event. */
export interface DnsResult {
  config: DNSConfig;
  warning?: { reason: string; message: string };
}

function omitDuplicates(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function mergeOptions(existing: readonly string[], extra: readonly { name?: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const op of existing) {
    const i = op.indexOf(':');
    if (i >= 0) m.set(op.slice(0, i), op.slice(i + 1));
    else m.set(op, '');
  }
  for (const op of extra) if (op.name) m.set(op.name, op.value ?? '');
  return [...m].map(([k, v]) => (v ? `${k}:${v}` : k));
}

type DnsType = 'cluster' | 'host' | 'none';

function dnsType(pod: Pod): DnsType {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  switch (policy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'Default':
      return 'host';
    default:
      return pod.spec?.hostNetwork ? 'host' : 'cluster';
  }
}

/** Forms the pod's DNS config. */
export function podDnsConfig(i: DnsInput): DnsResult {
  let type = dnsType(i.pod);
  let warning: DnsResult['warning'];
  const host = i.host;
  let cfg: DNSConfig = { servers: [...(host?.servers ?? [])], searches: [...(host?.searches ?? [])], options: [...(host?.options ?? [])] };

  if (type === 'cluster' && i.clusterDNS.length === 0) {
    warning = {
      reason: 'MissingClusterDNS',
      message: `pod: "${i.pod.metadata?.name}_${i.pod.metadata?.namespace}(${i.pod.metadata?.uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
    };
    type = 'host';
  }
  if (type === 'none') {
    cfg = { servers: [], searches: [], options: [] };
  } else if (type === 'cluster') {
    const searches = i.clusterDomain
      ? omitDuplicates([`${i.pod.metadata?.namespace}.svc.${i.clusterDomain}`, `svc.${i.clusterDomain}`, i.clusterDomain, ...cfg.searches])
      : cfg.searches;
    cfg = { servers: [...i.clusterDNS], searches, options: ['ndots:5'] };
  } else if (!host) {
    // No resolv.conf: point at the local machine and disable search, as kubelet does.
    const servers = (i.nodeIPs ?? []).map((ip) => (ip.includes(':') ? '::1' : '127.0.0.1'));
    cfg = { servers: servers.length ? omitDuplicates(servers) : ['127.0.0.1'], searches: ['.'], options: [] };
  }

  const extra = i.pod.spec?.dnsConfig;
  if (extra) {
    cfg = {
      servers: omitDuplicates([...cfg.servers, ...(extra.nameservers ?? [])]),
      searches: omitDuplicates([...cfg.searches, ...(extra.searches ?? [])]),
      options: mergeOptions(cfg.options, extra.options ?? []),
    };
  }

  if (cfg.servers.length > MAX_DNS_NAMESERVERS) {
    cfg.servers = cfg.servers.slice(0, MAX_DNS_NAMESERVERS);
    warning ??= {
      reason: 'DNSConfigForming',
      message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${cfg.servers.join(' ')}`,
    };
  }
  let searches = cfg.searches;
  if (searches.length > MAX_DNS_SEARCH_PATHS) searches = searches.slice(0, MAX_DNS_SEARCH_PATHS);
  while (searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) searches = searches.slice(0, -1);
  if (searches.length !== cfg.searches.length) {
    warning ??= {
      reason: 'DNSConfigForming',
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`,
    };
    cfg.searches = searches;
  }
  return { config: cfg, warning };
}
