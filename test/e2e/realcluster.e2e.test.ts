/**
 * Issue 3, "joins a real cluster": a Skiff node against the real kube-apiserver 1.20.2 with
 * `--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction`, plus
 * kube-scheduler and kube-controller-manager (`--allocate-node-cidrs`), all in a network
 * namespace of the test's own. The agent joins with a node client certificate
 * (`O=system:nodes, CN=system:node:<name>`) and runs its Service proxy as `system:kube-proxy`.
 *
 * ```
 *   netns (uplink 172.30.253.2) ─┬─ etcd, kube-apiserver, scheduler, controller-manager
 *                                └─ containerd + skiff agent (node skiff-real, :10250 on the node IP)
 *
 *   Node Ready, Lease renewed, `kubectl get node -o wide`
 *   → Deployment (2× busybox httpd) + Service by kubectl → ClusterIP answers from both pods
 *   → the proxy read EndpointSlices in discovery.k8s.io/v1beta1 (audit log)
 *   → a Secret as env var and volume: its value is in no log line and no Event
 *   → the agent's keys are 0600
 *   → audit log: nothing from system:node:skiff-real or system:kube-proxy was refused (401/403)
 *   → teardown leaves no mount, shim, bridge or nft table behind
 * ```
 *
 * `SKIFF_KEEP_STATE=1` keeps the state dir (logs, audit log, PKI) for a post-mortem.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { EventList, Node, Pod, PodList, Service } from 'kubernetes-types/core/v1.js';
import { eventually, sleep } from '../support/eventually.js';
import { netnsKubectl } from '../support/kubectl.js';
import { createNetns, type TestNetns } from '../support/netns.js';
import { readAuditEvents, referenceBinDir, refusedRequests, startRealControlPlane, type RealControlPlane } from '../support/realcluster.js';
import { realControlPlaneAccess, realNodeSkipReason } from '../support/real-node.js';
import { startSkiffNode, type SkiffNode } from '../support/skiff-node.js';

const NODE = 'skiff-real';
const NODE_USER = `system:node:${NODE}`;
const PROXY_USER = 'system:kube-proxy';
const binDir = referenceBinDir();

const skip = realNodeSkipReason(binDir);
if (skip) console.warn(`realcluster.e2e.test.ts skipped: ${skip}`);

let ns: TestNetns | undefined;
let cp: RealControlPlane | undefined;
let node: SkiffNode | undefined;
let stateDir: string | undefined;

const { kubectl, kubectlJson } = netnsKubectl(() => ({ ns: ns!, kubeconfig: cp!.adminKubeconfig }), 120_000);

describe.skipIf(!!skip)('a Skiff node joins a real kube-apiserver 1.20 (Node,RBAC + NodeRestriction)', () => {
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    // Short path: containerd's socket must fit in a unix socket address.
    stateDir = mkdtempSync('/tmp/sk-rc-');
    ns = await createNetns({ prefix: 'skiff-e2e', uplinkIP: '172.30.253.2' });
    let t = Date.now();
    cp = await startRealControlPlane({ binDir, stateDir: join(stateDir, 'cp'), netns: ns, advertiseAddress: ns.nodeIP! });
    timings.controlPlaneMs = Date.now() - t;
    t = Date.now();
    node = await startSkiffNode({
      // The Node authorizer lets a node read no EndpointSlices: the proxy runs as kube-proxy does.
      controlPlane: realControlPlaneAccess(cp, PROXY_USER),
      netns: ns,
      nodeName: NODE,
      stateDir: join(stateDir, 'n'),
      clusterCidr: cp.clusterCidr,
      // Its own cgroup root: an agent kills what it finds in pod cgroups under its root that
      // belongs to none of its pods, and other nodes (benchmarks) may run on this host.
      cgroupRoot: `/skiff-rc-${basename(stateDir)}`,
      // The most verbose level: the secret check below also covers debug and trace lines.
      extraFlags: ['--v=6'],
      readyTimeoutMs: 180_000,
    });
    timings.nodeReadyMs = Date.now() - t;
  });

  afterAll(async () => {
    const problems: string[] = [];
    try {
      if (node) problems.push(...(await node.stop()));
      if (ns && stateDir) problems.push(...(await leftovers(ns, stateDir)));
      if (stateDir && existsSync(`/sys/fs/cgroup/memory/skiff-rc-${basename(stateDir)}`)) problems.push('the node’s cgroups');
    } finally {
      await cp?.stop();
      await ns?.destroy();
      if (stateDir && !process.env.SKIFF_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
      else if (stateDir) console.warn(`realcluster e2e state kept in ${stateDir}`);
      console.info(`realcluster e2e timings (ms): ${JSON.stringify(timings)}`);
    }
    expect(problems, 'left behind').toEqual([]);
  });

  it('registers a Ready node with a pod CIDR, renews its Lease, and kubectl get node -o wide shows version, OS, kernel and runtime', async () => {
    const n = await kubectlJson<Node>(['get', 'node', NODE]);
    expect(n.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    // kube-controller-manager --allocate-node-cidrs gave the node a /24.
    const cidr = await eventually('a podCIDR', async () => (await kubectlJson<Node>(['get', 'node', NODE])).spec?.podCIDR);
    expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);

    // As kubelet, the first Lease round runs before the Node exists and skips creating it
    // (no owner yet); the next round, 10 s later, creates it.
    const lease1 = await eventually('the node Lease', () => kubectlJson<Lease>(['get', 'lease', '-n', 'kube-node-lease', NODE]), 30_000);
    expect(lease1.spec?.holderIdentity).toBe(NODE);
    expect(lease1.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: NODE, uid: n.metadata?.uid });
    const t = Date.now();
    const lease2 = await eventually('the Lease to be renewed', async () => {
      const l = await kubectlJson<Lease>(['get', 'lease', '-n', 'kube-node-lease', NODE]);
      return Date.parse(l.spec!.renewTime!) > Date.parse(lease1.spec!.renewTime!) ? l : undefined;
    }, 30_000);
    timings.leaseRenewedAfterMs = Date.now() - t;
    expect(Date.parse(lease2.spec!.renewTime!)).toBeGreaterThan(Date.parse(lease1.spec!.renewTime!));

    // kubectl 1.32 against a 1.20 server warns about the version skew on stderr; stdout is the table.
    const wide = await kubectl(['get', 'node', NODE, '-o', 'wide']);
    const [header, row] = wide.trim().split('\n');
    const cols = header.split(/\s{2,}/);
    const cells = row.split(/\s{2,}/);
    const cell = (name: string): string => cells[cols.indexOf(name)];
    expect(cell('STATUS')).toBe('Ready');
    expect(cell('VERSION')).toMatch(/^v1\.\d+\.\d+\+skiff\./);
    expect(cell('INTERNAL-IP')).toBe(ns!.nodeIP);
    expect(cell('OS-IMAGE')).toBe(n.status?.nodeInfo?.osImage);
    expect(cell('OS-IMAGE')).not.toMatch(/^(<unknown>|)$/);
    expect(cell('KERNEL-VERSION')).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    expect(cell('CONTAINER-RUNTIME')).toMatch(/^containerd:\/\/1\.6\./);
  });

  it('runs a Deployment made with kubectl on the Skiff node, and its ClusterIP answers from both endpoints through the proxy', async () => {
    const t = Date.now();
    await kubectl(['create', 'deployment', 'web', '--image=docker.io/library/busybox:1.29', '--replicas=2', '--port=8080', '--',
      'sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -v -p 8080 -h /www']);
    await kubectl(['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s'], { timeoutMs: 200_000 });
    timings.deploymentAvailableMs = Date.now() - t;
    const pods = (await kubectlJson<PodList>(['get', 'pods', '-l', 'app=web'])).items.filter((p) => !p.metadata?.deletionTimestamp);
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.spec?.nodeName).toBe(NODE);
      expect(p.status?.phase).toBe('Running');
      // Turning True dropped the reason and message of the False condition (the patch deletes them).
      expect(p.status?.conditions?.filter((x) => x.status === 'True' && (x.reason || x.message))).toEqual([]);
      expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      expect(p.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    }
    const names = pods.map((p) => p.metadata!.name!).sort();
    const vip = (await kubectlJson<Service>(['get', 'service', 'web'])).spec!.clusterIP!;
    const t2 = Date.now();
    const seen = await eventually('both endpoints to answer on the ClusterIP', async () => {
      const s = new Set<string>();
      for (let i = 0; i < 30; i++) s.add((await ns!.exec('curl', ['-s', '--max-time', '3', `http://${vip}/`])).trim());
      return [...s].sort().join(',') === names.join(',') ? s : undefined;
    }, 90_000);
    timings.clusterIPBothEndpointsMs = Date.now() - t2;
    expect([...seen].sort()).toEqual(names);
    // apiserver → the agent's :10250 (InternalIP, webhook authorization: the agent asks the
    // apiserver with a SubjectAccessReview, as the node).
    const logs = await kubectl(['logs', names[0]]);
    expect(logs).toMatch(/response:200/);
  });

  it('writes its pod status again when someone else changes it (as the node-lifecycle controller does), once', async () => {
    const pod = (await kubectlJson<PodList>(['get', 'pods', '-l', 'app=web'])).items.find((p) => !p.metadata?.deletionTimestamp)!;
    const name = pod.metadata!.name!;
    const ready = pod.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.status).toBe('True');
    const t = Date.now();
    // What MarkPodsNotReady does to the pods of a node whose heartbeats stopped.
    await kubectl(['patch', 'pod', name, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } })]);
    const back = await eventually('the agent to set Ready=True again', async () => {
      const p = await kubectlJson<Pod>(['get', 'pod', name]);
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    }, 30_000);
    timings.statusRestoredMs = Date.now() - t;
    expect(back.status?.conditions?.find((c) => c.type === 'Ready')).toEqual(ready);
    // One write, not a loop: the agent's copy now matches the apiserver's, so a later change
    // by someone else that leaves the status alone (a label) makes it write nothing.
    await sleep(2_000);
    await kubectl(['label', 'pod', name, 'skiff.test/touched=yes']);
    await sleep(3_000);
    const patches = readAuditEvents(cp!.auditLogPath).filter((e) => e.user.username === NODE_USER && e.verb === 'patch' && e.objectRef?.name === name && e.objectRef.subresource === 'status' && Date.parse(e.stageTimestamp ?? '') >= t);
    if (patches.length !== 1) console.warn(JSON.stringify(await kubectlJson<Pod>(['get', 'pod', name]), null, 1));
    expect(patches).toHaveLength(1);
  });

  it('reads EndpointSlices in discovery.k8s.io/v1beta1 as system:kube-proxy, chosen through discovery', () => {
    const events = readAuditEvents(cp!.auditLogPath);
    const byProxy = events.filter((e) => e.user.username === PROXY_USER);
    const slices = byProxy.filter((e) => e.requestURI.startsWith('/apis/discovery.k8s.io/v1beta1/endpointslices'));
    // (The watch that follows is long-running: the apiserver writes its audit event when it ends.)
    expect(slices.filter((e) => e.verb === 'list' && e.responseStatus?.code === 200).length).toBeGreaterThan(0);
    // Discovery was asked (the group and its versions), and no v1 path (1.21+) was ever tried.
    expect(byProxy.some((e) => e.requestURI === '/apis/discovery.k8s.io' || e.requestURI.startsWith('/apis/discovery.k8s.io/v1beta1?') || e.requestURI === '/apis/discovery.k8s.io/v1beta1')).toBe(true);
    expect(events.filter((e) => e.requestURI.startsWith('/apis/discovery.k8s.io/v1/endpointslices')).map((e) => `${e.user.username} ${e.requestURI}`)).toEqual([]);
    // The node's own identity never reached for EndpointSlices or Endpoints (it may not list them).
    expect(events.filter((e) => e.user.username === NODE_USER && /endpoint/.test(e.objectRef?.resource ?? '')).map((e) => e.requestURI)).toEqual([]);
    expect(readFileSync(node!.agentLog, 'utf8')).toMatch(/"endpointSource":"discovery\.k8s\.io\/v1beta1"/);
  });

  it('keeps a Secret used as env var and as a volume out of every log line and Event (and reads ConfigMaps the same way)', async () => {
    const value = `s3cr3t-${randomBytes(12).toString('hex')}`;
    await kubectl(['create', 'secret', 'generic', 'creds', `--from-literal=token=${value}`]);
    await kubectl(['create', 'configmap', 'settings', '--from-literal=mode=fast']);
    const pod = `
apiVersion: v1
kind: Pod
metadata: {name: uses-secret, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: docker.io/library/busybox:1.29
    # Exits (and so restarts) unless the env vars and the files carry the values.
    command: [sh, -c, '[ -n "$TOKEN" ] && [ "$TOKEN" = "$(cat /etc/creds/token)" ] && [ "$MODE" = fast ] && [ "$(cat /etc/settings/mode)" = fast ] || exit 3; exec sleep 3600']
    env:
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    volumeMounts:
    - {name: creds, mountPath: /etc/creds, readOnly: true}
    - {name: settings, mountPath: /etc/settings}
  volumes:
  - {name: creds, secret: {secretName: creds}}
  - {name: settings, configMap: {name: settings}}
`;
    await kubectl(['apply', '-f', '-'], { input: pod });
    const p = await eventually('the secret pod to be Ready', async () => {
      const x = await kubectlJson<Pod>(['get', 'pod', 'uses-secret']);
      return x.status?.conditions?.find((k) => k.type === 'Ready')?.status === 'True' ? x : undefined;
    });
    expect(p.status?.containerStatuses?.[0].restartCount).toBe(0);
    // A missing key is reported by name (never by value) in an Event and in the log.
    await kubectl(['apply', '-f', '-'], { input: pod.replace('uses-secret', 'bad-key').replace('key: token}', 'key: nope}') });
    await eventually('CreateContainerConfigError for the missing key', async () => {
      const x = await kubectlJson<Pod>(['get', 'pod', 'bad-key']);
      return x.status?.containerStatuses?.[0].state?.waiting?.reason === 'CreateContainerConfigError';
    });
    await kubectl(['delete', 'pod', 'uses-secret', 'bad-key', '--wait=true', '--timeout=60s'], { timeoutMs: 90_000 });

    const events = await kubectlJson<EventList>(['get', 'events', '-A']);
    expect(events.items.length).toBeGreaterThan(0);
    expect(events.items.some((e) => e.involvedObject.name === 'bad-key' && /nope/.test(e.message ?? ''))).toBe(true);
    const leaking = events.items.filter((e) => JSON.stringify(e).includes(value)).map((e) => `${e.reason}: ${e.message}`);
    expect(leaking).toEqual([]);
    const log = readFileSync(node!.agentLog, 'utf8');
    expect(log.length).toBeGreaterThan(0);
    expect(log.includes(value), 'the secret value appears in the agent log').toBe(false);
    expect(log.includes(Buffer.from(value).toString('base64')), 'the base64 secret value appears in the agent log').toBe(false);
  });

  it('writes its private keys with mode 0600', () => {
    const pki = join(node!.rootDir, 'pki');
    const keys = readdirSync(pki).filter((f) => f.endsWith('.key'));
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect({ key: k, mode: (statSync(join(pki, k)).mode & 0o777).toString(8) }).toEqual({ key: k, mode: '600' });
    expect(statSync(pki).mode & 0o077).toBe(0);
    // No key file anywhere else under the root dir is readable by others either.
    const stray = walk(node!.rootDir).filter((f) => /\.(key|pem)$/.test(f) && (statSync(f).mode & 0o077) !== 0);
    expect(stray).toEqual([]);
  });

  it('was refused nothing: no 401 or 403 for the node or the proxy identity in the audit log', async () => {
    // Let a few more heartbeats, status updates and watch restarts happen first.
    await sleep(5_000);
    const events = readAuditEvents(cp!.auditLogPath);
    const byNode = events.filter((e) => e.user.username === NODE_USER);
    expect(byNode.length).toBeGreaterThan(20);
    // Every kind of request the node makes is in the sample.
    const seen = new Set(byNode.map((e) => `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`));
    // (Watches are long-running: the apiserver writes their audit events when they end.)
    for (const k of ['create nodes', 'get nodes', 'patch nodes/status', 'list nodes', 'create leases', 'update leases', 'list pods', 'patch pods/status', 'delete pods', 'get secrets', 'get configmaps', 'create events', 'list services', 'create subjectaccessreviews']) {
      expect([...seen], k).toContain(k);
    }
    expect(refusedRequests(events, [NODE_USER, PROXY_USER])).toEqual([]);
  });
});

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** What a torn-down node must not leave: mounts under its state dir, shims, the bridge, nft tables. */
async function leftovers(n: TestNetns, dir: string): Promise<string[]> {
  const left: string[] = [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(` ${dir}/`));
  if (mounts.length) left.push(`mounts: ${mounts.map((m) => m.split(' ')[4]).join(', ')}`);
  const links = await n.exec('ip', ['-o', 'link', 'show']).catch(() => '');
  if (/\bcni0\b/.test(links)) left.push('bridge cni0');
  if (/veth/.test(links)) left.push('veth devices');
  const tables = (await n.exec('nft', ['list', 'tables']).catch(() => '')).trim();
  if (tables) left.push(`nft tables: ${tables.replace(/\n/g, ', ')}`);
  try {
    const shims = execFileSync('pgrep', ['-f', `containerd-shim.*${dir}`], { encoding: 'utf8' }).trim();
    if (shims) left.push(`shim processes: ${shims.replace(/\n/g, ' ')}`);
  } catch {
    /* pgrep: none */
  }
  if (existsSync(join(dir, 'n', 'containerd', 'containerd.sock'))) left.push('containerd socket');
  return left;
}
