/**
 * Which endpoints serve which traffic (kube-proxy's `topology.go` CategorizeEndpoints, without
 * topology hints):
 *
 * - the cluster view: ready endpoints; when none is ready, the ones that are serving and
 *   terminating (so a rolling update never leaves a window with no backend);
 * - the local view: the same choice among the endpoints on this node.
 *
 * ClusterIP traffic uses the local view when `internalTrafficPolicy: Local`, else the cluster
 * view; traffic to external addresses (NodePorts, externalIPs, load-balancer IPs) from outside
 * uses the local view when `externalTrafficPolicy: Local`.
 */
import type { EndpointInfo } from './model.js';

/** The endpoint views of one service port. */
export interface EndpointViews {
  /** Ready endpoints, or serving+terminating ones when none is ready. */
  cluster: EndpointInfo[];
  /** The same choice among endpoints whose node is this node. */
  local: EndpointInfo[];
}

/** True when the endpoint runs on `nodeName`. */
export function isLocalEndpoint(e: EndpointInfo, nodeName: string): boolean {
  return e.nodeName !== undefined && e.nodeName === nodeName;
}

function usable(eps: readonly EndpointInfo[]): EndpointInfo[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}

/** Computes both views over `eps` (already filtered to one address family). */
export function endpointViews(eps: readonly EndpointInfo[], nodeName: string): EndpointViews {
  const cluster = usable(eps);
  let anyLocal = false;
  for (const e of eps) if (isLocalEndpoint(e, nodeName)) anyLocal = true;
  const local = anyLocal ? usable(eps.filter((e) => isLocalEndpoint(e, nodeName))) : [];
  return { cluster, local };
}

/** The number of distinct local endpoint addresses that are ready (the health check's count). */
export function localReadyCount(eps: readonly EndpointInfo[], nodeName: string): number {
  const ips = new Set<string>();
  for (const e of eps) if (e.ready && isLocalEndpoint(e, nodeName)) ips.add(e.ip);
  return ips.size;
}
