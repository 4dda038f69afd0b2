/**
 * Running nft. Like knftables, Skiff drives the `nft` CLI rather than netlink: a whole
 * transaction goes to one `nft -f -` (atomic: all of it or none of it), and state is read
 * back with `nft -j list table …`.
 */
import { spawn } from 'node:child_process';
import { UnavailableError } from '../../../lib/errors.js';
import { NftError, errnoFromMessage } from '../errors.js';
import { setElementsFromJson, structureFromJson, tableStateFromJson } from './json.js';
import type { Family, StructureListing, TableState } from './ruleset.js';

/** Options of {@link NftExecutor.apply}. */
export interface ApplyOptions {
  /** Check only (`nft -c`): validate against the kernel without changing anything. */
  check?: boolean;
  signal?: AbortSignal;
}

/** The one seam between the proxier and nftables; {@link FakeNft} is the honest test double. */
export interface NftExecutor {
  /**
   * Applies an nft script atomically. Throws an {@link NftError} (nothing applied) when nft
   * refuses any statement.
   */
  apply(script: string, opts?: ApplyOptions): Promise<void>;
  /** Reads one table back; null when the table does not exist. */
  listTable(family: Family, table: string, opts?: { signal?: AbortSignal }): Promise<TableState | null>;
  /**
   * Reads a table's chains and set and map declarations with their handles, without rules or
   * elements (cheap at any size); null when the table does not exist.
   */
  listStructure(family: Family, table: string, opts?: { signal?: AbortSignal }): Promise<StructureListing | null>;
  /** Reads the elements of one set or map; null when it does not exist. */
  listSet(family: Family, table: string, kind: 'set' | 'map', name: string, opts?: { signal?: AbortSignal }): Promise<Map<string, string> | null>;
}

/** Options of {@link SpawnNftExecutor}. */
export interface SpawnNftOptions {
  /**
   * The argv prefix that runs nft; defaults to `['nft']`. Tests use
   * `['ip', 'netns', 'exec', ns, 'nft']` to act inside a network namespace.
   */
  command?: string[];
  /** Kill nft after this long (ms); defaults to 60 s. */
  timeoutMs?: number;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real executor: spawns `nft -f -` and `nft -j list table …`. */
export class SpawnNftExecutor implements NftExecutor {
  private readonly command: string[];
  private readonly timeoutMs: number;

  constructor(opts: SpawnNftOptions = {}) {
    this.command = opts.command ?? ['nft'];
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async apply(script: string, opts: ApplyOptions = {}): Promise<void> {
    const args = opts.check ? ['-c', '-f', '-'] : ['-f', '-'];
    const r = await this.run(args, script, opts.signal);
    if (r.code === 0) return;
    throw scriptError(script, r);
  }

  async listTable(family: Family, table: string, opts: { signal?: AbortSignal } = {}): Promise<TableState | null> {
    const r = await this.run(['-j', 'list', 'table', family, table], undefined, opts.signal);
    if (r.code !== 0) {
      if (errnoFromMessage(r.stderr) === 'ENOENT') return null;
      throw new NftError(`nft list table ${family} ${table} failed: ${firstErrorLine(r.stderr)}`, {
        stderr: r.stderr,
        exitCode: r.code,
        errno: errnoFromMessage(r.stderr),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch (err) {
      throw new NftError(`nft list table ${family} ${table} printed invalid JSON`, { cause: err, stderr: r.stderr, exitCode: r.code });
    }
    return tableStateFromJson(json, family, table);
  }

  async listStructure(family: Family, table: string, opts: { signal?: AbortSignal } = {}): Promise<StructureListing | null> {
    // Measured at 30k Services: these three take milliseconds, while `nft list tables` (for
    // the table's handle) took 9 s and `list sets` without -t 7 s: nft then loads every element
    // from the kernel. A re-created table shows anyway as re-created chains.
    const cmds = [['list', 'chains', family], ['-t', 'list', 'sets', family], ['-t', 'list', 'maps', family]];
    const outs = await Promise.all(
      cmds.map(async (c) => {
        const r = await this.run(['-j', ...c], undefined, opts.signal);
        if (r.code !== 0) {
          throw new NftError(`nft ${c.join(' ')} failed: ${firstErrorLine(r.stderr)}`, { stderr: r.stderr, exitCode: r.code, errno: errnoFromMessage(r.stderr) });
        }
        return parseJson(r.stdout, `nft ${c.join(' ')}`);
      }),
    );
    return structureFromJson(outs, family, table);
  }

  async listSet(family: Family, table: string, kind: 'set' | 'map', name: string, opts: { signal?: AbortSignal } = {}): Promise<Map<string, string> | null> {
    const r = await this.run(['-j', 'list', kind, family, table, name], undefined, opts.signal);
    if (r.code !== 0) {
      if (errnoFromMessage(r.stderr) === 'ENOENT') return null;
      throw new NftError(`nft list ${kind} ${family} ${table} ${name} failed: ${firstErrorLine(r.stderr)}`, { stderr: r.stderr, exitCode: r.code, errno: errnoFromMessage(r.stderr) });
    }
    return setElementsFromJson(parseJson(r.stdout, `nft list ${kind}`), family, table, name);
  }

  private run(args: string[], stdin: string | undefined, signal?: AbortSignal): Promise<RunResult> {
    const [bin, ...pre] = this.command;
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn(bin, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'], signal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      timer.unref();
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT') reject(new UnavailableError(`${bin} not found`, { cause: e }));
        else reject(new NftError(`running ${bin} failed: ${e.message}`, { cause: e }));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.on('error', () => undefined); // nft may exit before reading everything
      child.stdin.end(stdin ?? '');
    });
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new NftError(`${what} printed invalid JSON`, { cause: err });
  }
}

function firstErrorLine(stderr: string): string {
  return stderr.split('\n').find((l) => /Error:/.test(l))?.trim() ?? stderr.trim().split('\n')[0] ?? '';
}

/** Builds the {@link NftError} of a failed script run, locating the failing line. */
export function scriptError(script: string, r: { code: number | null; stderr: string }): NftError {
  const m = /^(?:\/dev\/stdin|-):(\d+):/m.exec(r.stderr);
  const line = m ? Number(m[1]) : undefined;
  const statement = line !== undefined ? script.split('\n')[line - 1] : undefined;
  const reason = firstErrorLine(r.stderr).replace(/^\S*:\d+:\d+(-\d+)?: /, '');
  const where = line !== undefined ? ` at line ${line}` : '';
  return new NftError(`nft rejected the transaction${where}: ${reason}`, {
    stderr: r.stderr,
    exitCode: r.code,
    line,
    statement,
    errno: errnoFromMessage(r.stderr),
  });
}

/**
 * Deletes the table `family name`, and succeeds when it is already gone: nft 1.0.6 has no
 * `destroy`, so the transaction adds the table first.
 */
export async function deleteNftTable(nft: NftExecutor, family: Family, table: string): Promise<void> {
  await nft.apply(`add table ${family} ${table}\ndelete table ${family} ${table}\n`);
}
