/**
 * FakeIptables: an in-memory iptables for unit tests, applying `iptables-restore --noflush`
 * input with iptables' semantics: per `*table` section, all or nothing at `COMMIT`;
 * `:CHAIN` creates or flushes a chain; `-A` needs the chain and its `-j` target (a built-in
 * target or an existing chain); `-X` refuses built-in, missing, non-empty or still-referenced
 * chains. `dump()` prints every table sorted, for golden tests.
 */
import type { IPFamily } from '../ip.js';
import { IptablesError, type IptablesExecutor, type IptablesKind } from './executor.js';
import type { IptTable } from './rules.js';

const BUILTIN: Record<IptTable, string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'DNAT', 'SNAT', 'MARK', 'MASQUERADE', 'LOG']);

type Tables = Map<IptTable, Map<string, string[]>>;

function emptyTables(): Tables {
  const t: Tables = new Map();
  for (const name of ['nat', 'filter'] as const) t.set(name, new Map(BUILTIN[name].map((c) => [c, []])));
  return t;
}

function targetOf(rule: string): string | undefined {
  return /(?:^|\s)-j (\S+)/.exec(rule)?.[1];
}

/** In-memory iptables. Implements {@link IptablesExecutor}. */
export class FakeIptables implements IptablesExecutor {
  readonly kind: IptablesKind = 'nft';
  private readonly families = new Map<IPFamily, Tables>([
    ['IPv4', emptyTables()],
    ['IPv6', emptyTables()],
  ]);
  private failures: IptablesError[] = [];
  /** Every restore input applied successfully, oldest first. */
  readonly restores: string[] = [];
  /** Number of `save` calls. */
  saveCalls = 0;

  /** Makes the next restore fail before applying anything. */
  failNextRestore(err?: IptablesError): void {
    this.failures.push(err ?? new IptablesError('injected failure'));
  }

  async restore(family: IPFamily, input: string): Promise<void> {
    const injected = this.failures.shift();
    if (injected) throw injected;
    const tables = this.families.get(family)!;
    const lines = input.split('\n');
    let table: IptTable | undefined;
    let work: Map<string, string[]> | undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      const fail = (msg: string): never => {
        throw new IptablesError(`iptables-restore: line ${i + 1} failed: ${msg}`, { line: i + 1, stderr: `iptables-restore: line ${i + 1} failed\n` });
      };
      if (!line || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        table = line.slice(1) as IptTable;
        if (!tables.has(table)) fail(`unknown table ${table}`);
        work = new Map([...tables.get(table)!].map(([k, v]) => [k, [...v]]));
        continue;
      }
      if (!table || !work) fail('no table');
      const w = work!;
      if (line === 'COMMIT') {
        tables.set(table!, w);
        table = undefined;
        work = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        const name = line.slice(1).split(' ')[0];
        if (!BUILTIN[table!].includes(name)) w.set(name, []);
        continue;
      }
      const m = /^(-[AIDXF]) (\S+)(?: (.*))?$/.exec(line);
      if (!m) fail(`cannot parse ${line}`);
      const [, op, chain, rest = ''] = m!;
      const rules = w.get(chain);
      if (!rules) fail(`chain ${chain} does not exist`);
      if (op === '-A' || op === '-I') {
        const target = targetOf(rest);
        if (target && !TARGETS.has(target) && !w.has(target)) fail(`jump target ${target} does not exist`);
        if (op === '-A') rules!.push(rest);
        else rules!.unshift(rest);
      } else if (op === '-D') {
        const k = rules!.indexOf(rest);
        if (k < 0) fail('rule does not exist');
        rules!.splice(k, 1);
      } else if (op === '-F') {
        w.set(chain, []);
      } else {
        if (BUILTIN[table!].includes(chain)) fail(`cannot delete built-in chain ${chain}`);
        if (rules!.length) fail(`chain ${chain} is not empty`);
        for (const [other, rs] of w) if (other !== chain && rs.some((r) => targetOf(r) === chain)) fail(`chain ${chain} is still referenced`);
        w.delete(chain);
      }
    }
    if (table) throw new IptablesError('iptables-restore: missing COMMIT');
    this.restores.push(input);
  }

  async save(family: IPFamily, table: IptTable): Promise<string> {
    this.saveCalls++;
    return this.dumpTable(family, table);
  }

  async exec(family: IPFamily, table: IptTable, args: string[]): Promise<number> {
    const chains = this.families.get(family)!.get(table)!;
    const [op, chain, ...rest] = args;
    const rule = rest.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
    const rules = chains.get(chain);
    if (!rules) return 1;
    switch (op) {
      case '-C':
        return rules.includes(rule) ? 0 : 1;
      case '-I': {
        const target = targetOf(rule);
        if (target && !TARGETS.has(target) && !chains.has(target)) return 1;
        rules.unshift(rule);
        return 0;
      }
      case '-D': {
        const k = rules.indexOf(rule);
        if (k < 0) return 1;
        rules.splice(k, 1);
        return 0;
      }
      default:
        return 2;
    }
  }

  /** Rules of one chain (read-only), or undefined. */
  chain(family: IPFamily, table: IptTable, name: string): readonly string[] | undefined {
    return this.families.get(family)!.get(table)!.get(name);
  }

  /** Chain names of a table. */
  chainNames(family: IPFamily, table: IptTable): string[] {
    return [...this.families.get(family)!.get(table)!.keys()].sort();
  }

  /** One table in `iptables-save` form (built-ins first, then chains sorted). */
  dumpTable(family: IPFamily, table: IptTable): string {
    const chains = this.families.get(family)!.get(table)!;
    const names = [...BUILTIN[table], ...[...chains.keys()].filter((c) => !BUILTIN[table].includes(c)).sort()];
    const out = [`*${table}`];
    for (const n of names) out.push(BUILTIN[table].includes(n) ? `:${n} ACCEPT [0:0]` : `:${n} - [0:0]`);
    for (const n of names) for (const r of chains.get(n)!) out.push(`-A ${n} ${r}`);
    out.push('COMMIT');
    return out.join('\n') + '\n';
  }

  /** Every table of a family, for golden tests. */
  dump(family: IPFamily = 'IPv4'): string {
    return (['filter', 'nat'] as const).map((t) => this.dumpTable(family, t)).join('');
  }
}
