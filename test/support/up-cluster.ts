/**
 * A real one-node Skiff cluster for end-to-end tests: `skiff up` started the way a user
 * starts it (the built CLI), inside a throwaway network namespace whose only way out is a
 * dead-end uplink, with real kubectl pointed at it. `down()` runs `skiff down`, checks what
 * is left, and deletes the namespace and state dir, also when the test failed.
 */
import { type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UpRecord } from '../../cluster/layout.js';
import { createNetns, type TestNetns } from './netns.js';

/** The repository root: the nearest directory above this module with a package.json (works from source and from dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const REPO = repoRoot();
/** The built CLI (test/run builds it before the tiers run). */
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

/** The record `skiff up` writes. */
export type UpRecordView = UpRecord;

/** A running cluster. */
export interface UpCluster {
  ns: TestNetns;
  stateDir: string;
  nodeName: string;
  /** Runs kubectl against the cluster; resolves stdout, rejects with stderr on failure. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** kubectl … -o json, parsed. */
  kubectlJson<T = unknown>(args: string[]): Promise<T>;
  /** Runs a command in the node's network namespace. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<string>;
  record(): UpRecordView;
  /** `skiff down`, then leftovers check; returns what was left behind (empty = clean). */
  down(): Promise<string[]>;
  /** Reads a component log (`agent.log`, `control-plane.log`). */
  log(name: string): string;
}

/** Why e2e tests can't run here, or undefined. */
export function upClusterSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(CLI)) return `not built: ${CLI} missing (run test/run or npx tsc)`;
  for (const bin of ['/usr/bin/containerd', '/usr/sbin/runc', '/usr/sbin/nft', '/usr/bin/kubectl', '/usr/bin/curl']) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr/sbin/', '/usr/bin/').replace('/usr/bin/', '/usr/sbin/'))) return `missing ${bin}`;
  }
  return undefined;
}

/** Starts `skiff up` in a new network namespace and waits until the node is Ready. */
export async function startUpCluster(opts: { nodeName?: string; uplinkIP?: string; readyTimeoutMs?: number; extraArgs?: string[] } = {}): Promise<UpCluster> {
  const nodeName = opts.nodeName ?? 'skiff-e2e';
  const ns = await createNetns({ prefix: 'skiff-e2e', uplinkIP: opts.uplinkIP ?? '172.30.255.2' });
  // Short path: containerd's socket must fit in a unix socket address.
  const stateDir = mkdtempSync('/tmp/sk-');
  let child: ChildProcess | undefined;
  let output = '';
  const recordFile = join(stateDir, 'up.json');
  const record = (): UpRecordView => JSON.parse(readFileSync(recordFile, 'utf8')) as UpRecordView;
  const cleanup = async (): Promise<string[]> => {
    const left: string[] = [];
    try {
      const out = await ns.exec('node', [CLI, 'down', `--state-dir=${stateDir}`], { timeoutMs: 180_000 });
      if (!/Skiff is down/.test(out)) left.push(`skiff down said: ${out.trim()}`);
    } catch (err) {
      left.push(`skiff down failed: ${(err as Error).message}`);
    }
    if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
    left.push(...(await leftovers(ns, stateDir)));
    await ns.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    return left;
  };
  try {
    child = ns.spawn('node', ['--enable-source-maps', CLI, 'up', `--state-dir=${stateDir}`, `--node-name=${nodeName}`, ...(opts.extraArgs ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', () => undefined);
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 240_000);
    for (;;) {
      if (existsSync(recordFile)) {
        try {
          if (record().ready) break;
        } catch {
          /* being written */
        }
      }
      if (child.exitCode !== null) throw new Error(`skiff up exited with ${child.exitCode}: ${output}\n--- agent.log:\n${tail(join(stateDir, 'logs', 'agent.log'))}`);
      if (Date.now() > deadline) throw new Error(`skiff up not ready in time: ${output}\n--- agent.log:\n${tail(join(stateDir, 'logs', 'agent.log'))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const admin = join(stateDir, 'control-plane', 'admin.conf');
  const kubectl = (args: string[], o?: { input?: string; timeoutMs?: number }): Promise<string> =>
    ns.exec('kubectl', ['--kubeconfig', admin, ...args], { timeoutMs: o?.timeoutMs ?? 120_000, input: o?.input });
  return {
    ns,
    stateDir,
    nodeName,
    kubectl,
    kubectlJson: async <T>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T,
    exec: (cmd, args, o) => ns.exec(cmd, args, o),
    record,
    down: cleanup,
    log: (name) => {
      try {
        return readFileSync(join(stateDir, 'logs', name), 'utf8');
      } catch {
        return '';
      }
    },
  };
}

function tail(file: string, n = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** What a torn-down node must not have: mounts under its state dir, shims, a bridge, nft tables. */
async function leftovers(ns: TestNetns, stateDir: string): Promise<string[]> {
  const left: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(` ${stateDir}/`));
  if (mounts.length) left.push(`mounts: ${mounts.map((m) => m.split(' ')[4]).join(', ')}`);
  try {
    const links = await ns.exec('ip', ['-o', 'link', 'show']);
    if (/\bcni0\b/.test(links)) left.push('bridge cni0');
    if (/veth/.test(links)) left.push('veth devices');
  } catch {
    /* namespace gone */
  }
  try {
    const tables = (await ns.exec('nft', ['list', 'tables'])).trim();
    if (tables) left.push(`nft tables: ${tables.replace(/\n/g, ', ')}`);
  } catch {
    /* namespace gone */
  }
  const { execFileSync } = await import('node:child_process');
  try {
    const shims = execFileSync('pgrep', ['-f', `containerd-shim.*${stateDir}`], { encoding: 'utf8' }).trim();
    if (shims) left.push(`shim processes: ${shims.replace(/\n/g, ' ')}`);
  } catch {
    /* pgrep: none */
  }
  return left;
}
