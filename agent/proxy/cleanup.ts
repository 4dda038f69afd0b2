/**
 * `--cleanup` and `skiff down`: remove every rule the proxy may have written on this host,
 * whatever mode wrote it: the nftables tables `ip <table>` and `ip6 <table>`, and in both
 * iptables backends (legacy and nft) Skiff's jump rules and `SKIFF-` chains. Nothing else
 * is touched: not kube-proxy's `KUBE-` chains, not Docker's or the host firewall's tables.
 */
import { errorMessage, hasCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { cleanupIptablesFamily } from './iptables/backend.js';
import { SpawnIptables, type IptablesExecutor } from './iptables/executor.js';
import { baseChains } from './iptables/rules.js';
import { SpawnNftExecutor, type NftExecutor } from './nft/executor.js';

const isUnavailable = (err: unknown): boolean => hasCode(err, 'SKIFF_UNAVAILABLE');

/** Options of {@link cleanupProxyRules}. */
export interface CleanupOptions {
  logger: Logger;
  /** nft runner; default the host's `nft`. */
  nft?: NftExecutor;
  /** iptables runners; default both backends on this host. */
  iptables?: IptablesExecutor[];
  /** nftables table name; default `skiff`. */
  table?: string;
  /** argv prefix for the default runners (a network namespace in tests). */
  prefix?: string[];
}

/** Removes Skiff's proxy rules; resolves with the problems met (empty when all went well). */
export async function cleanupProxyRules(opts: CleanupOptions): Promise<string[]> {
  const problems: string[] = [];
  const prefix = opts.prefix ?? [];
  const nft = opts.nft ?? new SpawnNftExecutor({ command: [...prefix, 'nft'] });
  const table = opts.table ?? 'skiff';
  for (const fam of ['ip', 'ip6'] as const) {
    try {
      // `add` first makes the `delete` succeed when the table is already gone (nft 1.0.6 has no `destroy`).
      await nft.apply(`add table ${fam} ${table}\ndelete table ${fam} ${table}\n`);
    } catch (err) {
      if (!isUnavailable(err)) problems.push(`nft table ${fam} ${table}: ${errorMessage(err)}`);
    }
  }
  const runners = opts.iptables ?? [new SpawnIptables({ kind: 'legacy', prefix }), new SpawnIptables({ kind: 'nft', prefix })];
  const jumps = baseChains({ family: 'IPv4', nodeName: '', masqueradeBit: 14, masqueradeAll: false, localCidrs: [] }).jumps;
  for (const ipt of runners) {
    for (const family of ['IPv4', 'IPv6'] as const) {
      try {
        await cleanupIptablesFamily(ipt, family, jumps);
      } catch (err) {
        if (!isUnavailable(err)) problems.push(`${family === 'IPv6' ? 'ip6tables' : 'iptables'}-${ipt.kind}: ${errorMessage(err)}`);
      }
    }
  }
  for (const p of problems) opts.logger.warn(p);
  return problems;
}
