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
 *   pki ─→ etcd ─→ kube-apiserver ─→ /readyz ─→ kube-scheduler ─┬→ default ServiceAccount ─→ ready
 *                                               kube-controller-manager ┘
 * stop(): controller-manager, scheduler, apiserver (SIGTERM … SIGKILL) → etcd
 * ```
 *
 * Every process runs inside `netns` when one is given (`ip netns exec`), under
 * `setpriv --pdeathsig KILL` when setpriv exists, so that nothing outlives the test process
 * even when it is killed; an `exit` hook kills them too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { UnavailableError, errorMessage } from '../../lib/errors.js';
import { buildKubeconfig } from '../../lib/kube/index.js';
import type { Logger } from '../../lib/log.js';
import { createCA, issueCertificate, writeCertKeyPair, type CertKeyPair } from '../../lib/pki/index.js';
import type { TestNetns } from './netns.js';

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
  const localServer = `https://127.0.0.1:${securePort}`;
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;

  // --- PKI (kubeadm's names) ---
  const pki = buildPki(dirs.pki, opts.advertiseAddress, firstServiceIP(serviceCidr));
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
      `--bind-address=${opts.bindAddress ?? '0.0.0.0'}`,
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
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { code?: number; status?: string; reason?: string; message?: string };
  annotations?: Record<string, string>;
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

function buildPki(dir: string, advertiseAddress: string, serviceIP: string): {
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
    ipAddresses: [...new Set(['127.0.0.1', advertiseAddress, serviceIP])],
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

/**
 * Distinct free TCP ports on 127.0.0.1, never `exclude` (free on the host; a fresh netns has
 * all of them free).
 */
async function freePorts(count: number, exclude?: number): Promise<number[]> {
  const ports: number[] = [];
  const held: ReturnType<typeof createServer>[] = [];
  try {
    while (ports.length < count) {
      const srv = createServer();
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(0, '127.0.0.1', () => res());
      });
      held.push(srv);
      const addr = srv.address();
      if (addr && typeof addr === 'object' && addr.port !== exclude) ports.push(addr.port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((res) => s.close(res))));
  }
  return ports;
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
  name: ControlPlaneProcess['name'];
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

  launch(name: Running['name'], cmd: string, args: string[]): ControlPlaneProcess {
    const logPath = join(this.logDir, `${name}.log`);
    const fd = openSync(logPath, 'a', 0o600);
    // pdeathsig: the kernel kills the child when the test process dies, even by SIGKILL.
    // `ip netns exec` execs (no fork), so the signal reaches the real process.
    const argv = HAS_SETPRIV ? ['setpriv', '--pdeathsig', 'KILL', '--', cmd, ...args] : [cmd, ...args];
    const stdio: ['ignore', number, number] = ['ignore', fd, fd];
    let child: ChildProcess;
    try {
      child = this.netns ? this.netns.spawn(argv[0], argv.slice(1), { stdio }) : spawn(argv[0], argv.slice(1), { stdio });
    } finally {
      closeSync(fd);
    }
    const r: Running = { name, child, logPath, exited: Promise.resolve() };
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

  /** The first process that has exited, with the tail of its log. */
  deadProcess(): string | undefined {
    const r = this.running.find((p) => p.exitInfo !== undefined);
    if (!r) return undefined;
    return `${r.name} ${r.exitInfo}; last lines of ${r.logPath}:\n${tail(r.logPath, 25)}`;
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
