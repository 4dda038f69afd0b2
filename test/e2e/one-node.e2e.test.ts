/**
 * Issue 2's end-to-end test: `skiff up` with real kubectl, in a network namespace.
 * A Deployment of two busybox httpd replicas behind a Service: both endpoints answer on the
 * ClusterIP from the node and from a pod; the agent is killed and restarted halfway and no
 * container is restarted; scale to 0 and back; delete; `skiff down` leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod, PodList, Service } from 'kubernetes-types/core/v1.js';
import { eventually, sleep } from '../support/eventually.js';
import { startUpCluster, upClusterSkipReason, type UpCluster } from '../support/up-cluster.js';

const skip = upClusterSkipReason();
let c: UpCluster;
let leftovers: string[] | undefined;

const APP = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: httpd
        image: docker.io/library/busybox:1.29
        command: [sh, -c]
        args: ['mkdir -p /www && hostname > /www/index.html && exec httpd -f -v -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

async function webPods(): Promise<Pod[]> {
  const list = await c.kubectlJson<PodList>(['get', 'pods', '-l', 'app=web']);
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function clusterIP(): Promise<string> {
  const svc = await c.kubectlJson<Service>(['get', 'service', 'web']);
  return svc.spec!.clusterIP!;
}

/** curl the VIP `n` times from the node; returns the set of pod hostnames that answered. */
async function hitsFromNode(vip: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const body = (await c.exec('curl', ['-s', '--max-time', '3', `http://${vip}/`])).trim();
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

describe.skipIf(!!skip)('one-node cluster end to end (skiff up + kubectl)', () => {
  beforeAll(async () => {
    c = await startUpCluster();
  });
  afterAll(async () => {
    if (c) leftovers = await c.down();
  });

  it('registers a Ready node with version, OS, kernel and runtime', async () => {
    const wide = await c.kubectl(['get', 'nodes', '-o', 'wide']);
    expect(wide).toMatch(/skiff-e2e\s+Ready/);
    expect(wide).toMatch(/containerd:\/\/1\.6/);
    expect(wide).toMatch(/v1\.32\.\d/);
  });

  it('runs a Deployment of two httpd replicas and its Service answers from both endpoints', async () => {
    await c.kubectl(['apply', '-f', '-'], { input: APP });
    await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s'], { timeoutMs: 200_000 });
    const pods = await webPods();
    expect(pods).toHaveLength(2);
    const names = pods.map((p) => p.metadata!.name!).sort();
    const vip = await clusterIP();
    const seen = await eventually('both endpoints to answer on the ClusterIP', async () => {
      const s = await hitsFromNode(vip, 30);
      return [...s.keys()].sort().join(',') === names.join(',') ? s : undefined;
    });
    expect([...seen.keys()].sort()).toEqual(names);
  });

  it('reaches the ClusterIP from a pod too (service environment variables, pod → VIP → pods)', async () => {
    const client = `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: docker.io/library/busybox:1.29
    command: [sh, -c, 'for i in $(seq 1 30); do wget -qO- http://$WEB_SERVICE_HOST:$WEB_SERVICE_PORT/; done']
`;
    await c.kubectl(['apply', '-f', '-'], { input: client });
    await eventually('the client pod to finish', async () => (await c.kubectlJson<Pod>(['get', 'pod', 'client'])).status?.phase === 'Succeeded');
    const logs = await c.kubectl(['logs', 'client']);
    const names = (await webPods()).map((p) => p.metadata!.name!).sort();
    const answered = new Set(logs.split('\n').map((l) => l.trim()).filter(Boolean));
    expect([...answered].sort()).toEqual(names);
    await c.kubectl(['delete', 'pod', 'client', '--wait=true']);
  });

  it('serves kubectl logs (--tail, and -f following new lines) through the agent', async () => {
    const pods = await webPods();
    const logs = await c.kubectl(['logs', pods[0].metadata!.name!, '--tail=5']);
    const lines = logs.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    // Follow both pods' logs while requests arrive: new access-log lines must stream out.
    const admin = c.record().adminKubeconfig;
    const follow = c.exec('timeout', ['6', 'kubectl', '--kubeconfig', admin, 'logs', '-f', '--tail=0', '-l', 'app=web', '--prefix']).catch((err: { stdout?: string }) => err.stdout ?? '');
    await sleep(2000);
    await hitsFromNode(await clusterIP(), 10);
    const followed = await follow;
    expect(followed).toMatch(/response:200/);
  });

  it('survives an agent restart: same containers, same restart counts, still serving', async () => {
    const before = await webPods();
    const ids = (ps: Pod[]): string[] =>
      ps.map((p) => `${p.metadata!.name}:${p.status!.containerStatuses![0].containerID}:${p.status!.containerStatuses![0].restartCount}`).sort();
    const oldPid = c.record().pids.agent!;
    process.kill(oldPid, 'SIGKILL');
    await eventually('the supervisor to restart the agent', async () => {
      const pid = c.record().pids.agent;
      return pid && pid !== oldPid ? pid : undefined;
    });
    // Give the new agent time to adopt and report; status must stay consistent throughout.
    await sleep(8000);
    const after = await webPods();
    expect(ids(after)).toEqual(ids(before));
    for (const p of after) expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    const seen = await hitsFromNode(await clusterIP(), 20);
    expect(seen.size).toBe(2);
    expect(c.log('agent.log')).toMatch(/adopt/i);
  });

  it('scales to 0 (the VIP rejects) and back to 2', async () => {
    await c.kubectl(['scale', 'deployment/web', '--replicas=0']);
    await eventually('all web pods to be gone', async () => (await c.kubectlJson<PodList>(['get', 'pods', '-l', 'app=web'])).items.length === 0);
    const vip = await clusterIP();
    await eventually('the VIP to refuse connections', async () => {
      try {
        await c.exec('curl', ['-s', '--max-time', '3', `http://${vip}/`]);
        return false;
      } catch (err) {
        // curl exit 7: connection refused (TCP reset from the reject rule), not a 3 s timeout (28).
        return (err as { code?: unknown }).code === 7;
      }
    }, 30_000);
    await c.kubectl(['scale', 'deployment/web', '--replicas=2']);
    await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s'], { timeoutMs: 200_000 });
    const seen = await eventually('both new endpoints to answer', async () => {
      const s = await hitsFromNode(vip, 20);
      return s.size === 2 ? s : undefined;
    });
    expect(seen.size).toBe(2);
  });

  it('deletes the Deployment and Service; pods and rules go away', async () => {
    const vip = await clusterIP();
    await c.kubectl(['delete', '-f', '-', '--wait=true'], { input: APP, timeoutMs: 180_000 });
    await eventually('all web pods to be gone', async () => (await c.kubectlJson<PodList>(['get', 'pods', '-l', 'app=web'])).items.length === 0);
    await eventually('the VIP to leave the ruleset', async () => !(await c.exec('nft', ['list', 'table', 'ip', 'skiff'])).includes(vip), 15_000);
  });

  it('skiff down leaves no containers, mounts, bridges or nft tables behind', async () => {
    leftovers = await c.down();
    c = undefined as unknown as UpCluster;
    expect(leftovers).toEqual([]);
  });
});
