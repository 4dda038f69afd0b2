/**
 * What the end-to-end tests of a Skiff node joined to the real kube-apiserver
 * (`realcluster.ts` + `skiff-node.ts`) share: why they skip, and the node's view of the
 * control plane.
 */
import { containerdTestSkipReason } from '../../cluster/containerd/index.js';
import { canUseNetns } from './netns.js';
import { realControlPlaneSkipReason, type RealControlPlane } from './realcluster.js';
import type { ControlPlaneAccess } from './skiff-node.js';
import { upClusterSkipReason } from './up-cluster.js';

/**
 * Why a Skiff node cannot run against the real control plane here, or undefined: not Linux,
 * not root, `extra()` (a test's own requirement), then `skiff up`'s, the control plane
 * binaries' (in `binDir`) and containerd's requirements, in that order.
 */
export function realNodeSkipReason(binDir: string, extra?: () => string | undefined): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (!canUseNetns()) return 'needs root';
  const own = extra?.();
  if (own) return own;
  return upClusterSkipReason() ?? realControlPlaneSkipReason(binDir) ?? containerdTestSkipReason();
}

/**
 * The node's access to `cp`: its server, CA and admin kubeconfig, node kubeconfigs issued by
 * `cp`, admin GETs from inside the netns, and a kubeconfig for the Service proxy as
 * `proxyUser` (no groups), issued now.
 */
export function realControlPlaneAccess(cp: RealControlPlane, proxyUser = 'system:kube-proxy'): ControlPlaneAccess {
  return {
    server: cp.server,
    caCertPath: cp.caCertPath,
    adminKubeconfig: cp.adminKubeconfig,
    issueNodeKubeconfig: (n) => cp.issueNodeKubeconfig(n),
    adminGet: (path) => cp.adminGet(path),
    proxyKubeconfig: cp.issueKubeconfig(proxyUser, []),
  };
}
