/**
 * `skiff control-plane`: the companion control plane as one process. It wires together the
 * PKI under `<state-dir>/pki`, the store (memory with a snapshot file), the registry, the
 * HTTPS apiserver and the in-process components (scheduler and controllers, registered
 * through {@link ControlPlaneComponent}), and writes `<state-dir>/admin.conf`.
 *
 *   skiff control-plane [--state-dir DIR] [--bind-address IP] [--secure-port N]
 *                       [--advertise-address IP] [--service-cluster-ip-range CIDR]
 *                       [--cluster-cidr CIDR] [--node-cidr-mask-size N]
 *                       [--storage memory] [--snapshot-file FILE]
 *   skiff control-plane kubeconfig --node NAME --out FILE [--state-dir DIR] [--server URL]
 */
import { startControllers } from './controllers/index.js';
import { startScheduler } from './scheduler/index.js';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '../lib/kube/client.js';
import { realClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { errorMessage, InvalidInputError } from '../lib/errors.js';
import { bootstrap, createApi, parseCidr, formatIPv4, type Api, type Registry } from './registry/index.js';
import { ensureControlPlanePki, startApiServer, writeAdminKubeconfig, writeNodeKubeconfig, type ApiServer } from './server/index.js';

/** Parsed `skiff control-plane` flags. */
export interface ControlPlaneConfig {
  stateDir: string;
  bindAddress: string;
  securePort: number;
  advertiseAddress: string;
  serviceClusterIPRange: string;
  clusterCidr: string;
  nodeCidrMaskSize: number;
  storage: 'memory';
  snapshotFile: string;
}

/** What a component (scheduler, controller) gets when the control plane starts it. */
export interface ComponentContext {
  /** An in-process client with the component's own identity. */
  client: KubeClient;
  registry: Registry;
  config: ControlPlaneConfig;
  logger: Logger;
  clock: Clock;
  /** Aborted when the control plane stops. */
  signal: AbortSignal;
}

/**
 * An in-process component. `start` returns once it runs; `stop` (if any) is awaited on
 * shutdown, after the signal is aborted.
 */
export interface ControlPlaneComponent {
  name: string;
  /** The identity its client acts as, e.g. `system:kube-scheduler`. */
  user: string;
  start(ctx: ComponentContext): Promise<{ stop?: () => Promise<void> } | void>;
}

/**
 * The components `skiff control-plane` starts by default. The scheduler and controllers
 * register themselves here (they are written against the in-process client).
 */
export const DEFAULT_COMPONENTS: ControlPlaneComponent[] = [
  {
    name: 'kube-scheduler',
    user: 'system:kube-scheduler',
    start: async (ctx) => {
      const s = startScheduler({ client: ctx.client, clock: ctx.clock, logger: ctx.logger });
      return { stop: () => s.stop() };
    },
  },
  {
    name: 'kube-controller-manager',
    user: 'system:kube-controller-manager',
    start: async (ctx) => {
      const c = startControllers({
        client: ctx.client,
        clock: ctx.clock,
        logger: ctx.logger,
        clusterCidr: ctx.config.clusterCidr,
        nodeCidrMaskSize: ctx.config.nodeCidrMaskSize,
      });
      return { stop: () => c.stop() };
    },
  },
];

/** The first non-loopback IPv4 address of this host, else 127.0.0.1. */
export function defaultAdvertiseAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Parses `--flag value` / `--flag=value` arguments into a map (repeated flags keep the last). */
export function parseFlags(argv: readonly string[], known: readonly string[]): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.includes(name)) throw new InvalidInputError(`unknown flag: --${name}`, { field: name });
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new InvalidInputError(`flag needs an argument: --${name}`, { field: name });
      value = argv[++i];
    }
    flags.set(name, value);
  }
  return { flags, positional };
}

const SERVE_FLAGS = [
  'state-dir',
  'bind-address',
  'secure-port',
  'advertise-address',
  'service-cluster-ip-range',
  'cluster-cidr',
  'node-cidr-mask-size',
  'storage',
  'snapshot-file',
] as const;

/** Flags → config, with upstream's defaults. */
export function parseControlPlaneConfig(argv: readonly string[]): ControlPlaneConfig {
  const { flags, positional } = parseFlags(argv, SERVE_FLAGS);
  if (positional.length) throw new InvalidInputError(`unexpected argument: ${positional[0]}`);
  const stateDir = flags.get('state-dir') ?? '/var/lib/skiff/control-plane';
  const port = Number(flags.get('secure-port') ?? '6443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`invalid --secure-port ${flags.get('secure-port')}`, { field: 'secure-port' });
  const mask = Number(flags.get('node-cidr-mask-size') ?? '24');
  if (!Number.isInteger(mask) || mask < 8 || mask > 30) throw new InvalidInputError(`invalid --node-cidr-mask-size ${flags.get('node-cidr-mask-size')}`, { field: 'node-cidr-mask-size' });
  const storage = flags.get('storage') ?? 'memory';
  if (storage !== 'memory') {
    // The etcd3 store is not written yet; the Store interface is ready for it.
    throw new InvalidInputError(`--storage=${storage} is not supported yet (only "memory")`, { field: 'storage' });
  }
  const cfg: ControlPlaneConfig = {
    stateDir,
    bindAddress: flags.get('bind-address') ?? '0.0.0.0',
    securePort: port,
    advertiseAddress: flags.get('advertise-address') ?? defaultAdvertiseAddress(),
    serviceClusterIPRange: flags.get('service-cluster-ip-range') ?? '10.96.0.0/16',
    clusterCidr: flags.get('cluster-cidr') ?? '10.244.0.0/16',
    nodeCidrMaskSize: mask,
    storage: 'memory',
    snapshotFile: flags.get('snapshot-file') ?? join(stateDir, 'store.json'),
  };
  parseCidr(cfg.serviceClusterIPRange);
  parseCidr(cfg.clusterCidr);
  return cfg;
}

/** A running control plane (for tests and for embedding). */
export interface RunningControlPlane {
  config: ControlPlaneConfig;
  api: Api;
  server: ApiServer;
  /** Path of `admin.conf`. */
  adminKubeconfig: string;
  /** Stops components, the server and the store (writing the snapshot). */
  stop(): Promise<void>;
}

/** Options of {@link startControlPlane}. */
export interface StartOptions {
  logger: Logger;
  clock?: Clock;
  components?: readonly ControlPlaneComponent[];
}

/** Starts everything described by `config`. */
export async function startControlPlane(config: ControlPlaneConfig, opts: StartOptions): Promise<RunningControlPlane> {
  const { logger } = opts;
  const clock = opts.clock ?? realClock;
  const svcRange = parseCidr(config.serviceClusterIPRange);
  const pki = ensureControlPlanePki(config.stateDir, { advertiseAddress: config.advertiseAddress, serviceIP: formatIPv4(svcRange.base + 1) });
  const api = await createApi({
    clock,
    logger: logger.child({ component: 'registry' }),
    serviceCidr: config.serviceClusterIPRange,
    advertiseAddress: config.advertiseAddress,
    // With --secure-port 0 the port is known only once listening; reconciled below.
    securePort: config.securePort || 6443,
    snapshotFile: config.snapshotFile,
    snapshotIntervalMs: 60_000,
  });
  let server: ApiServer;
  try {
    server = await startApiServer({
      registry: api.registry,
      logger: logger.child({ component: 'apiserver' }),
      clock,
      tls: { certPem: pki.apiserver.certPem, keyPem: pki.apiserver.keyPem, clientCaPem: pki.ca.certPem },
      kubeletClient: { certPem: pki.kubeletClient.certPem, keyPem: pki.kubeletClient.keyPem },
      bindAddress: config.bindAddress,
      port: config.securePort,
      advertiseAddress: config.advertiseAddress,
    });
  } catch (err) {
    await api.close();
    throw err;
  }
  if (server.port !== (config.securePort || 6443)) {
    await bootstrap(api.registry, { advertiseAddress: config.advertiseAddress, securePort: server.port });
  }
  // admin.conf points at the advertise address, or loopback when bound to loopback only.
  const host = config.bindAddress === '127.0.0.1' ? '127.0.0.1' : config.advertiseAddress;
  const adminKubeconfig = writeAdminKubeconfig(config.stateDir, `https://${host}:${server.port}`);

  const ac = new AbortController();
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  for (const c of opts.components ?? DEFAULT_COMPONENTS) {
    const clog = logger.child({ component: c.name });
    try {
      const r = await c.start({
        client: api.clientFor({ username: c.user, groups: ['system:authenticated'] }),
        registry: api.registry,
        config,
        logger: clog,
        clock,
        signal: ac.signal,
      });
      if (r && r.stop) stops.push({ name: c.name, stop: r.stop });
      clog.info('component started');
    } catch (err) {
      clog.error({ err: errorMessage(err) }, 'component failed to start');
    }
  }
  logger.info({ url: server.url, advertise: config.advertiseAddress, stateDir: config.stateDir, adminKubeconfig }, 'control plane ready');

  let stopped: Promise<void> | undefined;
  return {
    config,
    api,
    server,
    adminKubeconfig,
    stop: () =>
      (stopped ??= (async () => {
        ac.abort();
        for (const s of stops.reverse()) {
          try {
            await s.stop();
          } catch (err) {
            logger.warn({ component: s.name, err: errorMessage(err) }, 'component stop failed');
          }
        }
        await server.close();
        await api.close();
        logger.info('control plane stopped');
      })()),
  };
}

/** Options of {@link runControlPlane}. */
export interface RunOptions {
  logger: Logger;
  /** Stop when aborted (in addition to SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Print to (defaults to process.stdout). */
  out?: (text: string) => void;
}

/**
 * `skiff control-plane …`. Runs until SIGINT/SIGTERM (or `opts.signal`), then stops
 * gracefully (the store writes its snapshot). Resolves to the process exit code.
 */
export async function runControlPlane(argv: readonly string[], opts: RunOptions): Promise<number> {
  const { logger } = opts;
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  try {
    if (argv[0] === 'kubeconfig') {
      const { flags, positional } = parseFlags(argv.slice(1), ['node', 'out', 'state-dir', 'server']);
      if (positional.length) throw new InvalidInputError(`unexpected argument: ${positional[0]}`);
      const node = flags.get('node');
      if (!node) throw new InvalidInputError('--node is required', { field: 'node' });
      const stateDir = flags.get('state-dir') ?? '/var/lib/skiff/control-plane';
      const server = flags.get('server') ?? `https://${defaultAdvertiseAddress()}:6443`;
      const file = flags.get('out');
      const yaml = writeNodeKubeconfig(stateDir, node, server, file);
      if (!file) out(yaml);
      return 0;
    }
    const config = parseControlPlaneConfig(argv);
    const cp = await startControlPlane(config, { logger });
    let onSignal: ((sig: string) => void) | undefined;
    await new Promise<void>((resolve) => {
      onSignal = (sig: string): void => {
        logger.info({ signal: sig }, 'shutting down');
        resolve();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      if (opts.signal?.aborted) resolve();
    });
    if (onSignal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await cp.stop();
    return 0;
  } catch (err) {
    logger.error({ err: errorMessage(err) }, 'control plane failed');
    return err instanceof InvalidInputError ? 2 : 1;
  }
}
