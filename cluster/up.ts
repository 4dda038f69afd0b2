/**
 * `skiff up` and `skiff down`: a one-node cluster on this host, as a linear pipeline of named
 * steps (kind's `create.Cluster` habit) that undoes what it did when a step fails.
 *
 *   preflight → images → containerd → import images → control plane → node credentials
 *             → agent → wait for the node to be Ready → (foreground: wait for Ctrl-C) → teardown
 *
 * `skiff up` stays in the foreground as the supervisor of containerd, the control plane and
 * the agent (restarting any that dies, as systemd would), until Ctrl-C or `skiff down`;
 * `--detach` runs that supervisor in the background and returns once the node is Ready.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Node } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../lib/clock.js';
import { errorMessage, InvalidInputError, SkiffError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { loadKubeconfig, Namespaces, Nodes, RestClient } from '../lib/kube/index.js';
import { detectNodeAddresses } from '../agent/node/facts.js';
import { DEFAULT_TABLE } from '../agent/proxy/index.js';
import { importImages } from '../images/index.js';
import { writeNodeKubeconfig } from '../controlplane/index.js';
import { startContainerd, type ContainerdHandle } from './containerd/index.js';
import { DEFAULT_STATE_DIR, upLayout, type UpLayout, type UpRecord } from './layout.js';
import { Supervised } from './supervisor.js';
import { agentNodeFlags } from '../cli/node-flags.js';
import { listTables, teardownNode } from './teardown.js';

/** `skiff up` failed at a named step. */
export class UpError extends SkiffError {
  constructor(step: string, message: string, options?: { cause?: unknown }) {
    super('SKIFF_UP', `skiff up: ${step}: ${message}`, options);
  }
}

/** Options of `skiff up`. */
export interface UpOptions {
  stateDir: string;
  nodeName: string;
  /** Empty: detect (default-route interface). */
  nodeIP?: string;
  securePort: number;
  serviceCidr: string;
  clusterCidr: string;
  /** How long to wait for the node to be Ready. */
  readyTimeoutMs: number;
  /** Delay before restarting a containerd that died (containerd.service uses RestartSec=5). */
  containerdRestartDelayMs: number;
  detach: boolean;
}

/** The bridge the agent's conflist creates (cni/ default). */
const BRIDGE = 'cni0';
/**
 * The agent's cgroupRoot under `skiff up`, so teardown removes exactly its cgroups: `/skiff`
 * for the default state dir, else `/skiff-<hash of the state dir>`, so that two clusters on one
 * host never see each other's pod cgroups (an agent treats unknown pod cgroups under its root
 * as orphans and kills them).
 */
export function cgroupRootFor(stateDir: string): string {
  if (resolve(stateDir) === DEFAULT_STATE_DIR) return '/skiff';
  return `/skiff-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 8)}`;
}

const UP_FLAGS = ['state-dir', 'node-name', 'node-ip', 'secure-port', 'service-cluster-ip-range', 'cluster-cidr', 'ready-timeout', 'containerd-restart-delay', 'detach', 'purge'];

function parseArgs(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new InvalidInputError(`unexpected argument ${JSON.stringify(a)}`);
    const body = a.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (!UP_FLAGS.includes(name)) throw new InvalidInputError(`unknown flag --${name} (known: ${UP_FLAGS.map((f) => `--${f}`).join(' ')})`);
    if (eq >= 0) flags.set(name, body.slice(eq + 1));
    else if (name === 'detach' || name === 'purge') flags.set(name, 'true');
    else if (i + 1 < argv.length) flags.set(name, argv[++i]);
    else throw new InvalidInputError(`flag --${name} needs a value`);
  }
  return flags;
}

function upOptions(argv: string[]): UpOptions {
  const f = parseArgs(argv);
  const port = Number(f.get('secure-port') ?? 6443);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new InvalidInputError(`--secure-port: invalid port ${JSON.stringify(f.get('secure-port'))}`);
  return {
    stateDir: f.get('state-dir') ?? DEFAULT_STATE_DIR,
    nodeName: (f.get('node-name') ?? hostname()).toLowerCase(),
    nodeIP: f.get('node-ip'),
    securePort: port,
    serviceCidr: f.get('service-cluster-ip-range') ?? '10.96.0.0/16',
    clusterCidr: f.get('cluster-cidr') ?? '10.244.0.0/16',
    readyTimeoutMs: Number(f.get('ready-timeout') ?? 180) * 1000,
    containerdRestartDelayMs: Number(f.get('containerd-restart-delay') ?? 5) * 1000,
    detach: f.get('detach') === 'true',
  };
}

function cliPath(): string {
  return fileURLToPath(new URL('../cli/main.js', import.meta.url));
}

function writeRecord(file: string, rec: UpRecord): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n');
  renameSync(tmp, file);
}

/** Reads the record of a running (or crashed) `skiff up`, if any. */
export function readUpRecord(stateDir: string): UpRecord | undefined {
  try {
    return JSON.parse(readFileSync(upLayout(stateDir).recordFile, 'utf8')) as UpRecord;
  } catch {
    return undefined;
  }
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function agentConfigYaml(l: UpLayout, containerdSock: string): string {
  return [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    // kubelet's defaults for the kubelet API: no anonymous access, x509 client certificates from
    // the cluster CA, bearer tokens through TokenReview (the companion issues none, so none
    // authenticate) and SubjectAccessReview authorization (the companion's policy allows
    // system:masters and its kubelet-client identity; see controlplane/registry/reviews.ts).
    'authentication:',
    '  anonymous: {enabled: false}',
    '  webhook: {enabled: true}',
    `  x509: {clientCAFile: ${join(l.controlPlaneDir, 'pki', 'ca.crt')}}`,
    'authorization: {mode: Webhook}',
    `containerRuntimeEndpoint: unix://${containerdSock}`,
    `podLogsDir: ${l.podLogsDir}`,
    // Pod cgroups under /skiff so teardown removes exactly ours.
    `cgroupRoot: ${cgroupRootFor(l.stateDir)}`,
    'clusterDomain: cluster.local',
    'failSwapOn: false',
    'serializeImagePulls: false',
    '',
  ].join('\n');
}

/** Runs `skiff up`. Returns the process exit code. */
export async function upMain(argv: string[]): Promise<number> {
  const opts = upOptions(argv);
  const logger = createLogger({ base: { component: 'skiff-up' } });
  if (opts.detach) return detach(argv.filter((a) => a !== '--detach' && a !== '--detach=true'), opts, logger);
  const ac = new AbortController();
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) {
      process.stderr.write('skiff up: interrupted twice, exiting without cleanup; run `skiff down`\n');
      process.exit(130);
    }
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await up(opts, { logger, clock: realClock, signal: ac.signal, out: process.stdout });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Starts the cluster in the foreground and tears it down when `signal` aborts. */
export async function up(opts: UpOptions, ctx: { logger: Logger; clock: Clock; signal: AbortSignal; out: NodeJS.WritableStream }): Promise<number> {
  const { logger, clock, signal } = ctx;
  const l = upLayout(opts.stateDir);
  const undo: { name: string; fn: () => Promise<void> }[] = [];
  const record: UpRecord = {
    pid: process.pid,
    nodeName: opts.nodeName,
    nodeIP: '',
    server: '',
    adminKubeconfig: l.adminKubeconfig,
    pids: {},
    tablesBefore: [],
    ready: false,
    startedAt: new Date(clock.now()).toISOString(),
  };
  let containerd: ContainerdHandle | undefined;
  let stopping = false;
  const save = (): void => writeRecord(l.recordFile, record);

  const steps: { name: string; run: () => Promise<void> }[] = [
    {
      name: 'preflight',
      run: async () => {
        if (process.getuid?.() !== 0) throw new Error('needs root (it runs containerd, creates a bridge and programs nftables); re-run with sudo');
        const prev = readUpRecord(opts.stateDir);
        if (prev && alive(prev.pid) && prev.pid !== process.pid) throw new Error(`a cluster is already up (pid ${prev.pid}, state ${opts.stateDir}); run \`skiff down\` first`);
        for (const d of [l.stateDir, l.logsDir, l.agentDir, l.controlPlaneDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
        record.tablesBefore = (await listTables()).filter((t) => t !== `ip ${DEFAULT_TABLE}`);
        const addrs = await detectNodeAddresses({ hostname: opts.nodeName, nodeIPs: opts.nodeIP ? [opts.nodeIP] : [] });
        record.nodeIP = addrs.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
        record.server = `https://${record.nodeIP}:${opts.securePort}`;
        save();
        undo.push({ name: 'record', fn: async () => writeRecord(l.recordFile, { ...record, pid: 0, ready: false, pids: {} }) });
      },
    },
    {
      name: 'containerd',
      run: async () => {
        const start = async (): Promise<void> => {
          containerd = await startContainerd({ stateDir: l.containerdDir, logger: logger.child({ component: 'containerd' }) });
          record.pids.containerd = containerd.pid;
          save();
          // Restart containerd if it dies on its own (as its systemd unit does, RestartSec=5s);
          // the agent turns the node NotReady meanwhile and recovers when it is back.
          void containerd.exited.then(async ({ code, signal: sig }) => {
            if (stopping) return;
            logger.warn({ code, signal: sig, restartInMs: opts.containerdRestartDelayMs }, 'containerd exited; restarting');
            await clock.sleep(opts.containerdRestartDelayMs).catch(() => undefined);
            if (stopping) return;
            try {
              await start();
            } catch (err) {
              logger.error({ err: errorMessage(err) }, 'containerd restart failed');
            }
          });
        };
        await start();
        undo.push({ name: 'containerd', fn: async () => void (await containerd?.stop()) });
      },
    },
    {
      name: 'images',
      run: async () => {
        await importImages({ address: containerd!.address, logger: logger.child({ component: 'images' }) });
      },
    },
    {
      name: 'control plane',
      run: async () => {
        const cp = new Supervised({
          name: 'control-plane',
          command: process.execPath,
          args: [
            '--enable-source-maps', cliPath(), 'control-plane',
            `--state-dir=${l.controlPlaneDir}`,
            '--bind-address=0.0.0.0',
            `--secure-port=${opts.securePort}`,
            `--advertise-address=${record.nodeIP}`,
            `--service-cluster-ip-range=${opts.serviceCidr}`,
            `--cluster-cidr=${opts.clusterCidr}`,
          ],
          logFile: join(l.logsDir, 'control-plane.log'),
          logger,
          clock,
          onStart: (pid) => {
            record.pids.controlPlane = pid;
            save();
          },
        });
        cp.start();
        undo.push({ name: 'control plane', fn: () => cp.stop() });
        await waitFor(clock, signal, 60_000, 'the apiserver to answer', async () => {
          if (!existsSync(l.adminKubeconfig)) return false;
          const c = new RestClient({ credentials: loadKubeconfig(l.adminKubeconfig), requestTimeoutMs: 2000 });
          try {
            await c.list(Namespaces, { limit: 1 });
            return true;
          } catch {
            return false;
          } finally {
            await c.close();
          }
        }, join(l.logsDir, 'control-plane.log'));
      },
    },
    {
      name: 'agent',
      run: async () => {
        writeNodeKubeconfig(l.controlPlaneDir, opts.nodeName, record.server, l.nodeKubeconfig);
        writeFileSync(l.agentConfig, agentConfigYaml(l, containerd!.address), { mode: 0o600 });
        const agent = new Supervised({
          name: 'agent',
          command: process.execPath,
          args: [
            ...agentNodeFlags(), cliPath(), 'agent',
            `--config=${l.agentConfig}`,
            `--kubeconfig=${l.nodeKubeconfig}`,
            `--root-dir=${l.agentDir}`,
            `--hostname-override=${opts.nodeName}`,
            `--node-ip=${record.nodeIP}`,
            `--cni-conf-dir=${containerd!.paths.cniConfDir}`,
            `--cni-data-dir=${containerd!.paths.cniDataDir}`,
            `--cluster-cidr=${opts.clusterCidr}`,
          ],
          logFile: join(l.logsDir, 'agent.log'),
          logger,
          clock,
          onStart: (pid) => {
            record.pids.agent = pid;
            save();
          },
        });
        agent.start();
        undo.push({ name: 'agent', fn: () => agent.stop() });
      },
    },
    {
      name: 'node ready',
      run: async () => {
        const client = new RestClient({ credentials: loadKubeconfig(l.adminKubeconfig), requestTimeoutMs: 5000 });
        try {
          await waitFor(clock, signal, opts.readyTimeoutMs, `node ${opts.nodeName} to be Ready`, async () => {
            try {
              const node = await client.get<Node>(Nodes, undefined, opts.nodeName);
              return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
            } catch {
              return false;
            }
          }, join(l.logsDir, 'agent.log'));
        } finally {
          await client.close();
        }
        record.ready = true;
        save();
      },
    },
  ];

  const teardown = async (): Promise<void> => {
    stopping = true;
    for (const u of undo.reverse()) {
      if (u.name === 'containerd') continue; // removed with its pods below
      try {
        await u.fn();
      } catch (err) {
        logger.warn({ step: u.name, err: errorMessage(err) }, 'stop failed');
      }
    }
    const problems = await teardownNode({ containerdDir: l.containerdDir, stateDir: l.stateDir, nftTable: DEFAULT_TABLE, bridge: BRIDGE, cgroupRoot: cgroupRootFor(l.stateDir), logger, stopDaemon: false, tablesBefore: record.tablesBefore });
    await containerd?.stop().catch(() => undefined);
    for (const p of problems) logger.warn({ problem: p }, 'teardown left something behind');
  };

  for (const s of steps) {
    if (signal.aborted) break;
    logger.info({ step: s.name }, 'skiff up');
    try {
      await s.run();
    } catch (err) {
      logger.error({ step: s.name, err: errorMessage(err) }, 'skiff up failed');
      ctx.out.write(`skiff up: ${s.name} failed: ${errorMessage(err)}\n`);
      await teardown();
      return 1;
    }
  }
  if (!signal.aborted) {
    ctx.out.write(readyMessage(opts, record, 'Ctrl-C or '));
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  ctx.out.write('skiff: stopping the cluster…\n');
  await teardown();
  ctx.out.write('skiff: stopped; no containers, mounts, bridges or nft tables left behind.\n');
  return 0;
}

/** What `skiff up` prints once the node is Ready. */
function readyMessage(opts: UpOptions, rec: UpRecord, ctrlC: string): string {
  const l = upLayout(opts.stateDir);
  const down = `skiff down${opts.stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${opts.stateDir}`}`;
  return [
    `Skiff is up: node ${rec.nodeName} (${rec.nodeIP}) is Ready.`,
    '',
    'Point kubectl at it:',
    `  export KUBECONFIG=${rec.adminKubeconfig}`,
    '  kubectl get nodes -o wide',
    '',
    `Logs are in ${l.logsDir}. Stop with ${ctrlC}\`${down}\`.`,
    '',
  ].join('\n');
}

async function waitFor(clock: Clock, signal: AbortSignal, timeoutMs: number, what: string, check: () => Promise<boolean>, logFile?: string): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  while (!(await check())) {
    if (signal.aborted) throw new Error('interrupted');
    if (clock.now() > deadline) {
      let tail = '';
      try {
        tail = logFile ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '';
      } catch {
        /* no log */
      }
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${tail ? `; last lines of ${logFile}:\n${tail}` : ''}`);
    }
    await clock.sleep(250, signal).catch(() => undefined);
  }
}

/** Runs the supervisor in the background and returns when the node is Ready (or it failed). */
async function detach(argv: string[], opts: UpOptions, logger: Logger): Promise<number> {
  const l = upLayout(opts.stateDir);
  mkdirSync(l.logsDir, { recursive: true });
  const prev = readUpRecord(opts.stateDir);
  if (prev && alive(prev.pid)) {
    process.stderr.write(`skiff up: a cluster is already up (pid ${prev.pid}); run \`skiff down\` first\n`);
    return 1;
  }
  const logFile = join(l.logsDir, 'up.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--enable-source-maps', cliPath(), 'up', ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));
  const deadline = Date.now() + opts.readyTimeoutMs + 60_000;
  while (Date.now() < deadline) {
    const rec = readUpRecord(opts.stateDir);
    if (rec && rec.pid === child.pid && rec.ready) {
      process.stdout.write(readyMessage(opts, rec, ''));
      return 0;
    }
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  logger.error({ logFile }, 'skiff up did not become ready');
  process.stderr.write(`skiff up failed; see ${logFile}\n`);
  return 1;
}

/** Runs `skiff down`: stops the supervisor (which tears everything down) or cleans up after a crashed one. */
export async function downMain(argv: string[]): Promise<number> {
  const f = parseArgs(argv);
  const stateDir = f.get('state-dir') ?? DEFAULT_STATE_DIR;
  const logger = createLogger({ base: { component: 'skiff-down' } });
  const l = upLayout(stateDir);
  const rec = readUpRecord(stateDir);
  if (rec && alive(rec.pid) && rec.pid !== process.pid) {
    process.kill(rec.pid, 'SIGTERM');
    const deadline = Date.now() + 120_000;
    while (alive(rec.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (alive(rec.pid)) {
      process.stderr.write(`skiff down: supervisor ${rec.pid} did not exit; cleaning up directly\n`);
      process.kill(rec.pid, 'SIGKILL');
    } else {
      process.stdout.write('Skiff is down.\n');
      return 0;
    }
  }
  // No supervisor (crashed, or never started): stop what it recorded, then clean up.
  for (const pid of [rec?.pids.agent, rec?.pids.controlPlane]) if (alive(pid)) process.kill(pid!, 'SIGTERM');
  const problems = await teardownNode({ containerdDir: l.containerdDir, stateDir, nftTable: DEFAULT_TABLE, bridge: BRIDGE, cgroupRoot: cgroupRootFor(stateDir), logger, tablesBefore: rec?.tablesBefore });
  if (rec) writeRecord(l.recordFile, { ...rec, pid: 0, ready: false, pids: {} });
  for (const p of problems) process.stderr.write(`skiff down: ${p}\n`);
  process.stdout.write(problems.length ? 'Skiff is down, with warnings.\n' : 'Skiff is down.\n');
  return problems.length ? 1 : 0;
}
