/**
 * The control plane's PKI under `<state-dir>/pki`, in kubeadm's layout: `ca.crt/key`, the
 * apiserver serving pair (`apiserver.crt/key`) and its client pair towards kubelets
 * (`apiserver-kubelet-client.crt/key`), plus kubeconfigs with embedded client certificates
 * (`admin.conf` for `kubernetes-admin`/`system:masters`, node kubeconfigs for
 * `system:node:<name>`/`system:nodes`). Existing files are reused while still valid.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { buildKubeconfig } from '../../lib/kube/kubeconfig.js';
import { createCA, isSignedBy, isUsable, issueCertificate, readCertKeyPair, writeCertKeyPair, type CertKeyPair } from '../../lib/pki/index.js';

/** The certificates the apiserver runs with. */
export interface ControlPlanePki {
  dir: string;
  ca: CertKeyPair;
  apiserver: CertKeyPair;
  kubeletClient: CertKeyPair;
}

/** What the serving certificate must cover. */
export interface ServingNames {
  advertiseAddress: string;
  /** The `kubernetes` Service's ClusterIP (first address of the service range). */
  serviceIP: string;
  extraDnsNames?: string[];
  extraIPs?: string[];
  /** Cluster domain; default `cluster.local`. */
  clusterDomain?: string;
}

function covers(pair: CertKeyPair, dns: string[], ips: string[]): boolean {
  const x = new X509Certificate(pair.certPem);
  return dns.every((d) => x.checkHost(d, { wildcards: false }) !== undefined) && ips.every((ip) => x.checkIP(ip) !== undefined);
}

/** Loads or creates the CA and the apiserver's pairs. */
export function ensureControlPlanePki(stateDir: string, names: ServingNames): ControlPlanePki {
  const dir = join(stateDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = readCertKeyPair(dir, 'ca');
  let caNew = false;
  if (!ca || !isUsable(ca, new Date(), 30)) {
    ca = createCA({ commonName: 'kubernetes' });
    writeCertKeyPair(dir, 'ca', ca);
    caNew = true;
  }
  const domain = names.clusterDomain ?? 'cluster.local';
  const dns = [...new Set(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${domain}`, hostname(), ...(names.extraDnsNames ?? [])])];
  const ips = [...new Set(['127.0.0.1', names.serviceIP, names.advertiseAddress, ...(names.extraIPs ?? [])])];
  const valid = (p: CertKeyPair | undefined): p is CertKeyPair => !!p && !caNew && isUsable(p) && isSignedBy(p.certPem, ca!.certPem);
  let apiserver = readCertKeyPair(dir, 'apiserver');
  if (!valid(apiserver) || !covers(apiserver, dns, ips)) {
    apiserver = issueCertificate(ca, { commonName: 'kube-apiserver', dnsNames: dns, ipAddresses: ips, usages: ['serverAuth'] });
    writeCertKeyPair(dir, 'apiserver', apiserver);
  }
  let kubeletClient = readCertKeyPair(dir, 'apiserver-kubelet-client');
  if (!valid(kubeletClient)) {
    kubeletClient = issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organization: ['system:masters'], usages: ['clientAuth'] });
    writeCertKeyPair(dir, 'apiserver-kubelet-client', kubeletClient);
  }
  return { dir, ca, apiserver, kubeletClient };
}

/** A kubeconfig (v1 Config) with an embedded client certificate, as YAML. */
export function kubeconfigYaml(opts: { server: string; caPem: string; user: string; client: CertKeyPair; cluster?: string }): string {
  const cluster = opts.cluster ?? 'skiff';
  return buildKubeconfig({
    server: opts.server,
    caPem: opts.caPem,
    certPem: opts.client.certPem,
    keyPem: opts.client.keyPem,
    clusterName: cluster,
    userName: opts.user,
    contextName: `${opts.user}@${cluster}`,
  });
}

/** Writes a file atomically with mode 0600. */
export function writePrivateFile(file: string, data: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Issues a client certificate signed by the control plane CA and returns a kubeconfig for it. */
export function clientKubeconfig(stateDir: string, server: string, user: string, groups: string[]): string {
  const dir = join(stateDir, 'pki');
  const ca = readCertKeyPair(dir, 'ca');
  if (!ca) throw new Error(`no CA in ${dir}: start the control plane once first`);
  const client = issueCertificate(ca, { commonName: user, organization: groups, usages: ['clientAuth'] });
  return kubeconfigYaml({ server, caPem: ca.certPem, user, client });
}

/** `<state-dir>/admin.conf`: `kubernetes-admin` in `system:masters`. Returns its path. */
export function writeAdminKubeconfig(stateDir: string, server: string): string {
  const file = join(stateDir, 'admin.conf');
  writePrivateFile(file, clientKubeconfig(stateDir, server, 'kubernetes-admin', ['system:masters']));
  return file;
}

/**
 * A kubeconfig for a node's agent: `system:node:<name>` in `system:nodes`, signed by the
 * control plane CA in `<stateDir>/pki`. Written to `outFile` (mode 0600) when given; the
 * YAML is returned either way.
 */
export function writeNodeKubeconfig(stateDir: string, nodeName: string, server: string, outFile?: string): string {
  const yaml = clientKubeconfig(stateDir, server, `system:node:${nodeName}`, ['system:nodes']);
  if (outFile) writePrivateFile(outFile, yaml);
  return yaml;
}
