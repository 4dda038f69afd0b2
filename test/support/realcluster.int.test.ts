/**
 * The real-control-plane harness against itself: etcd + kube-apiserver + kube-scheduler +
 * kube-controller-manager 1.20.2 (built by test/reference/build-kubernetes.sh), inside a
 * network namespace of the test's own, driven by the real kubectl. It proves the harness
 * enforces what a real cluster enforces: controllers run, 1.20's API versions are served,
 * and NodeRestriction keeps one node's credentials off another node's objects.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupContainerdState, containerdTestSkipReason, startContainerd, type ContainerdHandle } from '../../cluster/containerd/index.js';
import { buildConflist, writeConflist } from '../../cni/index.js';
import { BUSYBOX_IMAGE, importImages } from '../../images/index.js';
import { canUseNetns, createNetns, type TestNetns } from './netns.js';
import {
  readAuditEvents,
  realControlPlaneSkipReason,
  referenceBinDir,
  refusedRequests,
  startRealControlPlane,
  startRealKubelet,
  type RealControlPlane,
  type RealKubelet,
} from './realcluster.js';

const KUBECTL = '/usr/bin/kubectl';
const panicOnOops = readFileSync('/proc/sys/kernel/panic_on_oops', 'utf8').trim();
const binDir = referenceBinDir();

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (!canUseNetns()) return 'needs root (the control plane runs in a network namespace of its own)';
  const r = realControlPlaneSkipReason(binDir);
  if (r) return r;
  if (!existsSync(KUBECTL)) return `${KUBECTL} not found`;
  return undefined;
}

const reason = skipReason();
if (reason) console.warn(`realcluster.int.test.ts skipped: ${reason}`);
// The real kubelet also needs what a containerd test needs (containerd, runc, CNI plugins,
// the image tools) and the reference kubelet binary.
const kubeletReason =
  reason ?? containerdTestSkipReason() ?? (existsSync(join(binDir, 'kubelet')) ? undefined : `kubelet not built in ${binDir}`);
if (!reason && kubeletReason) console.warn(`realcluster.int.test.ts: real kubelet test skipped: ${kubeletReason}`);

/** Result of one kubectl run. */
interface Kubectl {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(reason !== undefined)('real control plane (kube-apiserver 1.20.2)', () => {
  let ns: TestNetns;
  let cp: RealControlPlane;
  let stateDir: string;
  let ctdDir: string | undefined;
  let ctd: ContainerdHandle | undefined;
  let kubelet: RealKubelet | undefined;

  /** Runs kubectl inside the namespace; never throws on a non-zero exit. */
  async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<Kubectl> {
    try {
      const stdout = await ns.exec(KUBECTL, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs: 60_000, input });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  }
  const admin = (args: string[], input?: string): Promise<Kubectl> => kubectl(cp.adminKubeconfig, args, input);

  async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'skiff-realcp-'));
    ns = await createNetns({ prefix: 'skiff-t', uplinkIP: '172.30.255.2' });
    cp = await startRealControlPlane({ binDir, stateDir, netns: ns, advertiseAddress: ns.nodeIP! });
  }, 300_000);

  afterAll(async () => {
    await kubelet?.stop();
    if (ctdDir) {
      await cleanupContainerdState(ctdDir, { removeState: true }).catch(() => undefined);
      await ctd?.stop({ timeoutMs: 5000 }).catch(() => undefined);
      rmSync(ctdDir, { recursive: true, force: true });
    }
    await cp?.stop();
    await ns?.destroy();
    // SKIFF_KEEP_STATE=1 keeps the logs, the audit log and the PKI for a post-mortem.
    if (stateDir && !process.env.SKIFF_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
    else if (stateDir) console.warn(`realcluster state kept in ${stateDir}`);
  }, 60_000);

  it('serves kubectl get ns with the default namespaces', async () => {
    const r = await admin(['get', 'ns', '-o', 'name']);
    expect(r.code, r.stderr).toBe(0);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) expect(r.stdout).toContain(`namespace/${n}`);
    const v = await admin(['get', '--raw', '/version']);
    expect(JSON.parse(v.stdout).gitVersion).toBe('v1.20.2');
  });

  it('lists 1.20 API groups: discovery.k8s.io/v1beta1, not v1', async () => {
    const r = await admin(['get', '--raw', '/apis']);
    expect(r.code, r.stderr).toBe(0);
    const groups = (JSON.parse(r.stdout) as { groups: { name: string; versions: { groupVersion: string }[] }[] }).groups;
    const versions = groups.flatMap((g) => g.versions.map((v) => v.groupVersion));
    expect(versions).toContain('discovery.k8s.io/v1beta1');
    expect(versions).not.toContain('discovery.k8s.io/v1');
    expect(versions).toContain('coordination.k8s.io/v1');
  });

  it('runs the controller-manager and scheduler: a Deployment gets a ReplicaSet and unschedulable Pods', async () => {
    const c = await admin(['create', 'deployment', 'web', '--image=docker.io/library/busybox:1.29', '--replicas=2', '--', 'sleep', '3600']);
    expect(c.code, c.stderr).toBe(0);
    const rs = await eventually('a ReplicaSet', async () => {
      const r = await admin(['get', 'rs', '-l', 'app=web', '-o', 'json']);
      const items = (JSON.parse(r.stdout || '{"items":[]}') as { items: { metadata: { name: string } }[] }).items;
      return items.length > 0 ? items : undefined;
    });
    expect(rs).toHaveLength(1);
    // No node exists yet: the pods stay Pending, and the scheduler says why.
    const pods = await eventually('2 unschedulable pods', async () => {
      const r = await admin(['get', 'pods', '-l', 'app=web', '-o', 'json']);
      const items = (JSON.parse(r.stdout || '{"items":[]}') as {
        items: { status: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] } }[];
      }).items;
      const unschedulable = items.filter((p) => p.status.conditions?.some((k) => k.type === 'PodScheduled' && k.status === 'False' && k.reason === 'Unschedulable'));
      return items.length === 2 && unschedulable.length === 2 ? items : undefined;
    });
    for (const p of pods) expect(p.status.phase).toBe('Pending');
  });

  it('lets a node create its own Node and Lease, and forbids another node’s (Node authorizer + NodeRestriction)', async () => {
    const nodeA = cp.issueNodeKubeconfig('node-a');
    const asA = (args: string[], input?: string): Promise<Kubectl> => kubectl(nodeA, args, input);
    const node = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
    const lease = (name: string): string =>
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: 'kube-node-lease' },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace(/\.\d+Z$/, '.000000Z') },
      });

    const own = await asA(['create', '-f', '-'], node('node-a'));
    expect(own.code, own.stderr).toBe(0);
    const ownLease = await asA(['create', '-f', '-'], lease('node-a'));
    expect(ownLease.code, ownLease.stderr).toBe(0);

    // The controller-manager allocates it a pod CIDR out of the cluster CIDR.
    const cidr = await eventually('a podCIDR on node-a', async () => {
      const r = await admin(['get', 'node', 'node-a', '-o', 'jsonpath={.spec.podCIDR}']);
      return r.stdout.trim() || undefined;
    });
    expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);

    const other = await asA(['create', '-f', '-'], node('node-b'));
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/forbidden/i);
    const otherLease = await asA(['create', '-f', '-'], lease('node-b'));
    expect(otherLease.code).not.toBe(0);
    expect(otherLease.stderr).toMatch(/forbidden/i);

    // node-b exists (made by the admin): node-a may read it but not change or delete it.
    expect((await admin(['create', '-f', '-'], node('node-b'))).code).toBe(0);
    const label = await asA(['label', 'node', 'node-b', 'skiff.test/x=y']);
    expect(label.code).not.toBe(0);
    expect(label.stderr).toMatch(/forbidden/i);
    const del = await asA(['delete', 'node', 'node-b', '--wait=false']);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/forbidden/i);

    // The audit log saw the refusals, attributed to node-a.
    const refused = readAuditEvents(cp.auditLogPath).filter((e) => e.user.username === 'system:node:node-a' && e.responseStatus?.code === 403);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    expect(refused.some((e) => e.objectRef?.resource === 'nodes' && e.objectRef.name === 'node-b')).toBe(true);
    expect(refused.some((e) => e.objectRef?.resource === 'leases')).toBe(true);
  });

  it.skipIf(kubeletReason !== undefined)('runs the real kubelet 1.20 on containerd: a pod runs, logs and exec work, nothing is refused', async () => {
    // Start from an empty node list and no workload from the tests above.
    await admin(['delete', 'deployment', 'web', '--wait=true']);
    await admin(['delete', 'node', 'node-a', 'node-b', '--wait=true']);

    ctdDir = mkdtempSync('/tmp/skiff-rk-');
    ctd = await startContainerd({ stateDir: ctdDir, netns: ns.name });
    await writeConflist(ctd.paths.cniConfDir, buildConflist({ podCidr: '10.88.0.0/24', dataDir: ctd.paths.cniDataDir }));
    await importImages({ address: ctd.address });
    const t0 = Date.now();
    kubelet = await startRealKubelet({
      binDir,
      controlPlane: cp,
      nodeName: 'ref-node',
      stateDir: join(stateDir, 'kubelet'),
      netns: ns,
      containerRuntimeEndpoint: ctd.endpoint,
    });
    console.info(`real kubelet: node Ready after ${Date.now() - t0} ms`);

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hello', namespace: 'default' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo hello-from-ref; exec sleep 3600'] }],
      },
    };
    const c = await admin(['create', '-f', '-'], JSON.stringify(pod));
    expect(c.code, c.stderr).toBe(0);
    await eventually('pod hello Ready', async () => {
      const r = await admin(['get', 'pod', 'hello', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return r.stdout.trim() === 'True' ? true : undefined;
    }, 120_000);
    const ip = (await admin(['get', 'pod', 'hello', '-o', 'jsonpath={.status.podIP}'])).stdout.trim();
    expect(ip).toMatch(/^10\.88\.0\.\d+$/);
    // apiserver → kubelet (:10250, InternalIP, apiserver-kubelet-client cert, webhook authz).
    const logs = await admin(['logs', 'hello']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('hello-from-ref');
    // The service-account token volume is a tmpfs the kubelet mounted: it reached the container.
    const ex = await admin(['exec', 'hello', '--', 'cat', '/var/run/secrets/kubernetes.io/serviceaccount/namespace']);
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout.trim()).toBe('default');

    const uid = (await admin(['get', 'pod', 'hello', '-o', 'jsonpath={.metadata.uid}'])).stdout.trim();
    const d = await admin(['delete', 'pod', 'hello', '--wait=true', '--timeout=90s']);
    expect(d.code, d.stderr).toBe(0);

    // The reference kubelet is refused nothing: the bar our agent is held to.
    expect(refusedRequests(readAuditEvents(cp.auditLogPath), ['system:node:ref-node'])).toEqual([]);

    const k = kubelet;
    await k.stop();
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(k.rootDir));
    expect(mounts).toEqual([]);
    expect(existsSync(join('/sys/fs/cgroup/memory', k.cgroupRoot))).toBe(false);
    expect(existsSync(`/var/log/pods/default_hello_${uid}`)).toBe(false);
    // The host's sysctls were masked, not changed.
    expect(readFileSync('/proc/sys/kernel/panic_on_oops', 'utf8').trim()).toBe(panicOnOops);
  }, 600_000);

  it('stops cleanly, leaving no process behind, and stop() is idempotent', async () => {
    const pids = cp.processes.map((p) => p.pid);
    expect(pids).toHaveLength(4);
    await cp.stop();
    await cp.stop();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
