/**
 * The side-by-side pod-startup run: one real Kubernetes 1.20.2 control plane and one
 * containerd, both inside a throwaway network namespace, and the same workload
 * (`workload.ts`) run on the real kubelet 1.20.2 and on Skiff, one node after the other.
 *
 * ```
 * netns skiff-bench-xxxx (uplink 172.30.252.2, default route to nowhere)
 *   etcd ─ kube-apiserver ─ kube-scheduler ─ kube-controller-manager      (test/support/realcluster.ts)
 *   containerd 1.6 (images imported once)                                  (cluster/containerd)
 *
 * round r, in the round's order:
 *   node bench-kubelet: conflist 10.88.0.0/24 → kubelet (startRealKubelet) → Ready
 *       → warm-up pod → [CPU mark] → 30 pods Ready → 30 pods gone → VmHWM, CPU
 *       → CRI: remove every sandbox left → kubelet stopped (mounts, cgroups) → cni0 and
 *         conflist removed → Node object deleted
 *   node bench-skiff: skiff agent on the same containerd (startSkiffNode, shared containerd;
 *       it writes its own conflist for the Node's podCIDR) → Ready
 *       → warm-up pod → [CPU mark] → 30 pods Ready → 30 pods gone → VmHWM, CPU
 *       → agent stopped, pods, bridge, table, cgroups removed → Node object deleted
 * finally: containerd stopped and cleaned, control plane stopped, netns deleted
 * ```
 *
 * Fairness: both agents see the same apiserver, the same containerd with the same images
 * already unpacked, the same CNI plugins (bridge + host-local, conflists from the same
 * builder), the same pod spec and grace period, and each gets one warm-up pod before the
 * measured round so that neither pays for the first sandbox on a cold page cache. Each agent
 * runs with its own defaults (kubelet 1.20: kubeAPIQPS 5, burst 10; Skiff: 50/100, as
 * kubelet ≥ 1.27). Rounds alternate the order (kubelet first in odd rounds).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupContainerdState, startContainerd, type ContainerdHandle } from '../cluster/containerd/index.js';
import { buildConflist, writeConflist } from '../cni/index.js';
import { importImages } from '../images/index.js';
import { createCriRuntime, isNotFound } from '../agent/runtime/index.js';
import { errorMessage } from '../lib/errors.js';
import { createNetns, type TestNetns } from '../test/support/netns.js';
import {
  REFERENCE_KUBERNETES_VERSION,
  startRealControlPlane,
  startRealKubelet,
  type RealControlPlane,
  type RealKubelet,
} from '../test/support/realcluster.js';
import { startSkiffNode, type SkiffNode } from '../test/support/skiff-node.js';
import { cpuSeconds, peakRssMiB, rssMiB } from './stats.js';
import type { WorkloadResult } from './workload.js';

/** Which agent ran. */
export type AgentName = 'kubelet' | 'skiff';

/** One agent's measured round. */
export interface AgentRun extends WorkloadResult {
  agent: AgentName;
  round: number;
  /** From starting the agent to its Node being Ready. */
  nodeReadyMs: number;
  /** VmHWM of the agent process at the end of the round (after all pods are gone). */
  peakRssMiB: number;
  /** VmRSS at the same moment. */
  endRssMiB: number;
  /** CPU time (user + system) the agent used during the measured create and delete. */
  cpuSeconds: number;
  /** CPU time containerd used during the same span. */
  containerdCpuSeconds: number;
}

/** Options of {@link runSideBySide}. */
export interface SideBySideOptions {
  binDir: string;
  pods: number;
  graceSeconds: number;
  rounds: number;
  /** Which agent goes first in round 1 (rounds alternate). */
  first: AgentName;
  /** Warm-up pods per agent before the measured round (0: none). */
  warmupPods: number;
  /** Run Skiff's Service proxy (as `system:kube-proxy`); false adds `--disable-proxy`. */
  skiffProxy: boolean;
  /** Node.js flags of the Skiff agent; default `cli/agent-node-flags`. */
  skiffNodeFlags?: string[];
  /** Extra kubelet flags (e.g. `--kube-api-qps=50`). */
  kubeletFlags: string[];
  /** Extra `skiff agent` flags. */
  skiffFlags: string[];
  /** Keep the state dir (logs, audit log) for a post-mortem. */
  keepState: boolean;
  progress: (msg: string) => void;
}

/** What the run measured, plus what it ran on. */
export interface SideBySideResult {
  runs: AgentRun[];
  kubernetesVersion: string;
  containerdVersion: string;
  /** Problems met while cleaning up (empty when everything was removed). */
  leftovers: string[];
}

const BENCH_ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'pod-startup.js');
const NODE_IP = '172.30.252.2';
const KUBELET_POD_CIDR = '10.88.0.0/24';

/** Runs the workload on the real kubelet and on Skiff; see the module comment. */
export async function runSideBySide(o: SideBySideOptions): Promise<SideBySideResult> {
  const say = o.progress;
  // Short path: containerd's socket must fit in a unix socket address.
  const stateDir = mkdtempSync('/tmp/skb-');
  const leftovers: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        leftovers.push(errorMessage(err));
      }
    }
  };
  // Ctrl-C / timeout: clean up, then exit (the namespace holds everything networked).
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`bench/pod-startup: ${sig}, cleaning up\n`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    say(`state in ${stateDir}; starting the network namespace and the real control plane (${REFERENCE_KUBERNETES_VERSION})`);
    const ns = await createNetns({ prefix: 'skiff-bench', uplinkIP: NODE_IP });
    cleanups.push(() => ns.destroy());
    cleanups.push(async () => {
      if (o.keepState) process.stderr.write(`bench/pod-startup: state kept in ${stateDir}\n`);
      else rmSync(stateDir, { recursive: true, force: true });
    });
    const cp = await startRealControlPlane({ binDir: o.binDir, stateDir: join(stateDir, 'cp'), netns: ns, advertiseAddress: ns.nodeIP! });
    cleanups.push(() => cp.stop());

    say('starting containerd and importing the images');
    const ctdDir = join(stateDir, 'c');
    const ctd = await startContainerd({ stateDir: ctdDir, netns: ns.name });
    cleanups.push(async () => {
      const r = await cleanupContainerdState(ctdDir, { stopDaemon: false }).catch(() => undefined);
      if (r?.sandboxesRemoved.length) leftovers.push(`containerd still had ${r.sandboxesRemoved.length} sandboxes at the end`);
      await ctd.stop({ timeoutMs: 10_000 });
      await cleanupContainerdState(ctdDir, { stopDaemon: false }).catch(() => undefined);
    });
    await importImages({ address: ctd.address });
    const containerdVersion = await criRuntimeVersion(ctd);

    const proxyKubeconfig = o.skiffProxy ? cp.issueKubeconfig('system:kube-proxy', []) : undefined;
    const ctx: Ctx = { o, ns, cp, ctd, stateDir, proxyKubeconfig, cleanups };
    const runs: AgentRun[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      const other: AgentName = o.first === 'kubelet' ? 'skiff' : 'kubelet';
      const order: AgentName[] = round % 2 === 1 ? [o.first, other] : [other, o.first];
      for (const agent of order) {
        say(`round ${round}: ${agent}`);
        const run = agent === 'kubelet' ? await kubeletRound(ctx, round) : await skiffRound(ctx, round);
        say(`round ${round}: ${agent}: all ${run.pods} Ready in ${(run.allReadyMs / 1000).toFixed(2)} s, gone in ${(run.allGoneMs / 1000).toFixed(2)} s, peak RSS ${run.peakRssMiB.toFixed(0)} MiB`);
        runs.push(run);
      }
    }
    return { runs, kubernetesVersion: REFERENCE_KUBERNETES_VERSION, containerdVersion, leftovers };
  } finally {
    await runCleanups();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function criRuntimeVersion(ctd: ContainerdHandle): Promise<string> {
  const cri = createCriRuntime({ endpoint: ctd.endpoint });
  try {
    const v = await cri.version();
    return `${v.runtimeName} ${v.runtimeVersion}`;
  } catch {
    return 'containerd';
  } finally {
    cri.close();
  }
}

/** Runs the workload from inside the namespace (`--inner`) and parses its JSON line. */
async function workload(ns: TestNetns, cp: RealControlPlane, node: string, pods: number, graceSeconds: number, prefix: string): Promise<WorkloadResult> {
  const out = await ns.exec(
    process.execPath,
    [BENCH_ENTRY, '--inner', '--kubeconfig', cp.adminKubeconfig, '--pods', String(pods), '--node', node, '--grace', String(graceSeconds), '--prefix', prefix],
    { timeoutMs: 900_000 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as WorkloadResult;
}

/** What every round shares. */
interface Ctx {
  o: SideBySideOptions;
  ns: TestNetns;
  cp: RealControlPlane;
  ctd: ContainerdHandle;
  stateDir: string;
  proxyKubeconfig: string | undefined;
  /** The run's cleanup stack (also run by the signal handler). */
  cleanups: (() => Promise<void>)[];
}

/**
 * Runs `body`, then `teardown` (once), also when `body` fails, and also from the signal
 * handler if the run is interrupted while `body` is running.
 */
async function guarded<T>(c: Ctx, teardown: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => (done ??= teardown());
  c.cleanups.push(once);
  try {
    return await body();
  } finally {
    await once();
    const i = c.cleanups.indexOf(once);
    if (i >= 0) c.cleanups.splice(i, 1);
  }
}

/**
 * The warm-up, then the measured workload, with the agent's and containerd's CPU time taken
 * around the measured part and the agent's VmHWM/VmRSS at its end.
 */
async function measured(c: Ctx, agent: AgentName, round: number, node: string, pid: number, nodeReadyMs: number): Promise<AgentRun> {
  const { o, ns, cp, ctd } = c;
  if (o.warmupPods > 0) await workload(ns, cp, node, o.warmupPods, o.graceSeconds, 'warmup-');
  const cpu0 = await cpuSeconds(pid);
  const ctdCpu0 = await cpuSeconds(ctd.pid);
  const r = await workload(ns, cp, node, o.pods, o.graceSeconds, 'bench-');
  const cpu1 = await cpuSeconds(pid);
  const ctdCpu1 = await cpuSeconds(ctd.pid);
  return {
    ...r,
    agent,
    round,
    nodeReadyMs,
    peakRssMiB: await peakRssMiB(pid),
    endRssMiB: await rssMiB(pid),
    cpuSeconds: cpu1 - cpu0,
    containerdCpuSeconds: ctdCpu1 - ctdCpu0,
  };
}

async function kubeletRound(c: Ctx, round: number): Promise<AgentRun> {
  const { o, ns, cp, ctd } = c;
  const node = 'bench-kubelet';
  let kubelet: RealKubelet | undefined;
  return guarded(
    c,
    async () => {
      // Kubelet 1.20 keeps dead sandboxes of deleted pods for a while: remove them (CNI DEL,
      // IPs released) while the kubelet runs, then stop it (unmounts, cgroups).
      await removeAllPods(ctd).catch(() => undefined);
      await kubelet?.stop();
      await removeAllPods(ctd);
      await resetNetwork(ns, ctd);
      await deleteNode(ns, cp, node);
    },
    async () => {
      // The kubelet (remote runtime) writes no CNI config; containerd reports the network
      // ready only once a conflist exists. Same builder (bridge + host-local) as Skiff's.
      await writeConflist(ctd.paths.cniConfDir, buildConflist({ podCidr: KUBELET_POD_CIDR, dataDir: ctd.paths.cniDataDir }));
      const t0 = Date.now();
      kubelet = await startRealKubelet({
        binDir: o.binDir,
        controlPlane: cp,
        nodeName: node,
        stateDir: join(c.stateDir, `k${round}`),
        netns: ns,
        containerRuntimeEndpoint: ctd.endpoint,
        extraFlags: o.kubeletFlags,
      });
      return measured(c, 'kubelet', round, node, kubelet.pid, Date.now() - t0);
    },
  );
}

async function skiffRound(c: Ctx, round: number): Promise<AgentRun> {
  const { o, ns, cp, ctd } = c;
  const node = 'bench-skiff';
  let skiff: SkiffNode | undefined;
  return guarded(
    c,
    async () => {
      const problems = (await skiff?.stop()) ?? [];
      if (problems.length) process.stderr.write(`bench/pod-startup: skiff node teardown: ${problems.join('; ')}\n`);
      await removeAllPods(ctd);
      await resetNetwork(ns, ctd);
      await deleteNode(ns, cp, node);
    },
    async () => {
      const t0 = Date.now();
      skiff = await startSkiffNode({
        controlPlane: {
          server: cp.server,
          caCertPath: cp.caCertPath,
          adminKubeconfig: cp.adminKubeconfig,
          issueNodeKubeconfig: (n) => cp.issueNodeKubeconfig(n),
          proxyKubeconfig: c.proxyKubeconfig,
          // The apiserver is reachable only inside the namespace: never poll it from the
          // host (the host's route to the node IP leads off the machine).
          adminGet: (path) => cp.adminGet(path),
        },
        netns: ns,
        nodeName: node,
        stateDir: join(c.stateDir, `s${round}`),
        clusterCidr: cp.clusterCidr,
        containerd: ctd,
        // Its own cgroup root: agents under a shared root kill each other's pods as orphans.
        cgroupRoot: `/skiff-bench-${randomBytes(4).toString('hex')}`,
        nodeFlags: o.skiffNodeFlags,
        extraFlags: [...(o.skiffProxy ? [] : ['--disable-proxy']), ...o.skiffFlags],
        readyTimeoutMs: 180_000,
      });
      const pid = skiff.agentPid();
      if (!pid) throw new Error('skiff agent is not running');
      return measured(c, 'skiff', round, node, pid, Date.now() - t0);
    },
  );
}

/** Stops and removes every CRI container and sandbox (CNI DEL releases the pod IPs). */
async function removeAllPods(ctd: ContainerdHandle): Promise<void> {
  const cri = createCriRuntime({ endpoint: ctd.endpoint, timeoutMs: 60_000 });
  try {
    for (const c of await cri.listContainers()) {
      await cri.stopContainer(c.id, 0).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      await cri.removeContainer(c.id).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    }
    for (const s of await cri.listPodSandbox()) {
      await cri.stopPodSandbox(s.id).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      await cri.removePodSandbox(s.id).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
    }
  } finally {
    cri.close();
  }
}

/** Removes the conflists and the bridge, so the next node starts from the same network state. */
async function resetNetwork(ns: TestNetns, ctd: ContainerdHandle): Promise<void> {
  for (const f of await readdir(ctd.paths.cniConfDir).catch(() => [] as string[])) await rm(join(ctd.paths.cniConfDir, f), { force: true });
  await ns.exec('ip', ['link', 'del', 'cni0']).catch(() => undefined);
}

async function deleteNode(ns: TestNetns, cp: RealControlPlane, node: string): Promise<void> {
  await ns.exec('kubectl', [`--kubeconfig=${cp.adminKubeconfig}`, 'delete', 'node', node, '--ignore-not-found', '--wait=true', '--timeout=60s'], { timeoutMs: 90_000 }).catch(() => undefined);
}
