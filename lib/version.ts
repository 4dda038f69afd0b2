/**
 * Skiff's own version, and the Kubernetes version it reports as a kubelet and kube-proxy.
 */

/** Skiff's release version (kept equal to `package.json`'s `version`; a unit test checks it). */
export const SKIFF_VERSION = '0.1.0';

/** The Kubernetes minor release whose kubelet behaviour Skiff follows. */
export const KUBERNETES_VERSION = 'v1.32.0';

/**
 * The version Skiff reports in `Node.status.nodeInfo.kubeletVersion` (and `kubeProxyVersion`),
 * in `/version`-style places and in its User-Agent: `v1.32.0+skiff.0.1.0`.
 *
 * Why semver *build metadata* (`+…`) and not a pre-release suffix (`-…`): kube-apiserver,
 * kubectl and the node-lifecycle/skew checks parse this string with
 * `k8s.io/apimachinery/pkg/util/version`. Build metadata is ignored for ordering, so the node
 * compares exactly as `v1.32.0` for version-skew policy, feature decisions and
 * `kubectl get nodes` sorting, while still saying what it really is. A pre-release suffix
 * (`v1.32.0-skiff`) would sort *below* `v1.32.0` and could trip skew checks. Distributions use
 * the same convention (`v1.32.0+k3s1`, `v1.32.0+rke2r1`). Build-metadata identifiers may only
 * contain `[0-9A-Za-z-]`, separated by dots, which `skiff.0.1.0` satisfies.
 */
export const KUBELET_VERSION = `${KUBERNETES_VERSION}+skiff.${SKIFF_VERSION}`;

/** The User-Agent Skiff's agent sends, shaped like client-go's (`kubelet/v1.32.0+skiff.0.1.0 (linux/amd64)`). */
export function userAgent(component = 'kubelet'): string {
  return `${component}/${KUBELET_VERSION} (linux/${goArch(process.arch)})`;
}

/** Maps Node's `process.arch` to Go's GOARCH names, as Kubernetes labels use them. */
export function goArch(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'arm':
      return 'arm';
    case 'arm64':
      return 'arm64';
    case 'ppc64':
      return 'ppc64le';
    case 's390x':
      return 's390x';
    case 'riscv64':
      return 'riscv64';
    default:
      return arch;
  }
}
