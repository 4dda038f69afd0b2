/**
 * The iptables backend (`KubeProxyConfiguration.mode: iptables`): the same model as the
 * nftables backend, written as kube-proxy's chain structure (see `rules.ts`) through
 * `iptables-restore --noflush`, one call per family, only with the chains that changed.
 *
 * Every chain is identified by the hash in its first rule, so the backend knows what the
 * kernel holds by reading `iptables-save` (on start, after an error, and on the periodic
 * resync), and otherwise trusts what it last wrote: a one-endpoint change rewrites that
 * Service's SVC chain and adds/removes one SEP chain. The shared chains (SKIFF-SERVICES, …)
 * are rewritten whenever their lines change (a Service added or removed, an endpoint count
 * reaching or leaving zero), as kube-proxy rewrites them on every sync.
 *
 * The jump rules from the built-in chains are checked (`-C`) and inserted (`-I`) on full
 * syncs; cleanup removes exactly those rules and every `SKIFF-` chain, nothing else.
 */
import type { Logger } from '../../../lib/log.js';
import type { BackendSyncInput, BackendSyncResult, ProxyBackend } from '../backend.js';
import type { IPFamily } from '../ip.js';
import { deleteNftTable, type NftExecutor } from '../nft/executor.js';
import type { IptablesExecutor } from './executor.js';
import {
  BASE_JUMPS,
  baseChains,
  CHAIN_PREFIX,
  IPT_CHAINS,
  markerOf,
  markerRule,
  nodePortJumps,
  portRules,
  type ChainRules,
  type IptConfig,
  type IptTable,
  type PortContribution,
} from './rules.js';

/** Options of {@link IptablesBackend}. */
export interface IptablesBackendOptions {
  iptables: IptablesExecutor;
  logger: Logger;
  families: readonly IPFamily[];
  nodeName: string;
  masqueradeBit: number;
  masqueradeAll: boolean;
  /** Cluster (pod) CIDRs of both families. */
  localCidrs: readonly string[];
  /** Used to delete the nftables mode's tables at start (mode switch); optional. */
  nft?: NftExecutor;
  /** The nftables mode's table name (`skiff`). */
  nftTable?: string;
}

interface Desired {
  rules: ChainRules;
  /** The marker rule (hash of `rules`). */
  marker: string;
}

interface FamilyState {
  cfg: IptConfig;
  /** service → port key → contribution */
  contributions: Map<string, Map<string, PortContribution>>;
  /** Port chains: table → chain → desired. */
  portChains: Record<IptTable, Map<string, Desired>>;
  /** Marker per chain as last applied; null when unknown. */
  applied: Record<IptTable, Map<string, string>> | null;
}

const TABLES: IptTable[] = ['filter', 'nat'];
const NAT_SHARED = [IPT_CHAINS.services, IPT_CHAINS.nodePorts];
const FILTER_SHARED = [IPT_CHAINS.services, IPT_CHAINS.externalServices];

function desiredOf(rules: ChainRules): Desired {
  return { rules, marker: markerRule(rules) };
}

function tableOfChain(chain: string): IptTable {
  // Port chains (SVC/SVL/EXT/SEP) are nat chains.
  void chain;
  return 'nat';
}

/** Parses `iptables-save -t <table>`: Skiff's chains with their marker, and every rule line. */
export function parseSave(text: string): { chains: Map<string, string | undefined>; rules: string[] } {
  const chains = new Map<string, string | undefined>();
  const withRules = new Set<string>();
  const rules: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (name.startsWith(CHAIN_PREFIX)) chains.set(name, undefined);
    } else if (line.startsWith('-A ')) {
      rules.push(line);
      const name = line.split(' ')[1];
      // The marker is the chain's first rule.
      if (name.startsWith(CHAIN_PREFIX) && !withRules.has(name)) {
        withRules.add(name);
        chains.set(name, markerOf(line));
      }
    }
  }
  return { chains, rules };
}

/** The iptables backend. See the module comment. */
export class IptablesBackend implements ProxyBackend {
  readonly mode = 'iptables' as const;
  private readonly fams: FamilyState[];

  constructor(private readonly opts: IptablesBackendOptions) {
    this.fams = opts.families.map((family) => ({
      cfg: {
        family,
        nodeName: opts.nodeName,
        masqueradeBit: opts.masqueradeBit,
        masqueradeAll: opts.masqueradeAll,
        localCidrs: opts.localCidrs.filter((c) => c.includes(':') === (family === 'IPv6')),
      },
      contributions: new Map(),
      portChains: { nat: new Map(), filter: new Map() },
      applied: null,
    }));
  }

  async sync(input: BackendSyncInput): Promise<BackendSyncResult> {
    const ipt = this.opts.iptables;
    let full = input.reason === 'initial' || input.reason === 'periodic' || this.fams.some((f) => f.applied === null);
    const touched = this.fams.map(() => new Set<string>());
    // Fold the changes into the contributions and port chains.
    this.fams.forEach((f, i) => {
      for (const [svc, ports] of input.changed) {
        const old = f.contributions.get(svc);
        for (const c of old?.values() ?? []) {
          for (const name of c.chains.keys()) {
            f.portChains[tableOfChain(name)].delete(name);
            touched[i].add(name);
          }
        }
        const next = new Map<string, PortContribution>();
        for (const sp of ports) {
          const c = portRules(sp, f.cfg, input.nodePortIPs);
          next.set(sp.info.key, c);
          for (const [name, rules] of c.chains) {
            f.portChains[tableOfChain(name)].set(name, desiredOf(rules));
            touched[i].add(name);
          }
        }
        if (next.size) f.contributions.set(svc, next);
        else f.contributions.delete(svc);
      }
    });
    let rulesWritten = 0;
    let chainsDeleted = 0;
    const texts: string[] = [];
    let structural = false;
    try {
      for (let i = 0; i < this.fams.length; i++) {
        const f = this.fams[i];
        const want = this.compose(f, input.nodePortIPs);
        const base = full ? await this.readApplied(f.cfg.family) : f.applied!;
        const out: string[] = [];
        for (const table of TABLES) {
          const w = want[table];
          const have = base[table];
          const names = full ? new Set([...w.keys(), ...have.keys()]) : new Set([...touched[i], ...(table === 'nat' ? NAT_SHARED : FILTER_SHARED), IPT_CHAINS.markMasq, IPT_CHAINS.postrouting]);
          const write: string[] = [];
          const del: string[] = [];
          for (const name of [...names].sort()) {
            const d = w.get(name);
            const h = have.get(name);
            if (d && h === markerOf(d.marker)) continue;
            if (d) write.push(name);
            else if (have.has(name)) del.push(name);
          }
          if (!write.length && !del.length) continue;
          out.push(`*${table}`);
          for (const name of [...write, ...del]) out.push(`:${name} - [0:0]`);
          for (const name of write) {
            const d = w.get(name)!;
            out.push(`-A ${name} ${d.marker}`);
            for (const r of d.rules) out.push(`-A ${name} ${r}`);
            rulesWritten += d.rules.length + 1;
          }
          for (const name of del) out.push(`-X ${name}`);
          chainsDeleted += del.length;
          out.push('COMMIT');
          structural = true;
        }
        if (out.length) {
          const text = out.join('\n') + '\n';
          await ipt.restore(f.cfg.family, text);
          texts.push(text);
        }
        f.applied = { nat: new Map(), filter: new Map() };
        for (const table of TABLES) for (const [name, d] of want[table]) f.applied[table].set(name, markerOf(d.marker)!);
        if (full) await this.ensureJumps(f.cfg);
      }
    } catch (err) {
      for (const f of this.fams) f.applied = null;
      throw err;
    }
    return { full, transaction: { text: texts.join(''), structural, elementAdds: rulesWritten, elementDeletes: chainsDeleted } };
  }

  /** Every chain the family should have, per table. */
  private compose(f: FamilyState, nodePortIPs: readonly string[]): Record<IptTable, Map<string, Desired>> {
    const base = baseChains(f.cfg);
    const nat = new Map<string, Desired>();
    const filter = new Map<string, Desired>();
    for (const [n, r] of base.nat) nat.set(n, desiredOf(r));
    for (const [n, r] of base.filter) filter.set(n, desiredOf(r));
    const shared: Record<string, string[]> = {
      [`nat/${IPT_CHAINS.services}`]: [],
      [`nat/${IPT_CHAINS.nodePorts}`]: [],
      [`filter/${IPT_CHAINS.services}`]: [],
      [`filter/${IPT_CHAINS.externalServices}`]: [],
    };
    for (const svc of [...f.contributions.keys()].sort()) {
      for (const c of f.contributions.get(svc)!.values()) {
        for (const [k, lines] of c.shared) for (const l of lines) shared[k].push(l);
      }
    }
    shared[`nat/${IPT_CHAINS.services}`].push(...nodePortJumps(f.cfg, nodePortIPs));
    for (const [k, lines] of Object.entries(shared)) {
      const [table, chain] = k.split('/') as [IptTable, string];
      (table === 'nat' ? nat : filter).set(chain, desiredOf(lines));
    }
    for (const [n, d] of f.portChains.nat) nat.set(n, d);
    for (const [n, d] of f.portChains.filter) filter.set(n, d);
    return { nat, filter };
  }

  private async readApplied(family: IPFamily): Promise<Record<IptTable, Map<string, string>>> {
    const out: Record<IptTable, Map<string, string>> = { nat: new Map(), filter: new Map() };
    for (const table of TABLES) {
      const { chains } = parseSave(await this.opts.iptables.save(family, table));
      for (const [name, marker] of chains) out[table].set(name, marker ?? '');
    }
    return out;
  }

  private async ensureJumps(cfg: IptConfig): Promise<void> {
    for (const j of baseChains(cfg).jumps) {
      if ((await this.opts.iptables.exec(cfg.family, j.table, ['-C', j.chain, ...j.args])) === 0) continue;
      const code = await this.opts.iptables.exec(cfg.family, j.table, ['-I', j.chain, ...j.args]);
      if (code !== 0) this.opts.logger.warn({ table: j.table, chain: j.chain }, 'could not insert the jump into Skiff’s chains');
    }
  }

  async cleanup(): Promise<void> {
    for (const f of this.fams) {
      await cleanupIptablesFamily(this.opts.iptables, f.cfg.family);
      f.applied = null;
    }
  }

  async cleanupOtherMode(): Promise<void> {
    const nft = this.opts.nft;
    if (!nft) return;
    const table = this.opts.nftTable ?? 'skiff';
    for (const fam of ['ip', 'ip6'] as const) {
      await deleteNftTable(nft, fam, table).catch((err: unknown) => this.opts.logger.debug({ err }, `removing nftables table ${fam} ${table} failed`));
    }
  }
}

/**
 * Removes what Skiff's iptables mode writes ({@link cleanupIptablesFamily}) in both families
 * of every runner, going on past failures; `onError` hears each one.
 */
export async function cleanupIptables(
  runners: readonly IptablesExecutor[],
  onError: (err: unknown, ipt: IptablesExecutor, family: IPFamily) => void,
): Promise<void> {
  for (const ipt of runners) {
    for (const family of ['IPv4', 'IPv6'] as const) {
      try {
        await cleanupIptablesFamily(ipt, family);
      } catch (err) {
        onError(err, ipt, family);
      }
    }
  }
}

/**
 * Removes Skiff's jump rules from the built-in chains and every `SKIFF-` chain of one family
 * (both tables), touching nothing else. Idempotent.
 */
export async function cleanupIptablesFamily(ipt: IptablesExecutor, family: IPFamily): Promise<void> {
  const saved = new Map<IptTable, string[]>();
  for (const table of TABLES) saved.set(table, [...parseSave(await ipt.save(family, table)).chains.keys()]);
  // No chain of ours: no jump of ours either (a jump needs its target), and nothing to do.
  // Not even a `-C`, which would make iptables-nft create empty tables.
  if (![...saved.values()].some((c) => c.length)) return;
  for (const j of BASE_JUMPS) {
    for (let n = 0; n < 10 && (await ipt.exec(family, j.table, ['-C', j.chain, ...j.args])) === 0; n++) {
      await ipt.exec(family, j.table, ['-D', j.chain, ...j.args]);
    }
  }
  for (const table of TABLES) {
    const names = saved.get(table)!;
    if (!names.length) continue;
    const text = [`*${table}`, ...names.map((n) => `:${n} - [0:0]`), ...names.map((n) => `-X ${n}`), 'COMMIT', ''].join('\n');
    await ipt.restore(family, text);
  }
}
