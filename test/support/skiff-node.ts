/**
 * A Skiff node joined to any control plane (the real kube-apiserver of `realcluster.ts`, or
 * the companion), for end-to-end tests and benchmarks: a private containerd with Skiff's
 * images, and `skiff agent` started the way systemd would start it (a KubeletConfiguration
 * file plus kubelet flags), all inside a test network namespace. `stop()` stops the agent,
 * removes every pod, stops containerd and removes the nft table, bridge and cgroups.
 *
 * With `containerd` given, the node uses that (shared) containerd instead of starting its own:
 * the caller has imported the images and owns the daemon, and `stop()` removes the node's
 * pods, table, bridge and cgroups but leaves the daemon running (bench/pod-startup runs the
 * real kubelet and Skiff one after the other on one containerd).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { loadKubeconfig, Nodes, RestClient } from '../../lib/kube/index.js';
import { startContainerd, type ContainerdHandle } from '../../cluster/containerd/index.js';
import { importImages } from '../../images/index.js';
import { teardownNode, listTables } from '../../cluster/teardown.js';
import { CLI } from './up-cluster.js';
import { agentNodeFlags } from '../../cli/node-flags.js';
import type { TestNetns } from './netns.js';

/** What the node needs from its control plane. */
export interface ControlPlaneAccess {
  /** The apiserver URL the agent uses (reachable inside the netns). */
  server: string;
  /** The cluster CA (PEM file): the kubelet API trusts client certificates it signed. */
  caCertPath: string;
  /** An admin kubeconfig, to watch the Node come up. */
  adminKubeconfig: string;
  /** Issues the node's own kubeconfig (`system:node:<name>`). */
  issueNodeKubeconfig(nodeName: string): string;
  /** A kubeconfig for the Service proxy (`system:kube-proxy`), if the cluster authorizes nodes narrowly. */
  proxyKubeconfig?: string;
  /**
   * GETs an API path as the admin from where the apiserver is reachable (e.g. inside the
   * netns, as `RealControlPlane.adminGet` does). Without it the test process connects to
   * `server` itself, which works only when `server` is reachable from the host.
   */
  adminGet?(path: string): Promise<{ status: number; body: string }>;
}

/** Options of {@link startSkiffNode}. */
export interface SkiffNodeOptions {
  controlPlane: ControlPlaneAccess;
  netns: TestNetns;
  nodeName: string;
  /** Short path (containerd's socket must fit in a unix socket address). */
  stateDir: string;
  clusterCidr?: string;
  /** `Webhook` (kubelet's config-file default) or `AlwaysAllow`. */
  authorizationMode?: 'Webhook' | 'AlwaysAllow';
  extraFlags?: string[];
  readyTimeoutMs?: number;
  logger?: Logger;
  /**
   * A running containerd to use instead of a private one (it must run in `netns`, with the
   * images imported). The node neither starts nor stops it; `stop()` still removes every pod
   * sandbox and container in it.
   */
  containerd?: ContainerdHandle;
  /** Node.js flags of the agent process; default `cli/agent-node-flags` ({@link agentNodeFlags}). */
  nodeFlags?: string[];
  /**
   * The agent's `cgroupRoot`; default `/skiff-node`. Give each node that may run at the same
   * time as another one its own: an agent kills processes it finds in pod cgroups under its
   * root that belong to no pod of its own (orphan cleanup).
   */
  cgroupRoot?: string;
}

/** A running Skiff node. */
export interface SkiffNode {
  readonly nodeName: string;
  readonly containerd: ContainerdHandle;
  readonly agentLog: string;
  /** The agent's `--root-dir` (its serving certificate is in `<rootDir>/pki`). */
  readonly rootDir: string;
  /** Current agent PID. */
  agentPid(): number | undefined;
  /** Starts the agent again after it exited or was killed, with `extraFlags` added this once. */
  startAgent(extraFlags?: string[]): void;
  /** SIGKILLs the agent (containers must keep running). */
  killAgent(): Promise<void>;
  /** SIGTERMs the agent (as `systemctl stop` does) and waits for it to exit; its exit code. */
  stopAgent(): Promise<number | null>;
  /** Peak RSS (VmHWM) of the current agent process, MiB. */
  agentPeakRssMiB(): number;
  stop(): Promise<string[]>;
}

const CGROUP_ROOT = '/skiff-node';

/** Starts containerd and `skiff agent` in `netns`, and waits for the Node to be Ready. */
export async function startSkiffNode(o: SkiffNodeOptions): Promise<SkiffNode> {
  const log = o.logger ?? silentLogger();
  const dirs = { agent: join(o.stateDir, 'agent'), containerd: join(o.stateDir, 'containerd'), logs: join(o.stateDir, 'logs') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const tablesBefore = await listTables(o.netns.name);
  const shared = o.containerd !== undefined;
  const cgroupRoot = o.cgroupRoot ?? CGROUP_ROOT;
  const containerd = o.containerd ?? (await startContainerd({ stateDir: dirs.containerd, netns: o.netns.name, logger: log }));
  let agent: ChildProcess | undefined;
  const agentLog = join(dirs.logs, 'agent.log');
  const stop = async (): Promise<string[]> => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const gone = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
    const problems = await teardownNode({
      containerdDir: shared ? containerd.paths.stateDir : dirs.containerd,
      stateDir: o.stateDir,
      nftTable: 'skiff',
      bridge: 'cni0',
      cgroupRoot,
      stopDaemon: false,
      tablesBefore,
      netns: o.netns.name,
      logger: log,
    });
    if (!shared) await containerd.stop().catch(() => undefined);
    return problems;
  };
  try {
    if (!shared) await importImages({ address: containerd.address, logger: log });
    const nodeKubeconfig = o.controlPlane.issueNodeKubeconfig(o.nodeName);
    const config = join(dirs.agent, 'config.yaml');
    const mode = o.authorizationMode ?? 'Webhook';
    writeFileSync(
      config,
      [
        'apiVersion: kubelet.config.k8s.io/v1beta1',
        'kind: KubeletConfiguration',
        'authentication:',
        '  anonymous: {enabled: false}',
        `  webhook: {enabled: ${mode === 'Webhook'}}`,
        `  x509: {clientCAFile: ${o.controlPlane.caCertPath}}`,
        `authorization: {mode: ${mode}}`,
        `containerRuntimeEndpoint: ${containerd.endpoint}`,
        `podLogsDir: ${join(dirs.logs, 'pods')}`,
        `cgroupRoot: ${cgroupRoot}`,
        'clusterDomain: cluster.local',
        'failSwapOn: false',
        'serializeImagePulls: false',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const args = [
      CLI, 'agent',
      `--config=${config}`,
      `--kubeconfig=${nodeKubeconfig}`,
      `--root-dir=${dirs.agent}`,
      `--hostname-override=${o.nodeName}`,
      ...(o.netns.nodeIP ? [`--node-ip=${o.netns.nodeIP}`] : []),
      `--cni-conf-dir=${containerd.paths.cniConfDir}`,
      `--cni-data-dir=${containerd.paths.cniDataDir}`,
      `--cluster-cidr=${o.clusterCidr ?? '10.244.0.0/16'}`,
      ...(o.controlPlane.proxyKubeconfig ? [`--proxy-kubeconfig=${o.controlPlane.proxyKubeconfig}`] : []),
      ...(o.extraFlags ?? []),
    ];
    const startAgent = (extraFlags: string[] = []): void => {
      const fd = openSync(agentLog, 'a');
      try {
        agent = spawn('nsenter', [`--net=/run/netns/${o.netns.name}`, '--', process.execPath, ...(o.nodeFlags ?? agentNodeFlags()), ...args, ...extraFlags], { stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
    };
    startAgent();
    const admin = new RestClient({ credentials: loadKubeconfig(o.controlPlane.adminKubeconfig), requestTimeoutMs: 5000 });
    const adminGet = o.controlPlane.adminGet?.bind(o.controlPlane);
    const getNode = async (): Promise<Node> => {
      if (!adminGet) return admin.get<Node>(Nodes, undefined, o.nodeName);
      const r = await adminGet(`/api/v1/nodes/${o.nodeName}`);
      if (r.status !== 200) throw new Error(`GET node: ${r.status}`);
      return JSON.parse(r.body) as Node;
    };
    try {
      const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
      for (;;) {
        const ready = await getNode()
          .then((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
          .catch(() => false);
        if (ready) break;
        if (agent?.exitCode !== null && agent?.exitCode !== undefined) throw new Error(`skiff agent exited with ${agent.exitCode}: ${tail(agentLog)}`);
        if (Date.now() > deadline) throw new Error(`node ${o.nodeName} not Ready in time: ${tail(agentLog)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    } finally {
      await admin.close();
    }
    return {
      nodeName: o.nodeName,
      containerd,
      agentLog,
      rootDir: dirs.agent,
      agentPid: () => (agent && agent.exitCode === null && agent.signalCode === null ? agent.pid : undefined),
      startAgent,
      stopAgent: async () => {
        const a = agent;
        if (!a || a.exitCode !== null || a.signalCode !== null) return a?.exitCode ?? null;
        const gone = new Promise<number | null>((r) => a.once('exit', (code) => r(code)));
        a.kill('SIGTERM');
        return gone;
      },
      killAgent: async () => {
        if (!agent || agent.exitCode !== null || agent.signalCode !== null) return;
        const gone = new Promise((r) => agent!.once('exit', r));
        agent.kill('SIGKILL');
        await gone;
      },
      agentPeakRssMiB: () => {
        // nsenter execs node, so the child's pid is the agent's.
        const m = /VmHWM:\s+(\d+) kB/.exec(readStatus(agent?.pid));
        return m ? Number(m[1]) / 1024 : NaN;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readStatus(pid: number | undefined): string {
  try {
    return pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  } catch {
    return '';
  }
}

function tail(file: string, n = 30): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n') : '(no log)';
}
