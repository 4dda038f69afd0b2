/**
 * A real Kubernetes 1.20 control plane for end-to-end tests: Debian's etcd plus the
 * kube-apiserver, kube-scheduler and kube-controller-manager that
 * `test/reference/build-kubernetes.sh` builds from Debian's source package.
 *
 * The setup is the one MACHINE.md records as working here, in kubeadm's shape: x509 client
 * authentication with one CA, `Node,RBAC` authorization, the NodeRestriction admission plugin,
 * a service-account key pair, node CIDR allocation and CSR signing in the controller-manager,
 * and an audit log of every request at Metadata level (the end-to-end tests read it to check
 * that the apiserver refused nothing our agent asked).
 *
 * ```
 * startRealControlPlane()
 *   pki ─→ etcd ─→ /health ─→ kube-apiserver ─→ /readyz ─┬→ kube-scheduler ─────────┬→ default SA ─→ ready
 *                                                         └→ kube-controller-manager ┘
 * stop(): scheduler, controller-manager, apiserver (SIGTERM, SIGKILL after 15 s) ─→ etcd
 * ```
 *
 * Every process runs inside `netns` when one is given (`ip netns exec`), under
 * `setpriv --pdeathsig KILL` when setpriv exists, so that nothing outlives the test process
 * even when it is killed; an `exit` hook kills them too.
 *
 * {@link startRealKubelet} adds the reference kubelet as a node, on a containerd the caller
 * started (cluster/containerd), to check the reference end to end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnavailableError, errorMessage } from '../../lib/errors.js';
import { buildKubeconfig } from '../../lib/kube/index.js';
import type { Logger } from '../../lib/log.js';
import { createCA, issueCertificate, writeCertKeyPair, type CertKeyPair } from '../../lib/pki/index.js';
import type { TestNetns } from './netns.js';
import { freePorts } from './free-ports.js';

/** The Kubernetes version the reference binaries are built at. */
export const REFERENCE_KUBERNETES_VERSION = 'v1.20.2';

/**
 * Where `test/reference/build-kubernetes.sh` installs the reference binaries:
 * `${SKIFF_CACHE:-/var/cache/skiff}/kubernetes-v1.20.2/bin`.
 */
export function referenceBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SKIFF_CACHE || '/var/cache/skiff', `kubernetes-${REFERENCE_KUBERNETES_VERSION}`, 'bin');
}

/** The binaries {@link startRealControlPlane} runs from `binDir`. */
export const CONTROL_PLANE_BINARIES = ['kube-apiserver', 'kube-scheduler', 'kube-controller-manager'] as const;

/**
 * Why a real control plane cannot start here (reference binaries not built, etcd or curl
 * missing), or `undefined` when it can.
 */
export function realControlPlaneSkipReason(binDir = referenceBinDir()): string | undefined {
  const missing = CONTROL_PLANE_BINARIES.filter((b) => !existsSync(join(binDir, b)));
  if (missing.length > 0) {
    return `reference Kubernetes binaries not built (${missing.join(', ')} missing in ${binDir}); run test/reference/build-kubernetes.sh`;
  }
  for (const tool of ['etcd', 'curl']) {
    if (!which(tool)) return `${tool} not found on PATH (Debian package ${tool === 'etcd' ? 'etcd-server' : 'curl'})`;
  }
  return undefined;
}

/** Options of {@link startRealControlPlane}. */
export interface RealControlPlaneOptions {
  /** Directory holding kube-apiserver, kube-scheduler and kube-controller-manager; see {@link referenceBinDir}. */
  binDir: string;
  /** Everything the control plane writes goes here: pki/, etcd/, logs/, kubeconfigs, audit log. */
  stateDir: string;
  logger?: Logger;
  /** Run every process inside this network namespace. */
  netns?: TestNetns;
  /**
   * The apiserver's advertised address (the `kubernetes` Service endpoint, and the host of
   * {@link RealControlPlane.server}). Must not be loopback: the apiserver refuses to publish
   * a loopback endpoint.
   */
  advertiseAddress: string;
  /** `--bind-address` of the apiserver; default `0.0.0.0`. */
  bindAddress?: string;
  /** The apiserver's secure port; default a free one. */
  securePort?: number;
  /** Default `10.96.0.0/16`. */
  serviceCidr?: string;
  /** Default `10.244.0.0/16`; nodes get a /24 each. */
  clusterCidr?: string;
  /** Appended to the apiserver's command line (later flags win). */
  extraApiserverFlags?: string[];
  /** The etcd binary; default `etcd` from PATH (Debian's etcd-server). */
  etcdBinary?: string;
  /** How long to wait for readiness; default 240 s (builds and tests share 2 cores). */
  startTimeoutMs?: number;
}

/** One process of the control plane. */
export interface ControlPlaneProcess {
  readonly name: 'etcd' | 'kube-apiserver' | 'kube-scheduler' | 'kube-controller-manager';
  readonly pid: number;
  readonly logPath: string;
}

/** A running control plane. */
export interface RealControlPlane {
  /** `https://<advertiseAddress>:<securePort>`. Inside `netns` when one was given. */
  readonly server: string;
  readonly securePort: number;
  /** Path of a kubeconfig for `kubernetes-admin` (O=system:masters). */
  readonly adminKubeconfig: string;
  /** The cluster CA (PEM); it signs the serving cert and every client cert. */
  readonly caPem: string;
  /** Paths of the CA certificate and key (a kubelet's `--client-ca-file`, or to sign more certs). */
  readonly caCertPath: string;
  readonly caKeyPath: string;
  /** The apiserver's audit log: one JSON `audit.k8s.io/v1` Event per line; see {@link readAuditEvents}. */
  readonly auditLogPath: string;
  /** `http://127.0.0.1:<port>` (inside `netns` when one was given). */
  readonly etcdUrl: string;
  readonly serviceCidr: string;
  readonly clusterCidr: string;
  /** Directory of the processes' logs (`<name>.log`). */
  readonly logDir: string;
  /** The processes, in start order. */
  readonly processes: readonly ControlPlaneProcess[];
  /**
   * GETs an API path (`/api/v1/nodes/x`) as the admin, over the apiserver's loopback address
   * (run inside `netns` when one was given, with curl). `status` is 0 when nothing answered.
   */
  adminGet(path: string): Promise<{ status: number; body: string }>;
  /**
   * Issues a client certificate `O=system:nodes, CN=system:node:<nodeName>` and writes a
   * kubeconfig for it; returns the kubeconfig's path. `server` defaults to {@link server}.
   */
  issueNodeKubeconfig(nodeName: string, opts?: { server?: string }): string;
  /**
   * A kubeconfig for any x509 identity signed by the cluster CA (`CN=user`, `O=groups`), e.g.
   * `system:kube-proxy`, which the default `system:node-proxier` binding authorizes.
   */
  issueKubeconfig(user: string, groups: string[], opts?: { server?: string }): string;
  /**
   * Stops kube-apiserver alone (SIGTERM, SIGKILL after 15 s), for outage tests: etcd, the
   * scheduler and the controller-manager keep running (and keep retrying). Safe to call twice.
   */
  stopApiserver(): Promise<void>;
  /**
   * Starts kube-apiserver again with the same flags (its log is appended to) and waits for
   * `/readyz`; a no-op when it is running. {@link processes} then lists the new pid.
   */
  startApiserver(opts?: { timeoutMs?: number }): Promise<void>;
  /** Stops everything (SIGTERM, then SIGKILL after a grace period). Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts etcd, kube-apiserver, kube-scheduler and kube-controller-manager; see the module comment. */
export async function startRealControlPlane(opts: RealControlPlaneOptions): Promise<RealControlPlane> {
  const serviceCidr = opts.serviceCidr ?? '10.96.0.0/16';
  const clusterCidr = opts.clusterCidr ?? '10.244.0.0/16';
  const timeoutMs = opts.startTimeoutMs ?? 240_000;
  const deadline = Date.now() + timeoutMs;
  const log = opts.logger;
  const dirs = {
    pki: join(opts.stateDir, 'pki'),
    etcd: join(opts.stateDir, 'etcd'),
    logs: join(opts.stateDir, 'logs'),
    kubeconfigs: join(opts.stateDir, 'kubeconfigs'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  for (const b of CONTROL_PLANE_BINARIES) {
    if (!existsSync(join(opts.binDir, b))) throw new UnavailableError(`${b} not found in ${opts.binDir}; run test/reference/build-kubernetes.sh`);
  }

  const ports = await freePorts(5, opts.securePort);
  const [etcdClientPort, etcdPeerPort, schedulerPort, kcmPort] = ports;
  const securePort = opts.securePort ?? ports[4];
  const server = `https://${hostPort(opts.advertiseAddress, securePort)}`;
  const bindAddress = opts.bindAddress ?? '0.0.0.0';
  // Where the colocated scheduler, controller-manager and readiness probes reach the apiserver.
  const localHost = ['0.0.0.0', '::', '127.0.0.1'].includes(bindAddress) ? '127.0.0.1' : bindAddress;
  const localServer = `https://${hostPort(localHost, securePort)}`;
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;

  // --- PKI (kubeadm's names) ---
  const pki = buildPki(dirs.pki, [opts.advertiseAddress, localHost], firstServiceIP(serviceCidr));
  const kubeconfig = (name: string, pair: CertKeyPair, url: string): string => {
    const path = join(dirs.kubeconfigs, `${name}.conf`);
    writeFileSync(path, buildKubeconfig({ server: url, caPem: pki.ca.certPem, certPem: pair.certPem, keyPem: pair.keyPem, clusterName: 'kubernetes', userName: name, contextName: name }), { mode: 0o600 });
    return path;
  };
  const adminKubeconfig = kubeconfig('admin', pki.admin, server);
  const schedulerKubeconfig = kubeconfig('scheduler', pki.scheduler, localServer);
  const kcmKubeconfig = kubeconfig('controller-manager', pki.controllerManager, localServer);

  const auditPolicy = join(opts.stateDir, 'audit-policy.yaml');
  writeFileSync(auditPolicy, AUDIT_POLICY);
  const auditLogPath = join(opts.stateDir, 'audit.log');

  const procs = new ProcessGroup(dirs.logs, opts.netns, log);
  const started: ControlPlaneProcess[] = [];
  const fail = async (err: unknown): Promise<never> => {
    await procs.stopAll();
    throw err;
  };
  const curl = (path: string): Promise<{ status: number; body: string }> =>
    curlGet(opts.netns, `${localServer}${path}`, pki.paths);

  try {
    // --- etcd ---
    const peer = `http://127.0.0.1:${etcdPeerPort}`;
    started.push(procs.launch('etcd', opts.etcdBinary ?? 'etcd', [
      '--name=skiff',
      `--data-dir=${dirs.etcd}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=skiff=${peer}`,
      '--initial-cluster-state=new',
      '--log-level=warn',
      '--logger=zap',
    ]));
    await waitFor('etcd /health', deadline, procs, async () => {
      const r = await curlPlain(opts.netns, `${etcdUrl}/health`);
      return r.status === 200 && r.body.includes('true');
    });

    // --- kube-apiserver ---
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--advertise-address=${opts.advertiseAddress}`,
      `--bind-address=${bindAddress}`,
      `--secure-port=${securePort}`,
      '--insecure-port=0',
      `--tls-cert-file=${pki.paths.apiserverCrt}`,
      `--tls-private-key-file=${pki.paths.apiserverKey}`,
      `--client-ca-file=${pki.paths.caCrt}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.paths.kubeletClientCrt}`,
      `--kubelet-client-key=${pki.paths.kubeletClientKey}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--service-cluster-ip-range=${serviceCidr}`,
      `--service-account-key-file=${pki.paths.saPub}`,
      `--service-account-signing-key-file=${pki.paths.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      // The aggregation layer's front proxy, as kubeadm sets it up (also silences the
      // "missing requestheader-client-ca-file" errors of every delegated authenticator).
      `--requestheader-client-ca-file=${pki.paths.frontProxyCaCrt}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.paths.frontProxyClientCrt}`,
      `--proxy-client-key-file=${pki.paths.frontProxyClientKey}`,
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath}`,
      '--audit-log-format=json',
      '--profiling=false',
      '--v=1',
      ...(opts.extraApiserverFlags ?? []),
    ];
    started.push(procs.launch('kube-apiserver', join(opts.binDir, 'kube-apiserver'), apiserverArgs));
    await waitFor('kube-apiserver /readyz', deadline, procs, async () => (await curl('/readyz')).status === 200);

    // --- kube-scheduler, kube-controller-manager ---
    // --port=0 turns off the 1.20 insecure ports (10251/10252), and the secure ports are
    // free ones, so several control planes (and other sessions) can share the host.
    started.push(procs.launch('kube-scheduler', join(opts.binDir, 'kube-scheduler'), [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      '--port=0',
      '--leader-elect=false',
      '--v=1',
    ]));
    started.push(procs.launch('kube-controller-manager', join(opts.binDir, 'kube-controller-manager'), [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--port=0',
      '--leader-elect=false',
      '--controllers=*,bootstrapsigner,tokencleaner',
      '--allocate-node-cidrs=true',
      `--cluster-cidr=${clusterCidr}`,
      '--node-cidr-mask-size=24',
      `--service-cluster-ip-range=${serviceCidr}`,
      '--use-service-account-credentials=true',
      `--root-ca-file=${pki.paths.caCrt}`,
      `--service-account-private-key-file=${pki.paths.saKey}`,
      `--cluster-signing-cert-file=${pki.paths.caCrt}`,
      `--cluster-signing-key-file=${pki.paths.caKey}`,
      '--v=1',
    ]));
    // The token controller and the service-account controller (both in the
    // controller-manager) have run once the default ServiceAccount exists.
    await waitFor('the default ServiceAccount', deadline, procs, async () =>
      (await curl('/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
  } catch (err) {
    return fail(err);
  }
  log?.info({ server, stateDir: opts.stateDir }, 'real control plane ready');

  let stopping: Promise<void> | undefined;
  return {
    server,
    securePort,
    adminKubeconfig,
    caPem: pki.ca.certPem,
    caCertPath: pki.paths.caCrt,
    caKeyPath: pki.paths.caKey,
    auditLogPath,
    etcdUrl,
    serviceCidr,
    clusterCidr,
    logDir: dirs.logs,
    processes: started,
    adminGet: curl,
    issueNodeKubeconfig(nodeName, o) {
      const pair = issueCertificate(pki.ca, { commonName: `system:node:${nodeName}`, organization: ['system:nodes'], usages: ['clientAuth'] });
      writeCertKeyPair(dirs.pki, `node-${nodeName}`, pair);
      return kubeconfig(`node-${nodeName}`, pair, o?.server ?? server);
    },
    issueKubeconfig(user, groups, o) {
      const file = user.replace(/[^a-zA-Z0-9.-]/g, '_');
      const pair = issueCertificate(pki.ca, { commonName: user, organization: groups, usages: ['clientAuth'] });
      writeCertKeyPair(dirs.pki, `user-${file}`, pair);
      return kubeconfig(`user-${file}`, pair, o?.server ?? server);
    },
    async stopApiserver() {
      await procs.stop('kube-apiserver');
    },
    async startApiserver(o) {
      if (procs.isRunning('kube-apiserver')) return;
      const relaunched = procs.relaunch('kube-apiserver');
      const i = started.findIndex((p) => p.name === 'kube-apiserver');
      if (i >= 0) started[i] = relaunched;
      await waitFor('kube-apiserver /readyz (restarted)', Date.now() + (o?.timeoutMs ?? 120_000), procs, async () => (await curl('/readyz')).status === 200);
    },
    stop() {
      stopping ??= procs.stopAll();
      return stopping;
    },
  };
}

/** One `audit.k8s.io/v1` Event, the fields the tests use. */
export interface AuditEvent {
  auditID: string;
  stage: string;
  /** When the stage was reached (RFC 3339 with microseconds). */
  stageTimestamp?: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { code?: number; status?: string; reason?: string; message?: string };
  annotations?: Record<string, string>;
}

/**
 * Requests by `users` that the apiserver refused (401/403), as
 * `verb URI → code (user): message` (the Status message, else the authorizer's reason).
 */
export function refusedRequests(events: readonly AuditEvent[], users: readonly string[]): string[] {
  return events
    .filter((e) => users.includes(e.user.username) && (e.responseStatus?.code === 401 || e.responseStatus?.code === 403))
    .map((e) => `${e.verb} ${e.requestURI} → ${e.responseStatus?.code} (${e.user.username}): ${e.responseStatus?.message ?? e.annotations?.['authorization.k8s.io/reason'] ?? ''}`);
}

/** Reads the audit log (JSON lines); a torn last line (still being written) is skipped. */
export function readAuditEvents(auditLogPath: string): AuditEvent[] {
  if (!existsSync(auditLogPath)) return [];
  const events: AuditEvent[] = [];
  for (const line of readFileSync(auditLogPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      /* torn line */
    }
  }
  return events;
}

// Every request at Metadata level; RequestReceived is dropped, so each request appears once
// when it completes (ResponseComplete), or twice for long-running ones (ResponseStarted).
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

interface PkiPaths {
  caCrt: string;
  caKey: string;
  apiserverCrt: string;
  apiserverKey: string;
  kubeletClientCrt: string;
  kubeletClientKey: string;
  adminCrt: string;
  adminKey: string;
  saKey: string;
  saPub: string;
  frontProxyCaCrt: string;
  frontProxyClientCrt: string;
  frontProxyClientKey: string;
}

function buildPki(dir: string, addresses: string[], serviceIP: string): {
  ca: CertKeyPair;
  admin: CertKeyPair;
  scheduler: CertKeyPair;
  controllerManager: CertKeyPair;
  paths: PkiPaths;
} {
  const ca = createCA({ commonName: 'kubernetes' });
  const apiserver = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: [...new Set(['127.0.0.1', ...addresses, serviceIP])],
    usages: ['serverAuth'],
  });
  const kubeletClient = issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organization: ['system:masters'], usages: ['clientAuth'] });
  const admin = issueCertificate(ca, { commonName: 'kubernetes-admin', organization: ['system:masters'], usages: ['clientAuth'] });
  const scheduler = issueCertificate(ca, { commonName: 'system:kube-scheduler', usages: ['clientAuth'] });
  const controllerManager = issueCertificate(ca, { commonName: 'system:kube-controller-manager', usages: ['clientAuth'] });
  writeCertKeyPair(dir, 'ca', ca);
  writeCertKeyPair(dir, 'apiserver', apiserver);
  writeCertKeyPair(dir, 'apiserver-kubelet-client', kubeletClient);
  writeCertKeyPair(dir, 'admin', admin);
  writeCertKeyPair(dir, 'scheduler', scheduler);
  writeCertKeyPair(dir, 'controller-manager', controllerManager);
  const frontProxyCa = createCA({ commonName: 'front-proxy-ca' });
  writeCertKeyPair(dir, 'front-proxy-ca', frontProxyCa);
  writeCertKeyPair(dir, 'front-proxy-client', issueCertificate(frontProxyCa, { commonName: 'front-proxy-client', usages: ['clientAuth'] }));
  // The service-account key pair, as kubeadm makes it: RSA 2048, PKCS#1 private key and
  // PKIX public key, which every 1.20 flag that takes one reads.
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  const p = (n: string): string => join(dir, n);
  return {
    ca,
    admin,
    scheduler,
    controllerManager,
    paths: {
      caCrt: p('ca.crt'),
      caKey: p('ca.key'),
      apiserverCrt: p('apiserver.crt'),
      apiserverKey: p('apiserver.key'),
      kubeletClientCrt: p('apiserver-kubelet-client.crt'),
      kubeletClientKey: p('apiserver-kubelet-client.key'),
      adminCrt: p('admin.crt'),
      adminKey: p('admin.key'),
      saKey,
      saPub,
      frontProxyCaCrt: p('front-proxy-ca.crt'),
      frontProxyClientCrt: p('front-proxy-client.crt'),
      frontProxyClientKey: p('front-proxy-client.key'),
    },
  };
}

/** The first address of an IPv4 CIDR plus one (the `kubernetes` Service's ClusterIP). */
function firstServiceIP(cidr: string): string {
  const [base] = cidr.split('/');
  const parts = base.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new UnavailableError(`serviceCidr ${cidr}: only IPv4 CIDRs are supported by this harness`);
  }
  const n = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
  const m = n + 1;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}


function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const HAS_SETPRIV = which('setpriv');

// Children of every live group, killed synchronously if the test process exits first.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveChildren) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

interface Running {
  name: ControlPlaneProcess['name'] | 'kubelet';
  cmd: string;
  args: string[];
  direct: boolean;
  /** Stopped on purpose ({@link ProcessGroup.stop}): not a dead process for {@link waitFor}. */
  stoppedOnPurpose?: boolean;
  child: ChildProcess;
  logPath: string;
  exited: Promise<void>;
  exitInfo?: string;
}

/** Processes started in order, stopped in reverse order, with their logs in files. */
class ProcessGroup {
  private readonly running: Running[] = [];
  constructor(
    private readonly logDir: string,
    private readonly netns: TestNetns | undefined,
    private readonly log: Logger | undefined,
  ) {
    installExitHook();
  }

  /**
   * Starts `cmd args` with output to `<logDir>/<name>.log`, inside the group's netns (via
   * `ip netns exec`) unless `direct` (the command enters namespaces itself).
   */
  launch<N extends Running['name']>(name: N, cmd: string, args: string[], direct = false): { name: N; pid: number; logPath: string } {
    const logPath = join(this.logDir, `${name}.log`);
    const fd = openSync(logPath, 'a', 0o600);
    // pdeathsig: the kernel kills the child when the test process dies, even by SIGKILL.
    // `ip netns exec` execs (no fork), so the signal reaches the real process.
    const argv = HAS_SETPRIV ? ['setpriv', '--pdeathsig', 'KILL', '--', cmd, ...args] : [cmd, ...args];
    const stdio: ['ignore', number, number] = ['ignore', fd, fd];
    let child: ChildProcess;
    try {
      child = this.netns && !direct ? this.netns.spawn(argv[0], argv.slice(1), { stdio }) : spawn(argv[0], argv.slice(1), { stdio });
    } finally {
      closeSync(fd);
    }
    const r: Running = { name, cmd, args, direct, child, logPath, exited: Promise.resolve() };
    r.exited = new Promise<void>((resolve) => {
      const done = (info: string): void => {
        r.exitInfo ??= info;
        liveChildren.delete(child);
        resolve();
      };
      child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
      child.once('error', (err) => done(`failed to start: ${errorMessage(err)}`));
    });
    liveChildren.add(child);
    this.running.push(r);
    this.log?.debug({ name, pid: child.pid, logPath }, 'control plane process started');
    return { name, pid: child.pid ?? -1, logPath };
  }

  /** True when the newest process called `name` is running. */
  isRunning(name: Running['name']): boolean {
    const r = this.newest(name);
    return r !== undefined && r.exitInfo === undefined;
  }

  /** Stops the newest process called `name` on purpose (it no longer counts as dead). */
  async stop(name: Running['name']): Promise<void> {
    const r = this.newest(name);
    if (!r) return;
    r.stoppedOnPurpose = true;
    await stopOne(r);
  }

  /** Starts `name` again with the command line it was first launched with. */
  relaunch<N extends Running['name']>(name: N): { name: N; pid: number; logPath: string } {
    const r = this.newest(name);
    if (!r) throw new UnavailableError(`relaunch: ${name} was never started`);
    return this.launch(name, r.cmd, r.args, r.direct);
  }

  private newest(name: Running['name']): Running | undefined {
    return [...this.running].reverse().find((p) => p.name === name);
  }

  /** The first process that has exited, with the tail of its log. */
  deadProcess(): string | undefined {
    const r = this.running.find((p) => p.exitInfo !== undefined && !p.stoppedOnPurpose);
    if (!r) return undefined;
    return `${r.name} ${r.exitInfo}; last lines of ${r.logPath}:\n${tail(r.logPath, 25)}`;
  }

  /** Same as {@link waitFor}'s check for an early exit, for one process of the group. */
  exitInfo(pid: number): string | undefined {
    return this.running.find((r) => r.child.pid === pid)?.exitInfo;
  }

  /** SIGTERM in reverse start order (etcd last), SIGKILL after 15 s. */
  async stopAll(): Promise<void> {
    const order = [...this.running].reverse();
    const etcd = order.filter((r) => r.name === 'etcd');
    const rest = order.filter((r) => r.name !== 'etcd');
    await Promise.all(rest.map((r) => stopOne(r)));
    await Promise.all(etcd.map((r) => stopOne(r)));
  }
}

async function stopOne(r: Running): Promise<void> {
  if (r.exitInfo !== undefined) return;
  r.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((res) => {
    timer = setTimeout(() => {
      r.child.kill('SIGKILL');
      res();
    }, 15_000);
  });
  await Promise.race([r.exited, killed]);
  clearTimeout(timer);
  await r.exited;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(what: string, deadline: number, procs: ProcessGroup, check: () => Promise<boolean>): Promise<void> {
  let last = '';
  for (;;) {
    const dead = procs.deadProcess();
    if (dead) throw new UnavailableError(`real control plane: waiting for ${what}: ${dead}`);
    try {
      if (await check()) return;
      last = 'not ready';
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() > deadline) throw new UnavailableError(`real control plane: timed out waiting for ${what} (${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * GETs a URL with curl, inside the namespace when there is one (the apiserver and etcd may
 * listen only there). Resolves with the HTTP status (0 when nothing answered).
 */
function curlGet(netns: TestNetns | undefined, url: string, paths: PkiPaths): Promise<{ status: number; body: string }> {
  return curlRun(netns, ['--cacert', paths.caCrt, '--cert', paths.adminCrt, '--key', paths.adminKey, url]);
}

function curlPlain(netns: TestNetns | undefined, url: string): Promise<{ status: number; body: string }> {
  return curlRun(netns, [url]);
}

function curlRun(netns: TestNetns | undefined, args: string[]): Promise<{ status: number; body: string }> {
  const argv = ['-sS', '--max-time', '5', '-w', '\n%{http_code}', ...args];
  return new Promise((resolve) => {
    const child = netns ? netns.spawn('curl', argv, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('curl', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr?.resume();
    const finish = (): void => {
      const i = out.lastIndexOf('\n');
      const status = Number(out.slice(i + 1)) || 0;
      resolve({ status, body: i >= 0 ? out.slice(0, i) : '' });
    };
    child.once('close', finish);
    child.once('error', () => resolve({ status: 0, body: '' }));
  });
}

// ---------------------------------------------------------------------------------------
// The real kubelet 1.20 (optional): a node of the reference cluster, on a containerd.
// ---------------------------------------------------------------------------------------

/** Options of {@link startRealKubelet}. */
export interface RealKubeletOptions {
  /** Directory holding `kubelet` (the reference build). */
  binDir: string;
  controlPlane: RealControlPlane;
  nodeName: string;
  /** The kubelet's root dir, config, kubeconfig and log go here. */
  stateDir: string;
  /** The node's network namespace (the kubelet writes iptables chains and reads sysctls there). */
  netns: TestNetns;
  /** `--node-ip`; default `netns.nodeIP`. */
  nodeIP?: string;
  /** CRI endpoint, e.g. `unix:///…/containerd.sock`. The runtime must use the cgroupfs driver. */
  containerRuntimeEndpoint: string;
  /** Default: the tenth address of the service CIDR (10.96.0.10). */
  clusterDNS?: string;
  /** Appended to the kubelet's command line. */
  extraFlags?: string[];
  logger?: Logger;
  /** How long to wait for the Node to be Ready; default 180 s. */
  readyTimeoutMs?: number;
}

/** A running reference kubelet. */
export interface RealKubelet {
  readonly nodeName: string;
  readonly pid: number;
  readonly logPath: string;
  /** `--root-dir`. */
  readonly rootDir: string;
  /** The node's kubeconfig (`system:node:<nodeName>`). */
  readonly kubeconfig: string;
  /** The cgroup (cgroupfs path) under which the kubelet puts `kubepods`. */
  readonly cgroupRoot: string;
  /**
   * Stops the kubelet (SIGTERM, then SIGKILL), unmounts what it mounted under its root dir,
   * and removes its cgroups, killing any process still in them. Delete the node's pods first
   * for a clean containerd. Safe to call twice.
   */
  stop(): Promise<void>;
}

// What kubelet 1.20's setupKernelTunables (protectKernelDefaults=false) writes.
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/**
 * Starts the reference kubelet against `controlPlane`, on an already running containerd, and
 * waits for its Node to be Ready.
 *
 * Isolation from the host (deviations from a node's kubelet, for tests only):
 * - It runs in `netns` through `nsenter --net` (not `ip netns exec`, which also unshares the
 *   mount namespace), then `unshare --mount --propagation unchanged`: its root dir is made a
 *   shared bind mount first, so the volumes it mounts there propagate to the host namespace
 *   where containerd bind-mounts them into containers.
 * - In that private mount namespace, the host-wide sysctls the kubelet would rewrite
 *   (`kernel.panic`, `kernel.panic_on_oops`, `vm.overcommit_memory`…) are masked by bind
 *   mounts of files holding the values it wants, so the host keeps its own.
 * - `cgroupRoot` is a fresh `/skiff-ref-<random>` in every cgroup v1 hierarchy, so its
 *   `kubepods` tree cannot collide with another kubelet's; `stop()` removes it.
 */
export async function startRealKubelet(opts: RealKubeletOptions): Promise<RealKubelet> {
  const cp = opts.controlPlane;
  const log = opts.logger;
  const nodeIP = opts.nodeIP ?? opts.netns.nodeIP;
  if (!nodeIP) throw new UnavailableError('startRealKubelet: no nodeIP (give one, or a netns with an uplink)');
  const kubeletBin = join(opts.binDir, 'kubelet');
  if (!existsSync(kubeletBin)) throw new UnavailableError(`kubelet not found in ${opts.binDir}; run test/reference/build-kubernetes.sh`);
  const rootDir = join(opts.stateDir, 'root');
  const logDir = join(opts.stateDir, 'logs');
  const maskDir = join(opts.stateDir, 'sysctl-masks');
  for (const d of [rootDir, logDir, maskDir, join(opts.stateDir, 'volume-plugins')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const cgroupRoot = `/skiff-ref-${randomSuffix()}`;
  const kubeconfig = cp.issueNodeKubeconfig(opts.nodeName);

  const cleanups: (() => Promise<void> | void)[] = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log?.warn({ err: errorMessage(err) }, 'real kubelet cleanup step failed');
      }
    }
  };
  const procs = new ProcessGroup(logDir, undefined, log);

  try {
    // The root dir as a shared mount (see above).
    mustRun('mount', ['--bind', rootDir, rootDir]);
    cleanups.push(() => unmountUnder(rootDir));
    mustRun('mount', ['--make-shared', rootDir]);

    createCgroups(cgroupRoot);
    cleanups.push(() => removeCgroups(cgroupRoot, log));

    const masks: string[] = [];
    for (const [key, want] of Object.entries(KUBELET_SYSCTLS)) {
      const host = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
      if (host === want) continue;
      const file = join(maskDir, key.replace(/\//g, '.'));
      writeFileSync(file, `${want}\n`);
      masks.push(file, `/proc/sys/${key}`);
    }

    const configPath = join(opts.stateDir, 'kubelet-config.yaml');
    writeFileSync(configPath, kubeletConfig({
      caCertPath: cp.caCertPath,
      cgroupRoot,
      clusterDNS: opts.clusterDNS ?? nthServiceIP(cp.serviceCidr, 10),
      volumePluginDir: join(opts.stateDir, 'volume-plugins'),
    }));

    const kubeletArgs = [
      kubeletBin,
      `--config=${configPath}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${rootDir}`,
      '--container-runtime=remote',
      `--container-runtime-endpoint=${opts.containerRuntimeEndpoint}`,
      `--node-ip=${nodeIP}`,
      `--hostname-override=${opts.nodeName}`,
      '--v=2',
      ...(opts.extraFlags ?? []),
    ];
    // sh binds each mask over its sysctl inside the new mount namespace, then execs the
    // kubelet (same pid all the way: nsenter, unshare and sh all exec).
    const script = 'while [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"';
    const launched = procs.launch('kubelet', 'nsenter', [
      `--net=/run/netns/${opts.netns.name}`, '--',
      'unshare', '--mount', '--propagation', 'unchanged', '--',
      'sh', '-c', script, 'skiff-kubelet', ...masks, '--', ...kubeletArgs,
    ], true);
    cleanups.push(() => removePodLogDirs(launched.logPath));
    cleanups.push(() => procs.stopAll());

    const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
    await waitFor(`node ${opts.nodeName} Ready`, deadline, procs, async () => {
      const r = await cp.adminGet(`/api/v1/nodes/${opts.nodeName}`);
      if (r.status !== 200) return false;
      const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    log?.info({ node: opts.nodeName, pid: launched.pid }, 'real kubelet ready');

    let stopping: Promise<void> | undefined;
    return {
      nodeName: opts.nodeName,
      pid: launched.pid,
      logPath: launched.logPath,
      rootDir,
      kubeconfig,
      cgroupRoot,
      stop() {
        stopping ??= runCleanups();
        return stopping;
      },
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

function kubeletConfig(c: { caCertPath: string; cgroupRoot: string; clusterDNS: string; volumePluginDir: string }): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${JSON.stringify(c.caCertPath)}
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: ${JSON.stringify(c.cgroupRoot)}
clusterDNS: [${JSON.stringify(c.clusterDNS)}]
clusterDomain: cluster.local
readOnlyPort: 0
failSwapOn: false
rotateCertificates: false
serverTLSBootstrap: false
volumePluginDir: ${JSON.stringify(c.volumePluginDir)}
# The host's disk is shared with builds and other tests: evict only when really short.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 5%
  imagefs.available: 5%
# Never garbage-collect the offline images (there is no registry to pull them back from).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`;
}

/**
 * Kubelet 1.20 keeps container logs in the host-wide /var/log/pods (not under its root dir),
 * and removes a pod's directory only some time after the pod is gone. Remove what is left of
 * the pods this kubelet ran: their UIDs are in its `SyncLoop (ADD…` log lines.
 */
function removePodLogDirs(kubeletLog: string): void {
  let text: string;
  try {
    text = readFileSync(kubeletLog, 'utf8');
  } catch {
    return;
  }
  const uids = new Set([...text.matchAll(/SyncLoop \(ADD, "api"\): "(.*?)"/g)].flatMap((m) => [...m[1].matchAll(/\(([0-9a-f-]{36})\)/g)].map((u) => u[1])));
  if (uids.size === 0 || !existsSync('/var/log/pods')) return;
  for (const entry of readdirSync('/var/log/pods')) {
    const uid = entry.slice(entry.lastIndexOf('_') + 1);
    if (uids.has(uid)) rmSync(join('/var/log/pods', entry), { recursive: true, force: true });
  }
}

/** The n-th address of an IPv4 CIDR (n=1 is the `kubernetes` Service, n=10 cluster DNS). */
function nthServiceIP(cidr: string, n: number): string {
  const first = firstServiceIP(cidr).split('.').map(Number);
  const v = (((first[0] << 24) | (first[1] << 16) | (first[2] << 8) | first[3]) >>> 0) + n - 1;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

function randomSuffix(): string {
  return Math.random().toString(16).slice(2, 10);
}

function mustRun(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new UnavailableError(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Unmounts every mount point at or below `dir`, deepest first (lazily when busy). */
function unmountUnder(dir: string): void {
  const base = dir.replace(/\/+$/, '');
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === base || m.startsWith(`${base}/`))
    .sort((a, b) => b.split('/').length - a.split('/').length);
  for (const m of points) {
    if (spawnSync('umount', [m]).status !== 0) spawnSync('umount', ['-l', m]);
  }
}

/** The cgroup v1 hierarchies the kubelet checks (and the rest, which runc also joins). */
function cgroupV1Mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup /.test(l))
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m);
}

function createCgroups(root: string): void {
  for (const mount of cgroupV1Mounts()) {
    const dir = join(mount, root);
    mkdirSync(dir, { recursive: true });
    // A new v1 cpuset starts with no CPUs and no memory nodes: inherit the parent's.
    if (existsSync(join(dir, 'cpuset.cpus'))) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(mount, f), 'utf8'));
    }
  }
}

function removeCgroups(root: string, log?: Logger): void {
  for (const mount of cgroupV1Mounts()) {
    const top = join(mount, root);
    if (!existsSync(top)) continue;
    // Depth-first: children before parents; kill what is still inside first.
    const dirs: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) {
      try {
        for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* no procs file */
      }
      for (let i = 0; i < 20; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (i === 19) log?.warn({ cgroup: d, err: errorMessage(err) }, 'could not remove cgroup');
          else sleepSync(100);
        }
      }
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
