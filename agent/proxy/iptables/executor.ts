/**
 * Running iptables: `iptables-restore --noflush` for writes (one call per family, atomic per
 * table), `iptables-save -t <table>` for reads, and `iptables -C/-I/-D` for the few jump rules
 * in built-in chains. Both backends exist on this kind of host (`iptables-legacy`,
 * `iptables-nft`); {@link selectIptablesBackend} picks one the way kind's node image does.
 */
import { spawn } from 'node:child_process';
import { hasCode, SkiffError, UnavailableError } from '../../../lib/errors.js';
import type { IPFamily } from '../ip.js';
import type { IptTable } from './rules.js';

/** Which iptables backend: the legacy kernel tables, or nf_tables through iptables-nft. */
export type IptablesKind = 'legacy' | 'nft';

/** The error code of {@link IptablesError}. */
export const IPTABLES_ERROR = 'SKIFF_IPTABLES_ERROR';

/** An iptables command or restore failed. */
export class IptablesError extends SkiffError {
  /** stderr, verbatim. */
  readonly stderr: string;
  /** The failing line of a restore input, when iptables-restore said so. */
  readonly line?: number;
  constructor(message: string, details: { cause?: unknown; stderr?: string; line?: number } = {}) {
    super(IPTABLES_ERROR, message, { cause: details.cause });
    this.stderr = details.stderr ?? '';
    this.line = details.line;
  }
}

/** True for an {@link IptablesError}. */
export function isIptablesError(err: unknown): err is IptablesError {
  return err instanceof IptablesError || hasCode(err, IPTABLES_ERROR);
}

/** The seam between the iptables backend and the binaries; `FakeIptables` is the test double. */
export interface IptablesExecutor {
  readonly kind: IptablesKind;
  /** `iptables-restore --noflush` of `input`. Throws {@link IptablesError}. */
  restore(family: IPFamily, input: string): Promise<void>;
  /** `iptables-save -t <table>`. */
  save(family: IPFamily, table: IptTable): Promise<string>;
  /** `iptables -w -t <table> <args…>`; resolves with the exit code (1 for a failed `-C`). */
  exec(family: IPFamily, table: IptTable, args: string[]): Promise<number>;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCmd(argv: string[], stdin: string | undefined, timeoutMs: number): Promise<RunResult> {
  const [bin, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new UnavailableError(`${bin} not found (Debian package iptables)`, { cause: e }) : new IptablesError(`running ${bin} failed`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

/** Options of {@link SpawnIptables}. */
export interface SpawnIptablesOptions {
  kind: IptablesKind;
  /** argv prefix, e.g. `['ip', 'netns', 'exec', ns]`; default none. */
  prefix?: string[];
  timeoutMs?: number;
}

/** Runs the `iptables-<kind>` binaries. */
export class SpawnIptables implements IptablesExecutor {
  readonly kind: IptablesKind;
  private readonly prefix: string[];
  private readonly timeoutMs: number;

  constructor(opts: SpawnIptablesOptions) {
    this.kind = opts.kind;
    this.prefix = opts.prefix ?? [];
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  private bin(family: IPFamily, suffix: '' | '-save' | '-restore'): string {
    return `${family === 'IPv6' ? 'ip6tables' : 'iptables'}-${this.kind}${suffix}`;
  }

  async restore(family: IPFamily, input: string): Promise<void> {
    const r = await runCmd([...this.prefix, this.bin(family, '-restore'), '--noflush', '-w', '5'], input, this.timeoutMs);
    if (r.code === 0) return;
    const m = /line:? (\d+)/i.exec(r.stderr);
    throw new IptablesError(`${this.bin(family, '-restore')} failed: ${r.stderr.trim().split('\n')[0] ?? ''}`, { stderr: r.stderr, ...(m ? { line: Number(m[1]) } : {}) });
  }

  async save(family: IPFamily, table: IptTable): Promise<string> {
    const r = await runCmd([...this.prefix, this.bin(family, '-save'), '-t', table], undefined, this.timeoutMs);
    if (r.code !== 0) throw new IptablesError(`${this.bin(family, '-save')} -t ${table} failed: ${r.stderr.trim()}`, { stderr: r.stderr });
    return r.stdout;
  }

  async exec(family: IPFamily, table: IptTable, args: string[]): Promise<number> {
    const r = await runCmd([...this.prefix, this.bin(family, ''), '-w', '5', '-t', table, ...args], undefined, this.timeoutMs);
    return r.code ?? 1;
  }
}

/** Counts rule lines (`-A …`) in save outputs. */
function ruleLines(text: string): number {
  return text.split('\n').filter((l) => l.startsWith('-')).length;
}

/**
 * Picks the backend as kind's node entrypoint (`select_iptables`) does: legacy when the legacy
 * tables already hold 10 or more rules, or at least as many as the nft ones; nft otherwise.
 * Missing binaries count as no rules.
 */
export async function selectIptablesBackend(prefix: string[] = []): Promise<IptablesKind> {
  const count = async (kind: IptablesKind): Promise<number> => {
    let n = 0;
    for (const fam of ['iptables', 'ip6tables']) {
      try {
        const r = await runCmd([...prefix, `${fam}-${kind}-save`], undefined, 5000);
        if (r.code === 0) n += ruleLines(r.stdout);
      } catch {
        /* binary missing */
      }
    }
    return n;
  };
  const legacy = await count('legacy');
  if (legacy >= 10) return 'legacy';
  const nft = await count('nft');
  return legacy >= nft ? 'legacy' : 'nft';
}

/**
 * An executor that picks its backend ({@link selectIptablesBackend}) on first use, so the
 * proxier can be created synchronously.
 */
export class AutoIptables implements IptablesExecutor {
  private inner: SpawnIptables | undefined;
  private choosing: Promise<SpawnIptables> | undefined;

  constructor(private readonly opts: { prefix?: string[]; onSelected?: (kind: IptablesKind) => void } = {}) {}

  /** The backend in use (`nft` until selected). */
  get kind(): IptablesKind {
    return this.inner?.kind ?? 'nft';
  }

  private get(): Promise<SpawnIptables> {
    this.choosing ??= selectIptablesBackend(this.opts.prefix).then((kind) => {
      this.inner = new SpawnIptables({ kind, ...(this.opts.prefix ? { prefix: this.opts.prefix } : {}) });
      this.opts.onSelected?.(kind);
      return this.inner;
    });
    return this.choosing;
  }

  async restore(family: IPFamily, input: string): Promise<void> {
    return (await this.get()).restore(family, input);
  }

  async save(family: IPFamily, table: IptTable): Promise<string> {
    return (await this.get()).save(family, table);
  }

  async exec(family: IPFamily, table: IptTable, args: string[]): Promise<number> {
    return (await this.get()).exec(family, table, args);
  }
}
