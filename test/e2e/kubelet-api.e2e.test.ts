/**
 * Issue 3, the kubelet API through the companion control plane: `skiff up` (its agent runs
 * with kubelet's defaults, webhook authentication and `authorization.mode: Webhook`, answered
 * by the companion's TokenReview and SubjectAccessReview) in a network namespace, with real
 * kubectl 1.32. The checks themselves are in `kubelet-api.checks.ts`, shared with the run
 * against kube-apiserver 1.20 (`kubelet-api-real.e2e.test.ts`).
 *
 * ```
 *   kubectl ──HTTPS──► companion apiserver ──pods/exec|attach|portforward|log, nodes/proxy──►
 *     agent :10250 (x509 ✓, SubjectAccessReview ✓ as kube-apiserver-kubelet-client)
 *       ──CRI Exec/Attach/PortForward──► containerd ──URL──► agent replays the upgrade to it
 * ```
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { startUpCluster, upClusterSkipReason, type UpCluster } from '../support/up-cluster.js';
import { kubeletApiChecks } from './kubelet-api.checks.js';
import { existsSync } from 'node:fs';

function skipReason(): string | undefined {
  return upClusterSkipReason() ?? (existsSync('/usr/bin/python3') ? undefined : 'missing /usr/bin/python3 (drives kubectl in a pty)');
}
const skip = skipReason();
if (skip) console.warn(`kubelet-api.e2e.test.ts skipped: ${skip}`);

const NODE = 'skiff-kapi';
let c: UpCluster | undefined;

describe.skipIf(!!skip)('kubelet API through the companion control plane (skiff up + kubectl 1.32)', () => {
  beforeAll(async () => {
    c = await startUpCluster({ nodeName: NODE, uplinkIP: '172.30.252.2' });
  });
  afterAll(async () => {
    if (!c) return;
    const left = await c.down();
    expect(left, 'left behind by skiff down').toEqual([]);
  });

  kubeletApiChecks(() => {
    const pki = join(c!.stateDir, 'control-plane', 'pki');
    return {
      ns: c!.ns,
      nodeName: NODE,
      nodeIP: c!.record().nodeIP,
      kubeconfig: c!.record().adminKubeconfig,
      caCertFile: join(pki, 'ca.crt'),
      caKeyFile: join(pki, 'ca.key'),
      kubeletClientCertFile: join(pki, 'apiserver-kubelet-client.crt'),
      kubeletClientKeyFile: join(pki, 'apiserver-kubelet-client.key'),
      workDir: c!.stateDir,
    };
  });
});
