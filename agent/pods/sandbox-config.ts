/**
 * The `PodSandboxConfig` of a pod (kubelet's `generatePodSandboxConfig`): metadata with the
 * attempt number, hostname, log directory, DNS, port mappings, labels and annotations, and
 * the Linux settings (cgroup parent, namespaces, user, sysctls).
 */
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { DNSConfig, PodSandboxConfig, PortMapping, Protocol } from '../runtime/index.js';
import { isHostNetwork } from './actions.js';
import { sandboxAnnotations, sandboxLabels } from './labels.js';
import { sandboxSecurityContext } from './security-context.js';

/** Longest hostname (64 bytes with the terminating NUL). */
export const HOSTNAME_MAX_LEN = 63;

/** The pod's hostname: `spec.hostname` or its name, cut to 63 characters without a trailing `-` or `.`. */
export function podHostname(pod: Pod): string {
  const hostname = pod.spec?.hostname || pod.metadata?.name || '';
  if (hostname.length <= HOSTNAME_MAX_LEN) return hostname;
  return hostname.slice(0, HOSTNAME_MAX_LEN).replace(/[-.]+$/, '');
}

/** The pod's domain from `spec.subdomain`: `<subdomain>.<ns>.svc.<clusterDomain>`, or ''. */
export function podHostDomain(pod: Pod, clusterDomain: string): string {
  return pod.spec?.subdomain ? `${pod.spec.subdomain}.${pod.metadata?.namespace}.svc.${clusterDomain}` : '';
}

/** `<podLogsDir>/<namespace>_<name>_<uid>` (`BuildPodLogsDirectory`). */
export function podLogDirectory(podLogsDir: string, namespace: string, name: string, uid: string): string {
  return join(podLogsDir, `${namespace}_${name}_${uid}`);
}

/** Port mappings of the pod's app containers (`MakePortMappings`), de-duplicated. */
export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  const seen = new Set<string>();
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      const m: PortMapping = {
        protocol: (p.protocol ?? 'TCP') as Protocol,
        containerPort: p.containerPort,
        hostPort: p.hostPort ?? 0,
        hostIp: p.hostIP ?? '',
      };
      const key = `${m.protocol}/${m.containerPort}/${m.hostPort}/${m.hostIp}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(m);
    }
  }
  return out;
}

/** Inputs of {@link generateSandboxConfig}. */
export interface SandboxConfigInput {
  pod: Pod;
  attempt: number;
  podLogsDir: string;
  dns?: DNSConfig;
  /** From the pod cgroup manager; omitted when cgroups per QoS are off. */
  cgroupParent?: string;
}

/** Builds the sandbox config. */
export function generateSandboxConfig(i: SandboxConfigInput): PodSandboxConfig {
  const { pod } = i;
  const md = pod.metadata ?? {};
  const cfg: PodSandboxConfig = {
    metadata: { name: md.name ?? '', namespace: md.namespace ?? '', uid: md.uid ?? '', attempt: i.attempt },
    logDirectory: podLogDirectory(i.podLogsDir, md.namespace ?? '', md.name ?? '', md.uid ?? ''),
    labels: sandboxLabels(pod),
    annotations: sandboxAnnotations(pod),
  };
  // Host-network pods keep the node's hostname (kubelet sets none for them).
  if (!isHostNetwork(pod)) cfg.hostname = podHostname(pod);
  if (i.dns) cfg.dnsConfig = i.dns;
  const ports = portMappings(pod);
  if (ports.length) cfg.portMappings = ports;
  const sysctls: Record<string, string> = {};
  for (const s of pod.spec?.securityContext?.sysctls ?? []) sysctls[s.name] = s.value;
  cfg.linux = { securityContext: sandboxSecurityContext(pod) };
  if (i.cgroupParent) cfg.linux.cgroupParent = i.cgroupParent;
  if (Object.keys(sysctls).length) cfg.linux.sysctls = sysctls;
  return cfg;
}
