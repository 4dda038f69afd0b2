/**
 * `KubeProxyConfiguration` (`kubeproxy.config.k8s.io/v1alpha1`): the fields the proxy uses
 * today, with upstream's defaults (`pkg/proxy/apis/config/v1alpha1/defaults.go`) and errors
 * that name the offending field.
 *
 * Deviations from upstream, on purpose:
 * - `mode` defaults to `nftables` (upstream's Linux default is `iptables`); `iptables` selects
 *   the iptables backend; `ipvs` and `kernelspace` are refused.
 * - `serviceCIDR` (comma-separated, like `clusterCIDR`) is a Skiff extension: when set, a
 *   Service whose cluster IP lies outside it is skipped with a `ClusterIPOutOfRange` Event
 *   (kube-proxy does not know the service CIDR).
 * - Unknown fields are ignored rather than refused (kube-proxy decodes strictly), so a
 *   file written for a newer kube-proxy still loads.
 */
import { parseDuration as parseGoDuration } from '../../lib/units/duration.js';
import { parse as parseYaml } from 'yaml';
import { InvalidInputError } from '../../lib/errors.js';
import { isIPv4, parseIPv4Prefix } from './nft/types.js';

/** The kube-proxy API version Skiff reads. */
export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';

/** The proxy configuration, parsed and defaulted. */
export interface ProxyConfig {
  /** Proxy backend. */
  mode: 'nftables' | 'iptables';
  /** Pod network CIDRs of the cluster (`clusterCIDR`, comma-separated upstream). */
  clusterCIDRs: string[];
  /** `bindAddress` (default 0.0.0.0). */
  bindAddress: string;
  /** `healthzBindAddress` (default 0.0.0.0:10256); empty disables the server. */
  healthzBindAddress: string;
  /** `metricsBindAddress` (default 127.0.0.1:10249); empty disables the server. */
  metricsBindAddress: string;
  /** `nodePortAddresses`: CIDRs, or `primary`; empty means the node's primary IPs in nftables mode. */
  nodePortAddresses: string[];
  /** `<mode>.masqueradeAll`. */
  masqueradeAll: boolean;
  /** `<mode>.masqueradeBit` (default 14). */
  masqueradeBit: number;
  /** `<mode>.minSyncPeriod` in ms (default 1 s). */
  minSyncPeriodMs: number;
  /** `<mode>.syncPeriod` in ms (default 30 s). */
  syncPeriodMs: number;
  /** `hostnameOverride`, when set. */
  hostnameOverride?: string;
  /** `serviceCIDR` (Skiff extension), when set. */
  serviceCIDRs?: string[];
}

/** Upstream defaults (with `mode: nftables`). */
export function defaultProxyConfig(): ProxyConfig {
  return {
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
  };
}

/**
 * Parses a Go duration (`1s`, `500ms`, `1m30s`) into milliseconds; one home in lib/units.
 * Throws {@link InvalidInputError} naming `field`.
 */
export function parseDuration(text: unknown, field: string): number {
  if (typeof text !== 'string') throw new InvalidInputError(`${field}: expected a duration string such as "1s"`, { field });
  return parseGoDuration(text, field);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, field: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidInputError(`${field}: expected a string`, { field });
  return v;
}

function bool(o: Obj, key: string, field: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidInputError(`${field}: expected true or false`, { field });
  return v;
}

function isCidr(text: string): boolean {
  if (parseIPv4Prefix(text)) return true;
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  return !!m && m[1].includes(':') && Number(m[2]) <= 128;
}

function isIP(text: string): boolean {
  return isIPv4(text) || (/^[0-9a-fA-F:]+$/.test(text) && text.includes(':'));
}

function checkHostPort(value: string, field: string): void {
  if (value === '') return;
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d+)$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = m ? Number(m[3]) : NaN;
  if (!m || !host || !isIP(host) || !(port >= 1 && port <= 65535)) {
    throw new InvalidInputError(`${field}: expected ip:port, got ${JSON.stringify(value)}`, { field });
  }
}

/**
 * Parses a KubeProxyConfiguration from YAML/JSON text or an already-decoded object, applies
 * defaults and validates. Throws {@link InvalidInputError} whose `field` names the bad field
 * (for example `nftables.minSyncPeriod`).
 */
export function parseKubeProxyConfiguration(input: string | Record<string, unknown>): ProxyConfig {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = parseYaml(input);
    } catch (err) {
      throw new InvalidInputError(`KubeProxyConfiguration: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isObj(doc)) throw new InvalidInputError('KubeProxyConfiguration: expected an object');
  const o = doc;
  const cfg = defaultProxyConfig();

  const apiVersion = str(o, 'apiVersion', 'apiVersion');
  if (apiVersion !== undefined && apiVersion !== KUBE_PROXY_API_VERSION) {
    throw new InvalidInputError(`apiVersion: expected ${KUBE_PROXY_API_VERSION}, got ${apiVersion}`, { field: 'apiVersion' });
  }
  const kind = str(o, 'kind', 'kind');
  if (kind !== undefined && kind !== 'KubeProxyConfiguration') {
    throw new InvalidInputError(`kind: expected KubeProxyConfiguration, got ${kind}`, { field: 'kind' });
  }

  const mode = str(o, 'mode', 'mode') ?? '';
  if (mode === '' || mode === 'nftables') cfg.mode = 'nftables';
  else if (mode === 'iptables') cfg.mode = 'iptables';
  else throw new InvalidInputError(`mode: unsupported proxy mode ${JSON.stringify(mode)} (nftables or iptables)`, { field: 'mode' });

  const cidr = str(o, 'clusterCIDR', 'clusterCIDR');
  if (cidr) {
    cfg.clusterCIDRs = cidr.split(',').map((s) => s.trim()).filter(Boolean);
    for (const c of cfg.clusterCIDRs) {
      if (!isCidr(c)) throw new InvalidInputError(`clusterCIDR: invalid CIDR ${JSON.stringify(c)}`, { field: 'clusterCIDR' });
    }
  }

  const svcCidr = str(o, 'serviceCIDR', 'serviceCIDR');
  if (svcCidr) {
    cfg.serviceCIDRs = svcCidr.split(',').map((s) => s.trim()).filter(Boolean);
    for (const c of cfg.serviceCIDRs) {
      if (!isCidr(c)) throw new InvalidInputError(`serviceCIDR: invalid CIDR ${JSON.stringify(c)}`, { field: 'serviceCIDR' });
    }
  }

  const bind = str(o, 'bindAddress', 'bindAddress');
  if (bind !== undefined && bind !== '') {
    if (!isIP(bind)) throw new InvalidInputError(`bindAddress: invalid IP ${JSON.stringify(bind)}`, { field: 'bindAddress' });
    cfg.bindAddress = bind;
    if (bind.includes(':')) {
      cfg.healthzBindAddress = '[::]:10256';
      cfg.metricsBindAddress = '[::1]:10249';
    }
  }
  for (const key of ['healthzBindAddress', 'metricsBindAddress'] as const) {
    const v = str(o, key, key);
    if (v === undefined) continue;
    checkHostPort(v, key);
    cfg[key] = v;
  }

  const npa = o.nodePortAddresses;
  if (npa !== undefined && npa !== null) {
    if (!Array.isArray(npa)) throw new InvalidInputError('nodePortAddresses: expected a list', { field: 'nodePortAddresses' });
    npa.forEach((v, i) => {
      const field = `nodePortAddresses[${i}]`;
      if (typeof v !== 'string' || (v !== 'primary' && !isCidr(v))) {
        throw new InvalidInputError(`${field}: expected a CIDR or "primary"`, { field });
      }
    });
    cfg.nodePortAddresses = npa as string[];
  }

  const host = str(o, 'hostnameOverride', 'hostnameOverride');
  if (host) cfg.hostnameOverride = host;

  // The section of the active mode carries masquerade and sync settings.
  const section = cfg.mode;
  const sec = o[section];
  if (sec !== undefined && sec !== null) {
    if (!isObj(sec)) throw new InvalidInputError(`${section}: expected an object`, { field: section });
    const all = bool(sec, 'masqueradeAll', `${section}.masqueradeAll`);
    if (all !== undefined) cfg.masqueradeAll = all;
    const bit = sec.masqueradeBit;
    if (bit !== undefined && bit !== null) {
      if (typeof bit !== 'number' || !Number.isInteger(bit) || bit < 0 || bit > 31) {
        throw new InvalidInputError(`${section}.masqueradeBit: must be an integer in [0, 31]`, { field: `${section}.masqueradeBit` });
      }
      cfg.masqueradeBit = bit;
    }
    if (sec.minSyncPeriod !== undefined && sec.minSyncPeriod !== null) {
      cfg.minSyncPeriodMs = parseDuration(sec.minSyncPeriod, `${section}.minSyncPeriod`);
    }
    if (sec.syncPeriod !== undefined && sec.syncPeriod !== null) {
      cfg.syncPeriodMs = parseDuration(sec.syncPeriod, `${section}.syncPeriod`);
    }
  }
  if (cfg.minSyncPeriodMs < 0) {
    throw new InvalidInputError(`${section}.minSyncPeriod: must be greater than or equal to 0`, { field: `${section}.minSyncPeriod` });
  }
  if (cfg.syncPeriodMs <= 0) {
    throw new InvalidInputError(`${section}.syncPeriod: must be greater than 0`, { field: `${section}.syncPeriod` });
  }
  if (cfg.syncPeriodMs < cfg.minSyncPeriodMs) {
    throw new InvalidInputError(`${section}.syncPeriod: must be greater than or equal to ${section}.minSyncPeriod`, {
      field: `${section}.syncPeriod`,
    });
  }
  return cfg;
}
