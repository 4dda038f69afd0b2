/**
 * `skiff agent`: kubelet + kube-proxy in one process. This file only wires the subsystems:
 *
 *   config ─► RestClient ─► node (register, status, lease, pod CIDR)
 *                        ├► pods (workers → syncer → CRI runtime; status; events)
 *                        ├► kubelet API server (:10250, healthz :10248)
 *                        └► Service proxy (informers → nftables)
 *
 * SIGTERM/SIGINT stop the agent without touching running containers (they are adopted by the
 * next start) and leave the proxy's table in place so Service traffic keeps flowing across an
 * agent restart; `skiff down` or the proxy's cleanup removes it.
 */
import { readFileSync } from 'node:fs';
import type { Node } from 'kubernetes-types/core/v1.js';
import { realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { loadKubeconfig, RestClient } from '../lib/kube/index.js';
import { ConfigError, loadAgentConfig, type AgentConfig } from './config/index.js';
import { ApiEventRecorder } from './events/index.js';
import { createNodeManager } from './node/index.js';
import { createPodManager } from './pods/index.js';
import { createCriRuntime } from './runtime/index.js';
import { createKubeletMetrics, startKubeletServer } from './server/index.js';
import {
  cleanupProxyRules,
  createProxier,
  defaultProxyConfig,
  createProxyMetrics,
  parseKubeProxyConfiguration,
  startProxyHealthServer,
  startProxyMetricsServer,
  startProxySources,
  type Proxier,
  type ProxyConfig,
  type ProxyHttpServer,
  type ProxySources,
} from './proxy/index.js';

/** Runs the agent until SIGTERM/SIGINT. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // kube-proxy's `--cleanup`: remove the proxy's rules (every mode) and exit.
  if (argv.includes('--cleanup')) {
    const logger = createLogger({ base: { component: 'proxy-cleanup' } });
    const problems = await cleanupProxyRules({ logger });
    return problems.length ? 1 : 0;
  }
  let config: AgentConfig;
  let warnings: { field: string; message: string }[];
  try {
    ({ config, warnings } = loadAgentConfig(argv));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`skiff agent: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, base: { component: 'agent', node: config.nodeName } });
  for (const w of warnings) logger.warn({ field: w.field }, w.message);
  process.on('unhandledRejection', (err) => logger.error({ err: errorMessage(err) }, 'unhandled rejection (continuing)'));
  try {
    return await run(config, logger);
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'agent failed to start');
    process.stderr.write(`skiff agent: ${errorMessage(err)}\n`);
    return 1;
  }
}

async function run(config: AgentConfig, logger: Logger): Promise<number> {
  const clock = realClock;
  const client = new RestClient({
    credentials: loadKubeconfig(config.kubeconfig),
    qps: config.kubeAPIQPS,
    burst: config.kubeAPIBurst,
    userAgent: `skiff/0.1.0 (linux/amd64) kubelet/${config.nodeName}`,
  });
  const runtime = createCriRuntime({ endpoint: config.containerRuntimeEndpoint, timeoutMs: config.runtimeRequestTimeoutMs, logger: logger.child({ component: 'cri' }) });
  const events = new ApiEventRecorder({ client, component: 'kubelet', host: config.nodeName, clock, logger, qps: config.eventRecordQPS, burst: config.eventBurst });
  events.event({ kind: 'Node', apiVersion: 'v1', metadata: { name: config.nodeName, uid: config.nodeName } }, 'Normal', 'Starting', 'Starting kubelet.');

  const node = createNodeManager({ config, client, runtime, events, clock, logger });
  let pods: ReturnType<typeof createPodManager> | undefined;
  const metrics = createKubeletMetrics({ nodeName: config.nodeName, pods: () => pods?.runningPods() ?? [] });
  pods = createPodManager({ config, client, runtime, events, clock, logger, node: () => node.node(), metrics: metrics.registry });

  const ac = new AbortController();
  node.start(ac.signal);
  pods.start(ac.signal).catch((err: unknown) => logger.error({ err: errorMessage(err) }, "pod manager failed to start"));
  const server = config.server.enabled
    ? await startKubeletServer({ config, runtime, client, providers: pods.providers, clock, logger: logger.child({ component: 'server' }), metrics, nodeIPs: config.nodeIPs })
    : undefined;

  let proxy: StartedProxy | undefined;
  if (config.proxy.enabled) {
    void node
      .waitForNode(ac.signal)
      .then((n) => startProxy(config, n, node.podCIDR(), client, logger, ac.signal))
      .then(
        (p) => {
          proxy = p;
        },
        (err: unknown) => logger.error({ err: errorMessage(err) }, 'service proxy failed to start'),
      );
  }

  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info({ signal: sig }, 'shutting down (running containers are left alone)');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  ac.abort();
  await Promise.allSettled([proxy?.stop(), pods.stop(), node.stop(), server?.stop()]);
  await events.flush();
  runtime.close();
  await client.close();
  logger.info('stopped');
  return 0;
}

interface StartedProxy {
  proxier: Proxier;
  sources: ProxySources;
  stop(): Promise<void>;
}

async function startProxy(config: AgentConfig, n: Node, podCidr: string | undefined, client: RestClient, logger: Logger, signal: AbortSignal): Promise<StartedProxy> {
  const plog = logger.child({ component: 'proxy' });
  const fileConfig = config.proxy.configFile ? parseKubeProxyConfiguration(readFileSync(config.proxy.configFile, 'utf8')) : {};
  const nodeIPs = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
  const pconfig: ProxyConfig = { ...defaultProxyConfig(), ...fileConfig, ...(config.proxy.mode ? { mode: config.proxy.mode } : {}), ...(config.proxy.clusterCIDR ? { clusterCIDRs: config.proxy.clusterCIDR.split(',') } : {}) };
  const metrics = createProxyMetrics({ processMetrics: true });
  // The proxy's own credentials when given (kube-proxy's clientConnection.kubeconfig).
  const pclient = config.proxy.kubeconfig
    ? new RestClient({ credentials: loadKubeconfig(config.proxy.kubeconfig), userAgent: `skiff/0.1.0 (linux/amd64) kube-proxy/${config.nodeName}` })
    : client;
  // kube-proxy's Events (bad Services, failed health check ports) come from component kube-proxy.
  const events = new ApiEventRecorder({ client: pclient, component: 'kube-proxy', host: config.nodeName, clock: realClock, logger: plog });
  const proxier = createProxier({
    logger: plog,
    clock: realClock,
    config: pconfig,
    nodeName: config.nodeName,
    nodeIPs: nodeIPs.length ? nodeIPs : config.nodeIPs,
    podCidr: podCidr ?? n.spec?.podCIDR,
    events,
    metrics,
  });
  const sources = await startProxySources({ client: pclient, discovery: pclient, proxier, logger: plog, clock: realClock });
  proxier.start(signal);
  const servers: ProxyHttpServer[] = [];
  const serve = async (what: string, start: () => Promise<ProxyHttpServer>): Promise<void> => {
    try {
      servers.push(await start());
    } catch (err) {
      plog.warn({ err: errorMessage(err) }, `proxy ${what} server not started`);
    }
  };
  if (pconfig.healthzBindAddress) await serve('healthz', () => startProxyHealthServer({ address: pconfig.healthzBindAddress, health: proxier.health, metrics, logger: plog }));
  if (pconfig.metricsBindAddress) await serve('metrics', () => startProxyMetricsServer({ address: pconfig.metricsBindAddress, registry: metrics.registry, mode: proxier.mode, logger: plog }));
  return {
    proxier,
    sources,
    stop: async () => {
      await Promise.allSettled([sources.stop(), proxier.stop(), ...servers.map((s) => s.close())]);
      if (config.proxy.cleanupOnExit) {
        await proxier.cleanup().catch((err: unknown) => plog.warn({ err: errorMessage(err) }, 'deleting the service proxy rules on exit failed'));
      }
      await events.flush();
      if (pclient !== client) await pclient.close();
    },
  };
}
