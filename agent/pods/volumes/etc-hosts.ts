/**
 * The pod's managed `/etc/hosts` (kubelet `kubelet_pods.go` `ensureHostsFile`): written to
 * `<podDir>/etc-hosts` and bind-mounted into every container at `/etc/hosts`.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostAlias, Pod } from 'kubernetes-types/core/v1.js';
import type { Mount } from '../../runtime/index.js';

/** Header of a hosts file kubelet generated for a pod network pod. */
export const MANAGED_HOSTS_HEADER = '# Kubernetes-managed hosts file.\n';
/** Header of a hosts file kubelet copied from the node for a hostNetwork pod. */
export const MANAGED_HOSTS_HEADER_HOST_NETWORK = '# Kubernetes-managed hosts file (host network).\n';
/** Where the file is mounted in containers. */
export const ETC_HOSTS_PATH = '/etc/hosts';

const HOSTNAME_MAX = 63;

/**
 * `GeneratePodHostNameAndDomain`: the pod's hostname (`spec.hostname` or the pod name, cut to
 * 63 characters without a trailing `-`/`.`) and, with `spec.subdomain`, its domain
 * `<subdomain>.<namespace>.svc.<clusterDomain>`.
 */
export function podHostnameAndDomain(pod: Pod, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = pod.spec?.hostname || pod.metadata?.name || '';
  if (hostname.length > HOSTNAME_MAX) hostname = hostname.slice(0, HOSTNAME_MAX).replace(/[-.]+$/, '');
  const sub = pod.spec?.subdomain;
  const domain = sub ? `${sub}.${pod.metadata?.namespace ?? ''}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

function hostAliasesSection(aliases: HostAlias[] | undefined): string {
  if (!aliases?.length) return '';
  let s = '\n# Entries added by HostAliases.\n';
  for (const a of aliases) s += `${a.ip ?? ''}\t${(a.hostnames ?? []).join('\t')}\n`;
  return s;
}

/** `managedHostsFileContent`: the hosts file of a pod on the pod network. */
export function managedHostsFileContent(podIPs: readonly string[], hostname: string, domain: string, aliases?: HostAlias[]): string {
  let s = MANAGED_HOSTS_HEADER;
  s += '127.0.0.1\tlocalhost\n';
  s += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  s += 'fe00::0\tip6-localnet\n';
  s += 'fe00::0\tip6-mcastprefix\n';
  s += 'fe00::1\tip6-allnodes\n';
  s += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) s += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return s + hostAliasesSection(aliases);
}

/** Options of {@link writeEtcHosts}. */
export interface EtcHostsOptions {
  /** Cluster domain for the subdomain entry; default `cluster.local`. */
  clusterDomain?: string;
  /** The node's hosts file copied for hostNetwork pods; default `/etc/hosts`. */
  nodeHostsFile?: string;
}

/**
 * Writes kubelet's managed hosts file for `pod` to `<podDir>/etc-hosts` (mode 0644, in place
 * so that running containers see the new content) and returns its path. For a hostNetwork
 * pod it is the node's hosts file under a `(host network)` header, plus the HostAliases.
 */
export async function writeEtcHosts(pod: Pod, podIPs: readonly string[], podDir: string, opts: EtcHostsOptions = {}): Promise<string> {
  const file = join(podDir, 'etc-hosts');
  let content: string;
  if (pod.spec?.hostNetwork) {
    const node = await readFile(opts.nodeHostsFile ?? ETC_HOSTS_PATH, 'utf8');
    content = MANAGED_HOSTS_HEADER_HOST_NETWORK + node + hostAliasesSection(pod.spec.hostAliases);
  } else {
    const { hostname, domain } = podHostnameAndDomain(pod, opts.clusterDomain ?? 'cluster.local');
    content = managedHostsFileContent(podIPs, hostname, domain, pod.spec?.hostAliases);
  }
  await writeFile(file, content, { mode: 0o644 });
  await chmod(file, 0o644);
  return file;
}

/** The CRI mount of the managed hosts file (kubelet's `k8s-managed-etc-hosts`). */
export function etcHostsMount(hostsFile: string): Mount {
  return { containerPath: ETC_HOSTS_PATH, hostPath: hostsFile, readonly: false, selinuxRelabel: true };
}
