/**
 * The Skiff Service proxy as a process of its own, for bench/proxy-sync: it connects to an
 * apiserver with a kubeconfig, picks the endpoint API through discovery, programs nftables
 * (or iptables) in the network namespace it runs in, and reports on stdout, one JSON object
 * per line:
 *
 *   {"ev":"synced","t":…}                     both informers listed (epoch ms)
 *   {"ev":"apply","t":…,"ms":…,"bytes":…}      an nft transaction was committed
 *   {"ev":"sync","t":…,"ms":…,"full":…,…}      a sync finished
 *
 * The first transaction is also written to `--dump-tx FILE` (the benchmark's floor is a bare
 * `nft -f` of exactly that text). Usage:
 *   node proxy-sync-proxy.js --kubeconfig K [--dump-tx FILE] [--mode nftables|iptables]
 */
import { writeFileSync } from 'node:fs';
import { realClock } from '../lib/clock.js';
import { createLogger } from '../lib/log.js';
import { loadKubeconfig, RestClient } from '../lib/kube/index.js';
import { createProxier, SpawnNftExecutor, startProxySources, type ApplyOptions, type NftExecutor } from '../agent/proxy/index.js';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** Timestamps every committed transaction and keeps the first one. */
class ReportingNft implements NftExecutor {
  private first = true;
  constructor(
    private readonly inner: SpawnNftExecutor,
    private readonly dumpTx: string | undefined,
  ) {}
  async apply(script: string, opts?: ApplyOptions): Promise<void> {
    const t0 = Date.now();
    await this.inner.apply(script, opts);
    emit({ ev: 'apply', t: Date.now(), ms: Date.now() - t0, bytes: script.length });
    if (this.first && this.dumpTx && !opts?.check) writeFileSync(this.dumpTx, script);
    this.first = false;
  }
  listTable: NftExecutor['listTable'] = (...a) => this.inner.listTable(...a);
  listStructure: NftExecutor['listStructure'] = (...a) => this.inner.listStructure(...a);
  listSet: NftExecutor['listSet'] = (...a) => this.inner.listSet(...a);
}

async function main(argv: string[]): Promise<number> {
  const kubeconfig = arg(argv, '--kubeconfig');
  if (!kubeconfig) {
    process.stderr.write('usage: proxy-sync-proxy --kubeconfig FILE [--dump-tx FILE] [--mode nftables|iptables]\n');
    return 2;
  }
  const mode = (arg(argv, '--mode') ?? 'nftables') as 'nftables' | 'iptables';
  const logger = createLogger({ level: process.env.SKIFF_LOG_LEVEL ?? 'warn', base: { component: 'proxy' } });
  const client = new RestClient({ credentials: loadKubeconfig(kubeconfig), qps: 0 });
  const nft = new ReportingNft(new SpawnNftExecutor(), arg(argv, '--dump-tx'));
  const proxier = createProxier({
    logger,
    clock: realClock,
    nft,
    config: { mode, clusterCIDRs: ['10.244.0.0/16'] },
    nodeName: 'bench-node',
    nodeIPs: ['10.0.0.1'],
    ipFamilies: ['IPv4'],
    onSync: (r) =>
      emit({ ev: 'sync', t: Date.now(), ms: r.durationMs, full: r.full, reason: r.reason, services: r.servicesChanged, adds: r.transaction.elementAdds, deletes: r.transaction.elementDeletes }),
  });
  const ac = new AbortController();
  const sources = await startProxySources({ client, discovery: client, proxier, logger, clock: realClock });
  void sources.synced().then(() => emit({ ev: 'synced', t: Date.now() }));
  proxier.start(ac.signal);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  ac.abort();
  await Promise.allSettled([sources.stop(), proxier.stop()]);
  await client.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (err: unknown) => {
    process.stderr.write(`proxy-sync-proxy: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
