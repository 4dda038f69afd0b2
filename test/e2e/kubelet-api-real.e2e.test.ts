/**
 * Issue 3, the kubelet API through the real kube-apiserver 1.20.2 (`Node,RBAC`,
 * NodeRestriction; built by test/reference/build-kubernetes.sh) with a Skiff node in kubelet's
 * default `authorization.mode: Webhook`, driven by real kubectl 1.32. The same checks as against
 * the companion (`kubelet-api.checks.ts`); here the SubjectAccessReviews go to RBAC, so the
 * apiserver's kubelet client (`system:masters`) is allowed and a certificate for a user without
 * any binding gets kubelet's 403.
 *
 * kube-apiserver 1.20 predates the WebSocket→SPDY translation (1.30+): it hands kubectl's
 * WebSocket upgrade to the kubelet unchanged, containerd 1.6 refuses `v5.channel.k8s.io` with
 * 403, and kubectl falls back to SPDY, which all three pass through.
 *
 * `SKIFF_KEEP_STATE=1` keeps the state dir (logs, audit log, PKI) for a post-mortem.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createNetns, type TestNetns } from '../support/netns.js';
import { referenceBinDir, startRealControlPlane, type RealControlPlane } from '../support/realcluster.js';
import { realControlPlaneAccess, realNodeSkipReason } from '../support/real-node.js';
import { startSkiffNode, type SkiffNode } from '../support/skiff-node.js';
import { kubeletApiChecks } from './kubelet-api.checks.js';

const NODE = 'skiff-kapi-real';
const binDir = referenceBinDir();

const skip = realNodeSkipReason(binDir, () => (existsSync('/usr/bin/python3') ? undefined : 'missing /usr/bin/python3 (drives kubectl in a pty)'));
if (skip) console.warn(`kubelet-api-real.e2e.test.ts skipped: ${skip}`);

let ns: TestNetns | undefined;
let cp: RealControlPlane | undefined;
let node: SkiffNode | undefined;
let stateDir: string | undefined;

describe.skipIf(!!skip)('kubelet API through the real kube-apiserver 1.20 (Node,RBAC) + kubectl 1.32', () => {
  beforeAll(async () => {
    // Short path: containerd's socket must fit in a unix socket address.
    stateDir = mkdtempSync('/tmp/sk-ka-');
    ns = await createNetns({ prefix: 'skiff-e2e', uplinkIP: '172.30.251.2' });
    cp = await startRealControlPlane({ binDir, stateDir: join(stateDir, 'cp'), netns: ns, advertiseAddress: ns.nodeIP! });
    node = await startSkiffNode({
      controlPlane: realControlPlaneAccess(cp),
      netns: ns,
      nodeName: NODE,
      stateDir: join(stateDir, 'n'),
      clusterCidr: cp.clusterCidr,
      authorizationMode: 'Webhook',
      // Its own cgroup root: another node's orphan cleanup must not see these pods.
      cgroupRoot: '/skiff-kapi-real',
      readyTimeoutMs: 180_000,
    });
  });

  afterAll(async () => {
    const problems: string[] = [];
    try {
      if (node) problems.push(...(await node.stop()));
    } finally {
      await cp?.stop();
      await ns?.destroy();
      if (stateDir && !process.env.SKIFF_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
      else if (stateDir) console.warn(`kubelet-api-real e2e state kept in ${stateDir}`);
    }
    expect(problems, 'left behind').toEqual([]);
  });

  kubeletApiChecks(() => ({
    ns: ns!,
    nodeName: NODE,
    nodeIP: ns!.nodeIP!,
    kubeconfig: cp!.adminKubeconfig,
    caCertFile: cp!.caCertPath,
    caKeyFile: cp!.caKeyPath,
    kubeletClientCertFile: join(stateDir!, 'cp', 'pki', 'apiserver-kubelet-client.crt'),
    kubeletClientKeyFile: join(stateDir!, 'cp', 'pki', 'apiserver-kubelet-client.key'),
    workDir: stateDir!,
  }));
});
