/**
 * Issue 2's bad-input and fault checks on a real `skiff up` node:
 * - a pod whose image does not exist shows ErrImagePull then ImagePullBackOff, with Events,
 *   while the other pods keep running;
 * - a malformed KubeletConfiguration makes the agent exit with a message naming the field;
 * - invalid objects get a 4xx Status naming the field;
 * - a killed containerd turns the node NotReady, and when it returns the node recovers
 *   without losing a pod (same containers, same restart counts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventList, Node, Pod } from 'kubernetes-types/core/v1.js';
import { eventually } from '../support/eventually.js';
import { CLI, startUpCluster, upClusterSkipReason, type UpCluster } from '../support/up-cluster.js';

const skip = upClusterSkipReason();
let c: UpCluster | undefined;
const pod = (name: string, image: string): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: "${image}", command: [sleep, "3600"]}]
`;

const waitingReason = (p: Pod): string | undefined => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
const nodeReady = (n: Node): string | undefined => n.status?.conditions?.find((x) => x.type === 'Ready')?.status;

describe.skipIf(!!skip)('bad input and faults on a real node', () => {
  beforeAll(async () => {
    // kubelet (and Skiff) call the runtime down after 30 s without a successful status check
    // (maxWaitForContainerRuntime); restart containerd only after 60 s so that is observable.
    c = await startUpCluster({ nodeName: 'skiff-faults', uplinkIP: '172.30.254.2', extraArgs: ['--containerd-restart-delay=60'] });
    await c.kubectl(['apply', '-f', '-'], { input: pod('good', 'docker.io/library/busybox:1.29') });
    await eventually('the good pod to run', async () => (await c!.kubectlJson<Pod>(['get', 'pod', 'good'])).status?.phase === 'Running');
  });
  afterAll(async () => {
    const left = await c?.down();
    if (left?.length) throw new Error(`left behind: ${left.join('; ')}`);
  });

  it('shows ErrImagePull then ImagePullBackOff with Events for a missing image, and the other pod keeps running', async () => {
    await c!.kubectl(['apply', '-f', '-'], { input: pod('missing', 'docker.io/library/doesnotexist:1') });
    const seen = new Set<string>();
    await eventually('ErrImagePull and ImagePullBackOff', async () => {
      const r = waitingReason(await c!.kubectlJson<Pod>(['get', 'pod', 'missing']));
      if (r) seen.add(r);
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff');
    }, 90_000);
    const events = await c!.kubectlJson<EventList>(['get', 'events', '--field-selector', 'involvedObject.name=missing']);
    const reasons = events.items.map((e) => `${e.type}/${e.reason}: ${e.message}`);
    expect(reasons.some((r) => r.startsWith('Warning/Failed: Failed to pull image "docker.io/library/doesnotexist:1"'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('Normal/BackOff: Back-off pulling image') || r.startsWith('Warning/Failed: Error: ImagePullBackOff'))).toBe(true);
    const good = await c!.kubectlJson<Pod>(['get', 'pod', 'good']);
    expect(good.status?.phase).toBe('Running');
    expect(good.status?.containerStatuses?.[0].restartCount).toBe(0);
    await c!.kubectl(['delete', 'pod', 'missing', '--wait=true']);
  });

  it('rejects invalid objects with a 4xx Status that names the field', async () => {
    const bad = async (yaml: string): Promise<string> => {
      try {
        await c!.kubectl(['apply', '--validate=strict', '-f', '-'], { input: yaml });
        return '';
      } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
      }
    };
    expect(await bad(pod('Bad_Name', 'busybox:1.29'))).toMatch(/metadata\.name: Invalid value: "Bad_Name"/);
    expect(await bad(pod('typo', 'busybox:1.29').replace('containers:', 'containerz:'))).toMatch(/unknown field "spec\.containerz"/);
    expect(await bad('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: neg}\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: busybox:1.29}]}\n')).toMatch(/spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
  });

  it('refuses a malformed KubeletConfiguration with a message naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-badcfg-'));
    try {
      const cfg = join(dir, 'config.yaml');
      writeFileSync(cfg, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nnodeStatusUpdateFrequency: often\n');
      const r = spawnSync(process.execPath, [CLI, 'agent', `--config=${cfg}`, `--kubeconfig=${join(dir, 'none.conf')}`], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/field "nodeStatusUpdateFrequency": invalid duration "often"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns NotReady when containerd is killed, and recovers without losing a pod', async () => {
    const before = await c!.kubectlJson<Pod>(['get', 'pod', 'good']);
    const id = before.status!.containerStatuses![0].containerID;
    process.kill(c!.record().pids.containerd!, 'SIGKILL');
    const notReady = await eventually('the node to turn NotReady', async () => {
      const n = await c!.kubectlJson<Node>(['get', 'node', 'skiff-faults']);
      return nodeReady(n) === 'False' ? n : undefined;
    }, 50_000);
    expect(notReady.status?.conditions?.find((x) => x.type === 'Ready')?.message).toMatch(/container runtime is down/);
    await eventually('the node to be Ready again', async () => nodeReady(await c!.kubectlJson<Node>(['get', 'node', 'skiff-faults'])) === 'True', 90_000);
    const after = await eventually('the pod to report Ready again', async () => {
      const p = await c!.kubectlJson<Pod>(['get', 'pod', 'good']);
      return p.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' ? p : undefined;
    });
    expect(after.status!.containerStatuses![0].containerID).toBe(id);
    expect(after.status!.containerStatuses![0].restartCount).toBe(0);
    expect(after.metadata?.uid).toBe(before.metadata?.uid);
  });
});
