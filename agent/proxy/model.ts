/**
 * The proxy's desired model, independent of any packet-filter backend: one entry per
 * service port (`namespace/name:portName/PROTOCOL`) with its virtual IPs and its endpoints.
 * Addresses of both families live side by side in canonical text; each backend table picks
 * the family it serves.
 */

/** A Service port protocol. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One port of one Service, as the proxy needs it. */
export interface ServicePortInfo {
  /** `namespace/name:portName/PROTOCOL`; the key of everything the port owns in the ruleset. */
  key: string;
  /** `namespace/name`. */
  service: string;
  namespace: string;
  name: string;
  /** The Service's UID (for Events), when known. */
  uid?: string;
  /** The port's name (`''` when the Service has a single unnamed port). */
  portName: string;
  protocol: Protocol;
  /** The Service port (what clients connect to on a cluster IP). */
  port: number;
  /** Cluster IPs of every family (`spec.clusterIPs`, or `spec.clusterIP`), canonical, validated. */
  clusterIPs: string[];
  /** `spec.ports[].nodePort` (NodePort and LoadBalancer Services), 0 when none. */
  nodePort: number;
  /** `spec.externalIPs` (canonical; invalid ones dropped). */
  externalIPs: string[];
  /** `status.loadBalancer.ingress[].ip` (canonical). */
  loadBalancerIPs: string[];
  /** `spec.sessionAffinity`. */
  sessionAffinity: 'None' | 'ClientIP';
  /** `spec.sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800). */
  affinityTimeoutSeconds: number;
  /** `spec.internalTrafficPolicy` (default Cluster). */
  internalTrafficPolicy: 'Cluster' | 'Local';
  /** `spec.externalTrafficPolicy` (default Cluster). */
  externalTrafficPolicy: 'Cluster' | 'Local';
  /** `spec.healthCheckNodePort`, 0 when none. */
  healthCheckNodePort: number;
}

/** One endpoint of one service port. */
export interface EndpointInfo {
  /** The endpoint's address, canonical (an EndpointSlice endpoint's first address, as kube-proxy uses). */
  ip: string;
  /** The endpoint's port for this service port (named target ports are already resolved). */
  port: number;
  /** `conditions.ready` (unset counts as ready). */
  ready: boolean;
  /** `conditions.serving` (unset defers to ready). */
  serving: boolean;
  /** `conditions.terminating` (unset counts as not terminating). */
  terminating: boolean;
  /** The node hosting the endpoint, when known. */
  nodeName?: string;
  /** The endpoint's zone, when known. */
  zone?: string;
}

/** A service port with the endpoints currently known for it. */
export interface ServicePortState {
  info: ServicePortInfo;
  /** Endpoints sorted by (address, port), deduplicated. */
  endpoints: EndpointInfo[];
}
