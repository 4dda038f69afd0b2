/**
 * The peer of bench/proxy-sync: the real kube-proxy 1.20.2 (built by
 * test/reference/build-kubernetes.sh) in iptables mode, in the benchmark's network namespace,
 * against the same companion apiserver. kube-proxy 1.20 reads EndpointSlices only as
 * discovery.k8s.io/v1beta1, which the companion does not serve, so it runs with
 * `EndpointSliceProxying=false` and reads the same endpoints from core/v1 Endpoints.
 *
 * Its sync time comes from its own metric (`kubeproxy_sync_proxy_rules_duration_seconds`,
 * the sum when the count first becomes 1), and "rules in" is when `iptables-save` shows a
 * KUBE-SVC chain for every Service.
 *
 * The iptables backend is given: `legacy` is what kind's node image and kube-proxy's own image
 * (iptables-wrapper) pick in an empty namespace (`selectIptablesBackend`), `nft` is what the
 * plain `iptables` command is on this Debian host. A directory of `iptables*` symlinks first in
 * kube-proxy's PATH makes it use that backend.
 * kube-proxy runs in its own process group, so that stopping it also stops an
 * `iptables-restore` it started (an orphaned restore would hold the namespace's nf_tables
 * commit lock for minutes).
 */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, writeFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IptablesKind } from '../agent/proxy/index.js';
import { peakRssMiB } from './stats.js';

const run = promisify(execFile);

/** What one kube-proxy run measured. */
export interface PeerResult {
  n: number;
  /** Duration of its first full sync (its own metric), ms. */
  syncMs: number;
  /** Process start → all KUBE-SVC chains in the kernel, ms (NaN: not within the timeout). */
  rulesMs: number;
  /** True when the rules did not appear within the timeout (the figures are lower bounds). */
  timedOut: boolean;
  peakRssMiB: number;
  /** `-A` lines in iptables-save after the sync. */
  iptablesLines: number;
  /** Which iptables backend kube-proxy used. */
  iptables: string;
}

/** Options of {@link runKubeProxy}. */
export interface PeerOptions {
  binary: string;
  kubeconfig: string;
  /** Services expected (KUBE-SVC chains to wait for). */
  services: number;
  dir: string;
  /** The iptables backend kube-proxy uses. */
  kind: IptablesKind;
  timeoutMs?: number;
}

async function metric(name: string): Promise<number | undefined> {
  try {
    const r = await fetch('http://127.0.0.1:10249/metrics', { signal: AbortSignal.timeout(2000) });
    const text = await r.text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function svcChains(kind: IptablesKind): Promise<{ svc: number; lines: number }> {
  const { stdout } = await run(`iptables-${kind}-save`, ['-t', 'nat'], { maxBuffer: 1 << 30 });
  let svc = 0;
  let lines = 0;
  for (const l of stdout.split('\n')) {
    if (l.startsWith(':KUBE-SVC-')) svc++;
    else if (l.startsWith('-A')) lines++;
  }
  const f = await run(`iptables-${kind}-save`, ['-t', 'filter'], { maxBuffer: 1 << 30 });
  for (const l of f.stdout.split('\n')) if (l.startsWith('-A')) lines++;
  return { svc, lines };
}

/** Runs kube-proxy until its rules are in, measures, stops it and cleans up after it. */
export async function runKubeProxy(opts: PeerOptions): Promise<PeerResult> {
  const cfg = join(opts.dir, 'kube-proxy.yaml');
  writeFileSync(
    cfg,
    [
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
      'kind: KubeProxyConfiguration',
      'mode: iptables',
      'clientConnection:',
      `  kubeconfig: ${opts.kubeconfig}`,
      '  contentType: application/json',
      '  qps: 50',
      '  burst: 100',
      'clusterCIDR: 10.244.0.0/16',
      'hostnameOverride: bench-node',
      'bindAddress: 127.0.0.1',
      'healthzBindAddress: 127.0.0.1:10256',
      'metricsBindAddress: 127.0.0.1:10249',
      'featureGates:',
      '  EndpointSliceProxying: false',
      'iptables:',
      '  minSyncPeriod: 1s',
      '  syncPeriod: 30s',
      'conntrack:',
      '  maxPerCore: 0',
      '  tcpEstablishedTimeout: 0s',
      '  tcpCloseWaitTimeout: 0s',
      '',
    ].join('\n'),
  );
  const kind = opts.kind;
  const bin = join(opts.dir, `iptables-${kind}-bin`);
  mkdirSync(bin, { recursive: true });
  for (const fam of ['iptables', 'ip6tables']) {
    for (const suffix of ['', '-save', '-restore']) {
      const link = join(bin, `${fam}${suffix}`);
      if (!existsSync(link)) symlinkSync(`/usr/sbin/${fam}-${kind}${suffix}`, link);
    }
  }
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
  const log = openSync(join(opts.dir, `kube-proxy-${opts.services}.log`), 'w');
  const t0 = Date.now();
  const child = spawn(opts.binary, [`--config=${cfg}`, '--v=1'], { stdio: ['ignore', log, log], env, detached: true });
  closeSync(log);
  const iptables = `iptables-${kind}`;
  const deadline = t0 + (opts.timeoutMs ?? 300_000);
  let syncMs = NaN;
  let rulesMs = NaN;
  let lines = 0;
  let timedOut = false;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kube-proxy exited with ${child.exitCode}; see ${opts.dir}/kube-proxy-${opts.services}.log`);
      if (Date.now() > deadline) {
        timedOut = true;
        rulesMs = Date.now() - t0;
        break;
      }
      const count = await metric('kubeproxy_sync_proxy_rules_duration_seconds_count');
      if (count !== undefined && count >= 1) {
        const sum = await metric('kubeproxy_sync_proxy_rules_duration_seconds_sum');
        if (Number.isNaN(syncMs) && sum !== undefined) syncMs = (count === 1 ? sum : sum / count) * 1000;
        const seen = await svcChains(kind);
        if (seen.svc >= opts.services) {
          rulesMs = Date.now() - t0;
          lines = seen.lines;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const rss = await peakRssMiB(child.pid!);
    return { n: opts.services, syncMs, rulesMs, timedOut, peakRssMiB: rss, iptablesLines: lines, iptables };
  } finally {
    // The whole group: kube-proxy and any iptables-restore it is running.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    for (let i = 0; i < 100 && (await groupAlive(child.pid!)); i++) await new Promise((r) => setTimeout(r, 100));
    // So the next run starts empty: kube-proxy's own cleanup for legacy tables; for nf_tables
    // (where iptables-nft needs minutes for a large ruleset) the benchmark's own namespace is
    // emptied directly — it holds nothing but what the benchmark put there.
    if (kind === 'legacy') await run(opts.binary, ['--cleanup', `--config=${cfg}`], { timeout: 300_000, env }).catch(() => undefined);
    else await run('nft', ['flush', 'ruleset']).catch(() => undefined);
  }
}

/** True while any process of the group `pgid` is alive. */
async function groupAlive(pgid: number): Promise<boolean> {
  const { stdout } = await run('pgrep', ['-g', String(pgid)]).catch(() => ({ stdout: '' }));
  return stdout.trim().length > 0;
}
