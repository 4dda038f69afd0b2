import { afterEach, describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { Deployments, Pods, ReplicaSets } from '../../../lib/kube/resources.js';
import { listPods, setPodRunning, settle, startHarness, waitFor, type Harness } from '../testing/harness.js';

const deploy = (name: string, replicas: number, extra: Partial<Deployment['spec']> = {}, image = 'nginx:1.25'): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
    ...extra,
  },
});

/** kubectl's DeploymentStatusViewer (kubectl rollout status). */
function rolloutStatus(d: Deployment): { msg: string; done: boolean } {
  const name = d.metadata?.name;
  const s = d.status ?? {};
  if ((d.metadata?.generation ?? 0) <= (s.observedGeneration ?? 0)) {
    const cond = s.conditions?.find((c) => c.type === 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return { msg: `deployment "${name}" exceeded its progress deadline`, done: false };
    const want = d.spec?.replicas ?? 1;
    if ((s.updatedReplicas ?? 0) < want) return { msg: `Waiting for deployment "${name}" rollout to finish: ${s.updatedReplicas ?? 0} out of ${want} new replicas have been updated...`, done: false };
    if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return { msg: `Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas are pending termination...`, done: false };
    if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) return { msg: `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas ?? 0} of ${s.updatedReplicas ?? 0} updated replicas are available...`, done: false };
    return { msg: `deployment "${name}" successfully rolled out`, done: true };
  }
  return { msg: 'Waiting for deployment spec update to be observed...', done: false };
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

let ipSeq = 10;
async function readyAll(h: Harness, selector = 'app=web'): Promise<number> {
  let n = 0;
  for (const p of await listPods(h.client, 'default', selector)) {
    if (p.metadata?.deletionTimestamp) continue;
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    await setPodRunning(h.client, h.clock, p, true, `10.244.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`);
    n++;
  }
  return n;
}

async function getD(h: Harness, name = 'web'): Promise<Deployment> {
  return h.client.get<Deployment>(Deployments, 'default', name);
}

async function replicaSets(h: Harness): Promise<ReplicaSet[]> {
  return (await h.client.list<ReplicaSet>(ReplicaSets, { namespace: 'default' })).items.sort(
    (a, b) => Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0) - Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
  );
}

async function waitRolledOut(h: Harness, name = 'web'): Promise<Deployment> {
  return waitFor(`rollout of ${name}`, async () => {
    await readyAll(h, `app=${name}`);
    const d = await getD(h, name);
    return rolloutStatus(d).done ? d : undefined;
  });
}

async function setImage(h: Harness, image: string, name = 'web'): Promise<void> {
  await h.client.patch(Deployments, 'default', name, 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
}

/** Waits until the controllers stop changing ReplicaSets and pods. */
async function quiesce(h: Harness): Promise<void> {
  let last = '';
  let stable = 0;
  await waitFor('quiet', async () => {
    const rss = await replicaSets(h);
    const pods = await listPods(h.client);
    const snap = JSON.stringify([rss.map((r) => [r.metadata?.name, r.spec?.replicas, r.status]), pods.map((p) => [p.metadata?.name, p.metadata?.deletionTimestamp])]);
    stable = snap === last ? stable + 1 : 0;
    last = snap;
    return stable >= 3;
  });
}

describe('Deployment controller', () => {
  it('creates a ReplicaSet with revision 1 and reports what kubectl rollout status needs', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 3));
    const rs = await waitFor('replica set', async () => (await replicaSets(h!))[0]);
    expect(rs.metadata?.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    const hash = rs.metadata?.labels?.['pod-template-hash'];
    expect(rs.metadata?.name).toBe(`web-${hash}`);
    expect(rs.spec?.selector?.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata?.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(rs.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true, blockOwnerDeletion: true });
    await waitFor('3 pods', async () => (await listPods(h!.client)).length === 3);
    const pending = await waitFor('status', async () => {
      const d = await getD(h!);
      return d.status?.replicas === 3 ? d : undefined;
    });
    expect(rolloutStatus(pending).msg).toBe('Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...');
    expect(pending.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    expect(pending.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    const d = await waitRolledOut(h);
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status?.unavailableReplicas).toBeUndefined();
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.Available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    expect(conds.Progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs.metadata?.name}" has successfully progressed.` });
    expect(h.events.events.find((e) => e.reason === 'ScalingReplicaSet')).toMatchObject({ type: 'Normal', message: `Scaled up replica set ${rs.metadata?.name} to 3` });
  });

  it('rolls out a template change within maxSurge and maxUnavailable', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await waitRolledOut(h);
    const [oldRs] = await replicaSets(h);
    await setImage(h, 'nginx:1.26');
    const newRs = await waitFor('new RS', async () => (await replicaSets(h!)).find((r) => r.metadata?.uid !== oldRs.metadata?.uid));
    expect(newRs.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    const observed: string[] = [];
    for (let step = 0; step < 20; step++) {
      await quiesce(h);
      const rss = await replicaSets(h);
      const o = rss.find((r) => r.metadata?.uid === oldRs.metadata?.uid)!;
      const n = rss.find((r) => r.metadata?.uid === newRs.metadata?.uid)!;
      const total = (o.spec?.replicas ?? 0) + (n.spec?.replicas ?? 0);
      const available = (o.status?.availableReplicas ?? 0) + (n.status?.availableReplicas ?? 0);
      observed.push(`${o.spec?.replicas}/${n.spec?.replicas}`);
      expect(total).toBeLessThanOrEqual(5); // replicas + maxSurge
      expect(available).toBeGreaterThanOrEqual(3); // replicas - maxUnavailable
      const d = await getD(h);
      if (rolloutStatus(d).done) break;
      await readyAll(h);
    }
    const d = await getD(h);
    expect(rolloutStatus(d)).toEqual({ msg: 'deployment "web" successfully rolled out', done: true });
    expect(observed[0]).toBe('3/2');
    expect(observed.at(-1)).toBe('0/4');
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status).toMatchObject({ replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    const msgs = h.events.events.filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);
    expect(msgs).toContain(`Scaled down replica set ${oldRs.metadata?.name} to 3 from 4`);
  });

  it('scales to zero and back', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 2));
    await waitRolledOut(h);
    await h.client.patch(Deployments, 'default', 'web', 'merge', { spec: { replicas: 0 } });
    await waitFor('no pods', async () => (await listPods(h!.client)).length === 0);
    const d0 = await waitFor('status 0', async () => {
      const d = await getD(h!);
      return rolloutStatus(d).done && !d.status?.replicas ? d : undefined;
    });
    expect(d0.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    const [rs] = await replicaSets(h);
    expect(rs.spec?.replicas).toBe(0);
    await h.client.patch(Deployments, 'default', 'web', 'merge', { spec: { replicas: 3 } });
    const d = await waitRolledOut(h);
    expect(d.status?.availableReplicas).toBe(3);
    expect((await replicaSets(h)).length).toBe(1);
  });

  it('scales proportionally during a rollout', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 10, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } } }));
    await waitRolledOut(h);
    await setImage(h, 'nginx:1.26');
    await quiesce(h);
    let rss = await replicaSets(h);
    expect(rss.map((r) => r.spec?.replicas)).toEqual([8, 5]);
    await h.client.patch(Deployments, 'default', 'web', 'merge', { spec: { replicas: 20 } });
    await waitFor('scaled', async () => (await replicaSets(h!)).reduce((n, r) => n + (r.spec?.replicas ?? 0), 0) === 23);
    rss = await replicaSets(h);
    // 13 replicas at max-replicas 13 become 23 at 23: both grow in proportion (8→14, 5→9).
    expect(rss.map((r) => r.spec?.replicas)).toEqual([14, 9]);
    expect(rss.every((r) => r.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'] === '20')).toBe(true);
    await waitRolledOut(h);
  });

  it('keeps revisionHistoryLimit old ReplicaSets and rolls back to an old template', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 1, { revisionHistoryLimit: 1 }));
    await waitRolledOut(h);
    const [rev1] = await replicaSets(h);
    for (const img of ['nginx:1.26', 'nginx:1.27']) {
      await setImage(h, img);
      await waitFor('observed', async () => (await getD(h!)).status?.observedGeneration === (await getD(h!)).metadata?.generation);
      await waitRolledOut(h);
    }
    await waitFor('history trimmed to 1 old RS', async () => (await replicaSets(h!)).length === 2);
    const names = (await replicaSets(h)).map((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision']);
    expect(names).toEqual(['2', '3']);
    expect((await replicaSets(h)).some((r) => r.metadata?.uid === rev1.metadata?.uid)).toBe(false);
    // Roll back to revision 2's template (what `kubectl rollout undo` writes).
    await setImage(h, 'nginx:1.26');
    const d = await waitRolledOut(h);
    const rss = await replicaSets(h);
    expect(rss.length).toBe(2);
    const back = rss.find((r) => r.spec?.template?.spec?.containers?.[0].image === 'nginx:1.26')!;
    expect(back.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    expect(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history']).toBe('2');
    expect(back.spec?.replicas).toBe(1);
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
  });

  it('Recreate scales old pods away before creating new ones', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 2, { strategy: { type: 'Recreate' } }));
    await waitRolledOut(h);
    // Bind the pods so their deletion is graceful (a kubelet has to finish it).
    for (const p of await listPods(h.client)) {
      await h.client.createSubresource(Pods, 'default', p.metadata!.name!, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata!.name }, target: { kind: 'Node', name: 'n1' } });
    }
    await setImage(h, 'nginx:1.26');
    await waitFor('old pods terminating', async () => (await listPods(h!.client)).every((p) => p.metadata?.deletionTimestamp));
    await settle(50);
    expect((await replicaSets(h)).length).toBe(1);
    for (const p of await listPods(h.client)) await h.client.delete(Pods, 'default', p.metadata!.name!, { gracePeriodSeconds: 0 });
    const d = await waitRolledOut(h);
    const rss = await replicaSets(h);
    expect(rss.map((r) => r.spec?.replicas)).toEqual([0, 2]);
    expect(d.status?.updatedReplicas).toBe(2);
  });

  it('does not roll out while paused, and says so', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 1));
    await waitRolledOut(h);
    await h.client.patch(Deployments, 'default', 'web', 'merge', { spec: { paused: true } });
    await setImage(h, 'nginx:1.26');
    const d = await waitFor('paused condition', async () => {
      const x = await getD(h!);
      const c = x.status?.conditions?.find((c) => c.type === 'Progressing');
      return c?.reason === 'DeploymentPaused' && x.status?.observedGeneration === x.metadata?.generation ? x : undefined;
    });
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'Unknown', message: 'Deployment is paused' });
    await settle(50);
    expect((await replicaSets(h)).length).toBe(1);
    await h.client.patch(Deployments, 'default', 'web', 'merge', { spec: { paused: false } });
    await waitFor('new RS', async () => (await replicaSets(h!)).length === 2);
    await waitRolledOut(h);
  });

  it('reports ProgressDeadlineExceeded when pods never become ready', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 1, { progressDeadlineSeconds: 30 }));
    await waitFor('pod', async () => (await listPods(h!.client)).length === 1);
    const d = await waitFor(
      'deadline exceeded',
      async () => {
        const x = await getD(h!);
        return x.status?.conditions?.some((c) => c.reason === 'ProgressDeadlineExceeded') ? x : undefined;
      },
      { clock: h.clock, stepMs: 2000 },
    );
    const rs = (await replicaSets(h))[0];
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      message: `ReplicaSet "${rs.metadata?.name}" has timed out progressing.`,
    });
    expect(rolloutStatus(d).msg).toBe('deployment "web" exceeded its progress deadline');
  });

  it('waits for minReadySeconds before counting pods available', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 2, { minReadySeconds: 5 }));
    await waitFor('2 pods', async () => (await listPods(h!.client)).length === 2);
    await readyAll(h);
    await waitFor('ready', async () => (await getD(h!)).status?.readyReplicas === 2);
    expect(rolloutStatus(await getD(h)).done).toBe(false);
    const rs = (await replicaSets(h))[0];
    expect(rs.spec?.minReadySeconds).toBe(5);
    await waitFor('available', async () => rolloutStatus(await getD(h!)).done, { clock: h.clock, stepMs: 1000 });
  });

  it('adopts an orphan ReplicaSet that matches its template', async () => {
    h = await startHarness({ controllers: ['replicaset', 'deployment'] });
    await h.client.create(Deployments, deploy('web', 1));
    const rs = await waitFor('rs', async () => (await replicaSets(h!))[0]);
    await waitRolledOut(h);
    // Orphan it, then let the controller adopt it back instead of creating another.
    await h.client.patch(ReplicaSets, 'default', rs.metadata!.name!, 'merge', { metadata: { ownerReferences: null } });
    await waitFor('re-adopted', async () => (await h!.client.get<ReplicaSet>(ReplicaSets, 'default', rs.metadata!.name!)).metadata?.ownerReferences?.length === 1);
    expect((await replicaSets(h)).length).toBe(1);
    void (undefined as unknown as Pod);
  });
});
