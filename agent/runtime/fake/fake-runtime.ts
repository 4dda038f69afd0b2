/**
 * An honest in-memory {@link Runtime}: sandbox and container state machines with containerd's
 * CRI semantics (1.6), an in-memory image store and "registry", IP allocation, timestamps from
 * an injected clock, call counters, and fault injection. It is a product, like knftables'
 * fake: the pod logic's unit tests run against it, and the runtime contract suite
 * (`../contract.ts`) checks that it behaves like real containerd.
 *
 * ```
 *  sandbox:    RunPodSandbox ──► SANDBOX_READY ──StopPodSandbox──► SANDBOX_NOTREADY ──Remove──► gone
 *                                      │ (stop kills every container)            ▲
 *                                      └──────────────── RemovePodSandbox ───────┘ (forcibly stops first)
 *
 *  container:  CreateContainer ──► CREATED ──Start──► RUNNING ──exit / Stop──► EXITED ──Remove──► gone
 *              (needs a READY sandbox          (only from CREATED)   143 after TERM, 137 after KILL
 *               and a present image)           Remove of a RUNNING container force-kills it first
 * ```
 *
 * Error texts follow containerd's (`failed to reserve container name …`, `failed to pull and
 * unpack image …: failed to resolve reference …`), because they end up verbatim in pod
 * statuses and Events.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { realClock, type Clock, type Timer } from '../../../lib/clock.js';
import { NotFoundError, UnavailableError } from '../../../lib/errors.js';
import { RuntimeError } from '../errors.js';
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerState,
  ContainerStatus,
  ExecSyncResponse,
  FilesystemUsage,
  Image,
  ImageSpec,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxState,
  PodSandboxStatus,
  Runtime,
  RuntimeStatus,
  VersionResponse,
} from '../types.js';
import { normalizeImageRef, parseImageReference } from './image-ref.js';

/** An image known to the fake registry or image store. */
export interface FakeImageSpec {
  /** Any reference form; it is normalised (`busybox:1.29` → `docker.io/library/busybox:1.29`). */
  name: string;
  /** Size in bytes (default 1 MiB). */
  size?: number;
}

/** How a fake container's process behaves once started. */
export interface FakeProcessBehaviour {
  /** Exit by itself with this code… */
  exitCode?: number;
  /** …after this many ms of the injected clock (default 0: at the next timer tick). */
  afterMs?: number;
  /** The process ignores SIGTERM (like a shell as PID 1): a stop waits for its timeout, then kills (137). */
  ignoreTerm?: boolean;
  /** The exit is an OOM kill (`reason: OOMKilled`, exit code 137 unless given). */
  oomKilled?: boolean;
}

/** Names of the runtime methods, for counters and fault injection. */
export type FakeRuntimeMethod =
  | 'version' | 'status' | 'runPodSandbox' | 'stopPodSandbox' | 'removePodSandbox' | 'podSandboxStatus'
  | 'listPodSandbox' | 'createContainer' | 'startContainer' | 'stopContainer' | 'removeContainer'
  | 'listContainers' | 'containerStatus' | 'updateRuntimeConfig' | 'execSync' | 'reopenContainerLog'
  | 'listImages' | 'imageStatus' | 'pullImage' | 'removeImage' | 'imageFsInfo';

/** One recorded call. */
export interface FakeCall {
  method: FakeRuntimeMethod;
  args: unknown[];
}

/** Options of {@link FakeRuntime}. */
export interface FakeRuntimeOptions {
  /** Time source for timestamps and process timers (default: the wall clock). */
  clock?: Clock;
  /** Images that `pullImage` can fetch. */
  registry?: (string | FakeImageSpec)[];
  /** Images already present in the image store. */
  images?: (string | FakeImageSpec)[];
  /** Range sandbox IPs come from (default `10.88.0.0/16`, containerd's default CNI range). */
  podCidr?: string;
  /**
   * Decides how a started container behaves. The default understands `sh -c "exit N"`,
   * `true`, `false`, and `sleep N` (exits 0 after N s and, like a real `sleep` as PID 1,
   * ignores SIGTERM); anything else runs until stopped and honours SIGTERM.
   */
  behaviour?: (config: ContainerConfig) => FakeProcessBehaviour | undefined;
  /** Create the container's log file on start, as containerd does (default false). */
  writeLogs?: boolean;
  /** Delay of every pull, in ms of the injected clock (default 0). */
  pullDelayMs?: number;
}

interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  runtimeHandler: string;
  state: PodSandboxState;
  createdAt: number;
  ip: string;
  reservedName: string;
}

interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  imageName: string;
  imageRef: string;
  logPath: string;
  reservedName: string;
  behaviour: FakeProcessBehaviour;
  exitTimer?: Timer;
  /** Resolvers of stops waiting for the process to exit. */
  exitWaiters: (() => void)[];
}

interface ImageRecord {
  id: string;
  names: Set<string>;
  size: number;
}

interface Fault {
  method: FakeRuntimeMethod;
  error: Error;
  match?: (args: unknown[]) => boolean;
}

const DEFAULT_IMAGE_SIZE = 1024 * 1024;

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function parseCidr(cidr: string): { base: number; size: number } {
  const [ip, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)) || !(bits >= 8 && bits <= 30)) {
    throw new RuntimeError(`invalid pod CIDR ${JSON.stringify(cidr)}`);
  }
  const base = ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
  const size = 2 ** (32 - bits);
  return { base: base - (base % size), size };
}

function formatIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The default process model: a tiny interpreter for the commands tests use. */
export function defaultBehaviour(config: ContainerConfig): FakeProcessBehaviour | undefined {
  const argv = [...(config.command ?? []), ...(config.args ?? [])];
  if (argv.length === 0) return undefined;
  const prog = argv[0].split('/').pop();
  let script: string | undefined;
  if ((prog === 'sh' || prog === 'bash' || prog === 'ash') && argv[1] === '-c') script = argv[2] ?? '';
  else script = argv.join(' ');
  const s = script.trim();
  let m: RegExpExecArray | null;
  if ((m = /^exit\s+(\d+)$/.exec(s))) return { exitCode: Number(m[1]) };
  if (s === 'true' || s === 'exit') return { exitCode: 0 };
  if (s === 'false') return { exitCode: 1 };
  if ((m = /^sleep\s+(\d+(?:\.\d+)?)$/.exec(s))) return { exitCode: 0, afterMs: Number(m[1]) * 1000, ignoreTerm: true };
  return undefined;
}

/** The in-memory runtime. See the module comment for the state machines. */
export class FakeRuntime implements Runtime {
  /** Every call, in order (method and arguments). */
  readonly callLog: FakeCall[] = [];

  private readonly clock: Clock;
  private readonly behaviourOf: (config: ContainerConfig) => FakeProcessBehaviour | undefined;
  private readonly writeLogs: boolean;
  private readonly pullDelayMs: number;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly images = new Map<string, ImageRecord>();
  private readonly registry = new Map<string, { size: number; id: string }>();
  private readonly reservedNames = new Map<string, string>();
  private readonly counts = new Map<FakeRuntimeMethod, number>();
  private readonly faults: Fault[] = [];
  private readonly usedIps = new Set<number>();
  private readonly cidr: { base: number; size: number };
  private nextIp = 2;
  private lastNs = 0;
  private unavailable = false;
  private closed = false;
  private pullHook?: (image: string) => Promise<void>;
  private runtimeConfigCidr = '';

  constructor(opts: FakeRuntimeOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.behaviourOf = opts.behaviour ?? defaultBehaviour;
    this.writeLogs = opts.writeLogs ?? false;
    this.pullDelayMs = opts.pullDelayMs ?? 0;
    this.cidr = parseCidr(opts.podCidr ?? '10.88.0.0/16');
    for (const i of opts.registry ?? []) this.addRegistryImage(i);
    for (const i of opts.images ?? []) this.addImage(i);
  }

  // ---- test controls ------------------------------------------------------------------

  /** Makes every call throw `UnavailableError` (the runtime socket is gone) until reset. */
  setUnavailable(unavailable: boolean): void {
    this.unavailable = unavailable;
  }

  /** Makes the next call of `method` (whose arguments satisfy `match`) fail with `error`. */
  failNext(method: FakeRuntimeMethod, error: Error | string, match?: (args: unknown[]) => boolean): void {
    this.faults.push({ method, error: typeof error === 'string' ? new RuntimeError(error) : error, match });
  }

  /** How many times `method` was called (all methods when omitted). */
  callCount(method?: FakeRuntimeMethod): number {
    if (method) return this.counts.get(method) ?? 0;
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Calls of `method` recorded so far. */
  callsOf(method: FakeRuntimeMethod): FakeCall[] {
    return this.callLog.filter((c) => c.method === method);
  }

  /** Forgets counters and the call log (state is kept). */
  resetCalls(): void {
    this.counts.clear();
    this.callLog.length = 0;
  }

  /** Adds an image the fake registry can serve to `pullImage`. */
  addRegistryImage(image: string | FakeImageSpec): void {
    const spec = typeof image === 'string' ? { name: image } : image;
    this.registry.set(normalizeImageRef(spec.name), { size: spec.size ?? DEFAULT_IMAGE_SIZE, id: `sha256:${hex(32)}` });
  }

  /** Puts an image straight into the image store (as `ctr images import` does). */
  addImage(image: string | FakeImageSpec): string {
    const spec = typeof image === 'string' ? { name: image } : image;
    const name = normalizeImageRef(spec.name);
    const existing = this.findImage(name);
    if (existing) return existing.id;
    const fromRegistry = this.registry.get(name);
    const id = fromRegistry?.id ?? `sha256:${hex(32)}`;
    const rec = this.images.get(id) ?? { id, names: new Set<string>(), size: spec.size ?? fromRegistry?.size ?? DEFAULT_IMAGE_SIZE };
    rec.names.add(name);
    this.images.set(id, rec);
    return id;
  }

  /** Runs `hook` before each pull completes (e.g. to hold a pull until a test releases it). */
  setPullHook(hook: ((image: string) => Promise<void>) | undefined): void {
    this.pullHook = hook;
  }

  /** Makes a running container's process exit with `code` now. */
  exitContainer(id: string, code: number, opts: { oomKilled?: boolean; message?: string } = {}): void {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`an error occurred when try to find container ${JSON.stringify(id)}: not found`);
    if (c.state !== 'CONTAINER_RUNNING') throw new RuntimeError(`container ${id} is not running (${c.state})`);
    this.finish(c, code, opts.oomKilled ?? false, opts.message);
  }

  /** Appends a line in CRI log format to a container's log file (creates it). */
  async writeLog(id: string, stream: 'stdout' | 'stderr', line: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    await mkdir(dirname(c.logPath), { recursive: true });
    const ts = new Date(this.clock.now()).toISOString().replace('Z', '000000Z');
    await appendFile(c.logPath, `${ts} ${stream} F ${line}\n`);
  }

  /** Snapshot of the sandboxes, for assertions. */
  sandboxList(): PodSandboxStatus[] {
    return [...this.sandboxes.values()].map((s) => this.sandboxStatusOf(s));
  }

  /** Snapshot of the containers, for assertions. */
  containerList(): ContainerStatus[] {
    return [...this.containers.values()].map((c) => this.containerStatusOf(c));
  }

  /** The last pod CIDR pushed by `updateRuntimeConfig`. */
  podCidr(): string {
    return this.runtimeConfigCidr;
  }

  // ---- RuntimeService -------------------------------------------------------------------

  async version(): Promise<VersionResponse> {
    this.enter('version', []);
    return { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.6.20-fake', runtimeApiVersion: 'v1' };
  }

  async status(): Promise<RuntimeStatus> {
    this.enter('status', []);
    return {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        { type: 'NetworkReady', status: true, reason: '', message: '' },
      ],
    };
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    this.enter('runPodSandbox', [config, runtimeHandler]);
    const md = config.metadata;
    if (!md?.name || !md.namespace || !md.uid) throw new RuntimeError('sandbox config must include metadata');
    const name = [md.name, md.namespace, md.uid, String(md.attempt ?? 0)].join('_');
    const id = hex(32);
    this.reserve(name, id, 'sandbox');
    const hostNetwork = config.linux?.securityContext?.namespaceOptions?.network === 'NODE';
    let ip = '';
    if (!hostNetwork) {
      try {
        ip = this.allocateIp();
      } catch (err) {
        this.reservedNames.delete(name);
        throw err;
      }
    }
    const rec: SandboxRecord = {
      id,
      config: structuredClone(config),
      runtimeHandler,
      state: 'SANDBOX_READY',
      createdAt: this.nowNs(),
      ip,
      reservedName: name,
    };
    this.sandboxes.set(id, rec);
    return id;
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    this.enter('stopPodSandbox', [podSandboxId]);
    const s = this.sandbox(podSandboxId);
    this.stopSandbox(s);
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    this.enter('removePodSandbox', [podSandboxId]);
    const s = this.lookup(this.sandboxes, podSandboxId);
    if (!s) return; // containerd: removing a sandbox that does not exist is not an error
    if (s.state === 'SANDBOX_READY') this.stopSandbox(s); // "Forcibly stopping sandbox"
    for (const c of [...this.containers.values()]) if (c.sandboxId === s.id) this.deleteContainer(c);
    this.sandboxes.delete(s.id);
    this.reservedNames.delete(s.reservedName);
    if (s.ip) this.releaseIp(s.ip);
  }

  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    this.enter('podSandboxStatus', [podSandboxId]);
    return this.sandboxStatusOf(this.sandbox(podSandboxId));
  }

  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    this.enter('listPodSandbox', [filter]);
    const out: PodSandbox[] = [];
    for (const s of this.sandboxes.values()) {
      if (filter?.id && !s.id.startsWith(filter.id)) continue;
      if (filter?.state !== undefined && s.state !== filter.state) continue;
      if (!labelsMatch(s.config.labels, filter?.labelSelector)) continue;
      out.push({
        id: s.id,
        metadata: { ...s.config.metadata },
        state: s.state,
        createdAt: s.createdAt,
        labels: { ...(s.config.labels ?? {}) },
        annotations: { ...(s.config.annotations ?? {}) },
        runtimeHandler: s.runtimeHandler,
      });
    }
    return out;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    this.enter('createContainer', [podSandboxId, config, sandboxConfig]);
    const s = this.lookup(this.sandboxes, podSandboxId);
    if (!s) throw new NotFoundError(`failed to find sandbox id ${JSON.stringify(podSandboxId)}: not found`);
    if (s.state !== 'SANDBOX_READY') {
      throw new NotFoundError(`failed to get sandbox container task: no running task found: task ${s.id} not found: not found`);
    }
    if (!config.metadata?.name) throw new RuntimeError('container config must include metadata');
    const image = this.findImage(config.image?.image ?? '');
    if (!image) {
      throw new NotFoundError(`failed to resolve image ${JSON.stringify(config.image?.image ?? '')}: not found`);
    }
    const md = s.config.metadata;
    const name = [config.metadata.name, md.name, md.namespace, md.uid, String(config.metadata.attempt ?? 0)].join('_');
    const id = hex(32);
    this.reserve(name, id, 'container');
    const logPath = s.config.logDirectory && config.logPath ? join(s.config.logDirectory, config.logPath) : '';
    const rec: ContainerRecord = {
      id,
      sandboxId: s.id,
      config: structuredClone(config),
      state: 'CONTAINER_CREATED',
      createdAt: this.nowNs(),
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: '',
      message: '',
      imageName: [...image.names][0] ?? image.id,
      imageRef: image.id,
      logPath,
      reservedName: name,
      behaviour: this.behaviourOf(config) ?? {},
      exitWaiters: [],
    };
    this.containers.set(id, rec);
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    this.enter('startContainer', [containerId]);
    const c = this.container(containerId);
    if (c.state !== 'CONTAINER_CREATED') {
      throw new RuntimeError(`failed to set starting state for container ${JSON.stringify(c.id)}: container is in ${c.state} state`);
    }
    const s = this.sandboxes.get(c.sandboxId);
    if (!s || s.state !== 'SANDBOX_READY') {
      throw new RuntimeError(`sandbox container ${JSON.stringify(c.sandboxId)} is not running`);
    }
    if (this.writeLogs && c.logPath) {
      await mkdir(dirname(c.logPath), { recursive: true });
      await writeFile(c.logPath, '', { flag: 'a' });
    }
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = this.nowNs();
    const b = c.behaviour;
    if (b.exitCode !== undefined || b.oomKilled) {
      c.exitTimer = this.clock.setTimer(b.afterMs ?? 0, () => {
        if (c.state === 'CONTAINER_RUNNING') this.finish(c, b.exitCode ?? 137, b.oomKilled ?? false);
      });
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    this.enter('stopContainer', [containerId, timeoutSeconds]);
    const c = this.container(containerId);
    await this.stopProcess(c, timeoutSeconds);
  }

  async removeContainer(containerId: string): Promise<void> {
    this.enter('removeContainer', [containerId]);
    const c = this.lookup(this.containers, containerId);
    if (!c) return; // containerd: not an error
    this.deleteContainer(c);
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    this.enter('listContainers', [filter]);
    const out: Container[] = [];
    for (const c of this.containers.values()) {
      if (filter?.id && !c.id.startsWith(filter.id)) continue;
      if (filter?.state !== undefined && c.state !== filter.state) continue;
      if (filter?.podSandboxId && !c.sandboxId.startsWith(filter.podSandboxId)) continue;
      if (!labelsMatch(c.config.labels, filter?.labelSelector)) continue;
      out.push({
        id: c.id,
        podSandboxId: c.sandboxId,
        metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt ?? 0 },
        image: { image: c.imageName },
        imageRef: c.imageRef,
        state: c.state,
        createdAt: c.createdAt,
        labels: { ...(c.config.labels ?? {}) },
        annotations: { ...(c.config.annotations ?? {}) },
      });
    }
    return out;
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    this.enter('containerStatus', [containerId]);
    return this.containerStatusOf(this.container(containerId));
  }

  async updateRuntimeConfig(podCidr: string): Promise<void> {
    this.enter('updateRuntimeConfig', [podCidr]);
    this.runtimeConfigCidr = podCidr;
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResponse> {
    this.enter('execSync', [containerId, cmd, timeoutSeconds]);
    const c = this.container(containerId);
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new RuntimeError(`container ${JSON.stringify(c.id)} is not running`);
    }
    const b = defaultBehaviour({ metadata: { name: 'exec', attempt: 0 }, image: { image: '' }, command: cmd });
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: b?.exitCode ?? 0 };
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    this.enter('reopenContainerLog', [containerId]);
    const c = this.container(containerId);
    if (c.state !== 'CONTAINER_RUNNING') throw new RuntimeError(`container is not running`);
  }

  // ---- ImageService ---------------------------------------------------------------------

  async listImages(filter?: { image?: ImageSpec }): Promise<Image[]> {
    this.enter('listImages', [filter]);
    const all = [...this.images.values()];
    const wanted = filter?.image?.image ? this.findImage(filter.image.image) : undefined;
    return (filter?.image?.image ? (wanted ? [wanted] : []) : all).map((i) => this.imageOf(i));
  }

  async imageStatus(image: ImageSpec): Promise<Image | undefined> {
    this.enter('imageStatus', [image]);
    const rec = this.findImage(image.image);
    return rec ? this.imageOf(rec) : undefined;
  }

  async pullImage(image: ImageSpec, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string> {
    this.enter('pullImage', [image, auth, sandboxConfig]);
    const ref = parseImageReference(image.image);
    if (!ref) {
      throw new RuntimeError(`failed to pull and unpack image ${JSON.stringify(image.image)}: invalid reference format`);
    }
    const name = normalizeImageRef(image.image);
    if (this.pullDelayMs > 0) await this.clock.sleep(this.pullDelayMs);
    if (this.pullHook) await this.pullHook(name);
    if (this.unavailable) throw new UnavailableError('container runtime is unavailable (fake)');
    const entry = this.registry.get(name);
    if (!entry) {
      throw new RuntimeError(
        `failed to pull and unpack image ${JSON.stringify(name)}: failed to resolve reference ${JSON.stringify(name)}: ${name}: not found`,
        { runtimeCode: 'UNKNOWN' },
      );
    }
    return this.addImage({ name, size: entry.size });
  }

  async removeImage(image: ImageSpec): Promise<void> {
    this.enter('removeImage', [image]);
    const rec = this.findImage(image.image);
    if (!rec) return;
    this.images.delete(rec.id);
  }

  async imageFsInfo(): Promise<FilesystemUsage[]> {
    this.enter('imageFsInfo', []);
    let used = 0;
    for (const i of this.images.values()) used += i.size;
    return [{ timestamp: this.nowNs(), fsId: { mountpoint: '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs' }, usedBytes: { value: used }, inodesUsed: { value: this.images.size } }];
  }

  /** Closes the runtime: later calls reject with `UnavailableError`. */
  close(): void {
    this.closed = true;
    for (const c of this.containers.values()) c.exitTimer?.cancel();
  }

  // ---- internals ------------------------------------------------------------------------

  private enter(method: FakeRuntimeMethod, args: unknown[]): void {
    this.counts.set(method, (this.counts.get(method) ?? 0) + 1);
    this.callLog.push({ method, args });
    if (this.closed) throw new UnavailableError(`fake runtime is closed (${method})`);
    if (this.unavailable) throw new UnavailableError(`container runtime is unavailable (fake): ${method}`);
    const i = this.faults.findIndex((f) => f.method === method && (!f.match || f.match(args)));
    if (i >= 0) {
      const [f] = this.faults.splice(i, 1);
      throw f.error;
    }
  }

  private nowNs(): number {
    // Timestamps are strictly increasing; steps of 1 µs survive the float64 rounding of
    // nanosecond epoch values (their precision is 256 ns).
    let ns = this.clock.now() * 1e6;
    if (ns <= this.lastNs) ns = this.lastNs + 1000;
    this.lastNs = ns;
    return ns;
  }

  private reserve(name: string, id: string, kind: 'sandbox' | 'container'): void {
    const holder = this.reservedNames.get(name);
    if (holder !== undefined) {
      throw new RuntimeError(`failed to reserve ${kind} name ${JSON.stringify(name)}: name ${JSON.stringify(name)} is reserved for ${JSON.stringify(holder)}`);
    }
    this.reservedNames.set(name, id);
  }

  private lookup<T>(map: Map<string, T>, id: string): T | undefined {
    if (!id) return undefined;
    const exact = map.get(id);
    if (exact) return exact;
    // containerd accepts any unique id prefix (truncindex).
    let found: T | undefined;
    for (const [k, v] of map) {
      if (k.startsWith(id)) {
        if (found) return undefined;
        found = v;
      }
    }
    return found;
  }

  private sandbox(id: string): SandboxRecord {
    const s = this.lookup(this.sandboxes, id);
    if (!s) throw new NotFoundError(`an error occurred when try to find sandbox ${JSON.stringify(id)}: not found`);
    return s;
  }

  private container(id: string): ContainerRecord {
    const c = this.lookup(this.containers, id);
    if (!c) throw new NotFoundError(`an error occurred when try to find container ${JSON.stringify(id)}: not found`);
    return c;
  }

  private findImage(ref: string): ImageRecord | undefined {
    if (!ref) return undefined;
    const byId = this.images.get(ref) ?? this.images.get(`sha256:${ref}`);
    if (byId) return byId;
    const name = normalizeImageRef(ref);
    for (const i of this.images.values()) if (i.names.has(name)) return i;
    return undefined;
  }

  private imageOf(i: ImageRecord): Image {
    const names = [...i.names];
    return {
      id: i.id,
      repoTags: names.filter((n) => !n.includes('@')),
      repoDigests: names.filter((n) => n.includes('@')),
      size: i.size,
      spec: { image: i.id },
      pinned: false,
    };
  }

  private allocateIp(): string {
    const usable = this.cidr.size - 2;
    for (let tries = 0; tries < usable; tries++) {
      const offset = this.nextIp;
      this.nextIp = this.nextIp + 1 >= this.cidr.size - 1 ? 2 : this.nextIp + 1;
      const n = this.cidr.base + offset;
      if (!this.usedIps.has(n)) {
        this.usedIps.add(n);
        return formatIp(n);
      }
    }
    throw new RuntimeError('failed to setup network for sandbox: no IP addresses available in range set');
  }

  private releaseIp(ip: string): void {
    const n = ip.split('.').map(Number).reduce((a, b) => a * 256 + b, 0);
    this.usedIps.delete(n);
  }

  private stopSandbox(s: SandboxRecord): void {
    for (const c of this.containers.values()) {
      if (c.sandboxId === s.id && c.state === 'CONTAINER_RUNNING') this.finish(c, 137, false);
    }
    s.state = 'SANDBOX_NOTREADY';
  }

  private async stopProcess(c: ContainerRecord, timeoutSeconds: number): Promise<void> {
    if (c.state !== 'CONTAINER_RUNNING') return; // stopping a stopped container is a no-op
    const timeout = Math.max(0, Math.floor(timeoutSeconds));
    if (timeout === 0) return this.finish(c, 137, false);
    if (!c.behaviour.ignoreTerm) return this.finish(c, 143, false);
    // SIGTERM is ignored: wait for the process to exit by itself, or kill it at the timeout.
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(timeout * 1000, () => {
        if (c.state === 'CONTAINER_RUNNING') this.finish(c, 137, false);
        resolve();
      });
      c.exitWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  private finish(c: ContainerRecord, code: number, oomKilled: boolean, message = ''): void {
    c.exitTimer?.cancel();
    c.exitTimer = undefined;
    c.state = 'CONTAINER_EXITED';
    c.exitCode = code;
    c.finishedAt = this.nowNs();
    c.reason = oomKilled ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error';
    c.message = message;
    for (const w of c.exitWaiters.splice(0)) w();
  }

  private deleteContainer(c: ContainerRecord): void {
    if (c.state === 'CONTAINER_RUNNING') this.finish(c, 137, false); // force-kill before removal
    c.exitTimer?.cancel();
    this.containers.delete(c.id);
    this.reservedNames.delete(c.reservedName);
  }

  private sandboxStatusOf(s: SandboxRecord): PodSandboxStatus {
    return {
      id: s.id,
      metadata: { ...s.config.metadata },
      state: s.state,
      createdAt: s.createdAt,
      network: { ip: s.ip, additionalIps: [] },
      labels: { ...(s.config.labels ?? {}) },
      annotations: { ...(s.config.annotations ?? {}) },
      runtimeHandler: s.runtimeHandler,
    };
  }

  private containerStatusOf(c: ContainerRecord): ContainerStatus {
    return {
      id: c.id,
      metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt ?? 0 },
      state: c.state,
      createdAt: c.createdAt,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      exitCode: c.exitCode,
      image: { image: c.imageName },
      imageRef: c.imageRef,
      reason: c.reason,
      message: c.message,
      labels: { ...(c.config.labels ?? {}) },
      annotations: { ...(c.config.annotations ?? {}) },
      mounts: (c.config.mounts ?? []).map((m) => ({ ...m })),
      logPath: c.logPath,
    };
  }
}

function labelsMatch(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if ((labels ?? {})[k] !== v) return false;
  return true;
}
