/**
 * `--cleanup` and `skiff down`: remove every rule the proxy may have written on this host,
 * whatever mode wrote it: the nftables tables `ip <table>` and `ip6 <table>`, and in both
 * iptables backends (legacy and nft) Skiff's jump rules and `SKIFF-` chains. Nothing else
 * is touched: not kube-proxy's `KUBE-` chains, not Docker's or the host firewall's tables.
 */
import { errorMessage, hasCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { cleanupIptables } from './iptables/backend.js';
import { SpawnIptables, type IptablesExecutor } from './iptables/executor.js';
import { deleteNftTable, SpawnNftExecutor, type NftExecutor } from './nft/executor.js';

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
      await deleteNftTable(nft, fam, table);
    } catch (err) {
      if (!isUnavailable(err)) problems.push(`nft table ${fam} ${table}: ${errorMessage(err)}`);
    }
  }
  const runners = opts.iptables ?? [new SpawnIptables({ kind: 'legacy', prefix }), new SpawnIptables({ kind: 'nft', prefix })];
  await cleanupIptables(runners, (err, ipt, family) => {
    if (!isUnavailable(err)) problems.push(`${family === 'IPv6' ? 'ip6tables' : 'iptables'}-${ipt.kind}: ${errorMessage(err)}`);
  });
  for (const p of problems) opts.logger.warn(p);
  return problems;
}
