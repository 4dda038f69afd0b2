/**
 * Removes what a one-node cluster leaves on a host once its processes are stopped: pods
 * (through CRI while containerd still runs), containerd's shims and mounts, Skiff's nft
 * table, the CNI bridge, the pod cgroups and any mount under the state directory. Every step
 * is best-effort and idempotent; problems are collected, never thrown, so one failure does
 * not leave the rest behind.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { cleanupContainerdState, mountsUnder } from './containerd/index.js';
import { cleanupProxyRules } from '../agent/proxy/index.js';

const execFileP = promisify(execFile);

/** Runs a command, inside `netns` (a name under /run/netns) when given. */
function runIn(netns: string | undefined, cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return netns ? execFileP('nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args]) : execFileP(cmd, args);
}

/** What to clean. */
export interface TeardownOptions {
  /** containerd's state dir. */
  containerdDir: string;
  /** Any mount below this directory is unmounted (agent volumes). */
  stateDir: string;
  /** Skiff's nft table name (`ip <name>` and `ip6 <name>`). */
  nftTable: string;
  /** The CNI bridge device. */
  bridge: string;
  /** The agent's cgroupRoot (e.g. `/skiff`); its subtree is removed in every hierarchy. */
  cgroupRoot?: string;
  /**
   * nft tables (`family name`) that existed before the cluster started. Tables that appeared
   * since (iptables-nft's `ip nat`, made by the CNI bridge's ipMasq and portmap) are removed
   * when they hold no rules any more; pre-existing ones are never touched. Undefined: leave
   * every table but Skiff's alone.
   */
  tablesBefore?: string[];
  /** Also stop the containerd recorded in its pid file (default true; false when the caller owns it). */
  stopDaemon?: boolean;
  /** The network namespace the node lives in (a name under /run/netns); default the caller's. */
  netns?: string;
  logger: Logger;
}

/** Runs every cleanup step and returns the problems met (empty when all went well). */
export async function teardownNode(opts: TeardownOptions): Promise<string[]> {
  const problems: string[] = [];
  const run = (cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> => runIn(opts.netns, cmd, args);
  const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${name}: ${errorMessage(err)}`);
      opts.logger.warn({ step: name, err: errorMessage(err) }, 'teardown step failed');
    }
  };
  await step('pods and containerd', async () => {
    if (!existsSync(opts.containerdDir)) return;
    const report = await cleanupContainerdState(opts.containerdDir, { logger: opts.logger, stopDaemon: opts.stopDaemon ?? true });
    problems.push(...report.warnings.map((w) => `containerd: ${w}`));
  });
  await step('proxy rules', async () => {
    // Skiff's nft tables (ip and ip6) and, from iptables mode, its SKIFF- chains; nothing else.
    const prefix = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--'] : [];
    problems.push(...(await cleanupProxyRules({ logger: opts.logger, table: opts.nftTable, prefix })).map((p) => `proxy rules: ${p}`));
  });
  if (opts.tablesBefore) {
    const before = new Set(opts.tablesBefore);
    await step('empty tables left by CNI plugins', async () => {
      for (const t of await listTables(opts.netns)) {
        if (before.has(t) || t === `ip ${opts.nftTable}` || t === `ip6 ${opts.nftTable}`) continue;
        const [family, name] = t.split(' ');
        const { stdout } = await run('nft', ['list', 'table', family, name]);
        // Only base-chain declarations, no rules: nothing of anyone's would be lost.
        const hasRules = stdout.split('\n').some((l) => {
          const x = l.trim();
          return x && !/^(table|chain|type|policy|}|\{)/.test(x) && !/^type .* hook /.test(x);
        });
        if (!hasRules) await run('nft', ['delete', 'table', family, name]);
      }
    });
  }
  await step('bridge', async () => {
    if (await linkExists(opts.bridge, opts.netns)) await run('ip', ['link', 'del', opts.bridge]);
  });
  await step('mounts', async () => {
    for (const m of (await mountsUnder(opts.stateDir)).sort((a, b) => b.length - a.length)) {
      await execFileP('umount', ['-l', m]).catch(() => undefined);
    }
  });
  if (opts.cgroupRoot && opts.cgroupRoot !== '/') {
    await step('cgroups', async () => removeCgroupTree(opts.cgroupRoot!));
  }
  return problems;
}

/** Every nft table as `family name` (in `netns` when given). */
export async function listTables(netns?: string): Promise<string[]> {
  const { stdout } = await runIn(netns, 'nft', ['list', 'tables']);
  return stdout.split('\n').map((l) => l.trim().replace(/^table /, '')).filter(Boolean);
}

async function linkExists(name: string, netns?: string): Promise<boolean> {
  try {
    await runIn(netns, 'ip', ['link', 'show', name]);
    return true;
  } catch {
    return false;
  }
}

/** Removes `/sys/fs/cgroup/<hierarchy>/<root>` bottom-up in every mounted hierarchy. */
function removeCgroupTree(root: string): void {
  const base = '/sys/fs/cgroup';
  const hierarchies = existsSync(join(base, 'cgroup.controllers')) ? [''] : readdirSync(base);
  for (const h of hierarchies) {
    const dir = join(base, h, root);
    if (existsSync(dir)) rmTree(dir);
  }
}

function rmTree(dir: string): void {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) rmTree(p);
    } catch {
      /* raced away */
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    /* still has tasks, or gone */
  }
}
