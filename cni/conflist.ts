/**
 * The CNI network configuration list for a node's pods: one bridge (`cni0`) with host-local
 * IPAM over the node's pod CIDR(s), plus `portmap` for `hostPort`s.
 *
 * Model: containerd's `script/setup/install-cni` (`10-containerd-net.conflist`) and the
 * conflist the e2e-node docs suggest. Deviation: `cniVersion` is 1.0.0, not 1.1.0, because
 * Debian bookworm's plugins (containernetworking-plugins 1.1.1) reject 1.1.0 on ADD, and
 * that failure only shows when the first pod is created (see MACHINE.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { InvalidInputError } from '../lib/errors.js';

/** The CNI spec version we write; the highest Debian bookworm's plugins accept. */
export const CNI_VERSION = '1.0.0';
/** File name of our conflist. containerd reads only the first conflist in lexical order. */
export const CONFLIST_FILE_NAME = '10-skiff.conflist';
/** Default directory where host-local keeps its allocations (the plugin's own default). */
export const DEFAULT_IPAM_DATA_DIR = '/var/lib/cni/networks';

/** One host-local address range. */
export interface CniIpamRange {
  subnet: string;
  gateway?: string;
}

/** A route handed to the pod by IPAM. */
export interface CniRoute {
  dst: string;
  gw?: string;
}

/** The `host-local` IPAM section. */
export interface HostLocalIpam {
  type: 'host-local';
  /** One inner list per address family (a "range set"). */
  ranges: CniIpamRange[][];
  routes: CniRoute[];
  dataDir: string;
}

/** The `bridge` plugin entry. */
export interface BridgePluginConf {
  type: 'bridge';
  bridge: string;
  isGateway: boolean;
  ipMasq: boolean;
  hairpinMode: boolean;
  mtu?: number;
  ipam: HostLocalIpam;
}

/** The `portmap` plugin entry (hostPort support through the `portMappings` capability). */
export interface PortmapPluginConf {
  type: 'portmap';
  capabilities: { portMappings: true };
  snat?: boolean;
}

/** A plugin entry of a conflist. */
export type CniPluginConf = BridgePluginConf | PortmapPluginConf;

/** A CNI network configuration list. */
export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** Options of {@link buildConflist}. */
export interface ConflistOptions {
  /** The node's pod CIDR (`spec.podCIDR`), or one per family (`spec.podCIDRs`). */
  podCidr: string | readonly string[];
  /** Bridge device name; default `cni0`. */
  bridge?: string;
  /** Network name; default `skiff`. */
  name?: string;
  /** Where host-local stores allocations; default `/var/lib/cni/networks`. */
  dataDir?: string;
  /** Masquerade traffic leaving the pod network; default true. */
  ipMasq?: boolean;
  /** Let a pod reach itself through a Service VIP; default true. */
  hairpinMode?: boolean;
  /** Bridge and veth MTU; the plugin's default when unset. */
  mtu?: number;
}

/** Parses `a.b.c.d/len` or `v6/len`; returns the family or throws. */
function parseCidr(cidr: string): 4 | 6 {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (m) {
    const len = Number(m[2]);
    if (isIPv4(m[1]) && len >= 0 && len <= 32) return 4;
    if (isIPv6(m[1]) && len >= 0 && len <= 128) return 6;
  }
  throw new InvalidInputError(`invalid pod CIDR ${JSON.stringify(cidr)}: want an address/prefix such as 10.244.1.0/24`, { field: 'podCidr' });
}

/**
 * Builds the conflist for a node: a bridge with `isGateway`, `ipMasq`, `hairpinMode` and
 * host-local IPAM over the pod CIDR(s) with a default route per family, then `portmap`.
 * Throws {@link InvalidInputError} for a malformed CIDR or more than one CIDR per family.
 */
export function buildConflist(opts: ConflistOptions): CniConflist {
  const cidrs = typeof opts.podCidr === 'string' ? [opts.podCidr] : [...opts.podCidr];
  if (cidrs.length === 0) throw new InvalidInputError('at least one pod CIDR is required', { field: 'podCidr' });
  const families = cidrs.map(parseCidr);
  if (new Set(families).size !== families.length) {
    throw new InvalidInputError(`at most one pod CIDR per address family, got ${cidrs.join(', ')}`, { field: 'podCidr' });
  }
  if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 576 || opts.mtu > 65535)) {
    throw new InvalidInputError(`invalid MTU ${opts.mtu}`, { field: 'mtu' });
  }
  const bridge: BridgePluginConf = {
    type: 'bridge',
    bridge: opts.bridge ?? 'cni0',
    isGateway: true,
    ipMasq: opts.ipMasq ?? true,
    hairpinMode: opts.hairpinMode ?? true,
    ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
    ipam: {
      type: 'host-local',
      ranges: cidrs.map((subnet) => [{ subnet }]),
      routes: families.map((f) => ({ dst: f === 4 ? '0.0.0.0/0' : '::/0' })),
      dataDir: opts.dataDir ?? DEFAULT_IPAM_DATA_DIR,
    },
  };
  return {
    cniVersion: CNI_VERSION,
    name: opts.name ?? 'skiff',
    plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }],
  };
}

/** The exact bytes {@link writeConflist} writes for a conflist. */
export function renderConflist(conflist: CniConflist): string {
  return `${JSON.stringify(conflist, null, 2)}\n`;
}

/** Result of {@link writeConflist}. */
export interface WriteConflistResult {
  /** Path of the conflist file. */
  path: string;
  /** False when the file already had exactly this content and was left alone. */
  changed: boolean;
}

/**
 * Writes `conflist` to `<dir>/10-skiff.conflist` (or `fileName`), atomically: a temporary
 * file in the same directory, renamed over the target, so a runtime watching the directory
 * never reads half a file. The temporary name ends in `.tmp`, which CNI loaders ignore.
 * Identical content is not rewritten (no spurious reload in the runtime). Creates `dir`.
 */
export async function writeConflist(dir: string, conflist: CniConflist, fileName: string = CONFLIST_FILE_NAME): Promise<WriteConflistResult> {
  const path = join(dir, fileName);
  const content = renderConflist(conflist);
  await mkdir(dir, { recursive: true });
  const existing = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing === content) return { path, changed: false };
  const tmp = join(dir, `.${fileName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { mode: 0o644, flush: true });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path, changed: true };
}
