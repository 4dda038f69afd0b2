/**
 * The volume manager: prepares a pod's `spec.volumes` on the node before its containers are
 * created, refreshes API-backed contents on every sync, and removes everything once the pod
 * has terminated. Layout, as kubelet's:
 *
 * ```
 * <rootDir>/pods/<uid>/
 *   etc-hosts
 *   volumes/kubernetes.io~empty-dir/<name>     0777 dir, or a tmpfs for medium: Memory
 *   volumes/kubernetes.io~configmap/<name>     0777 dir, AtomicWriter content
 *   volumes/kubernetes.io~secret/<name>        tmpfs, AtomicWriter content
 *   volumes/kubernetes.io~downward-api/<name>  tmpfs, AtomicWriter content
 *   volumes/kubernetes.io~projected/<name>     tmpfs, AtomicWriter content
 * ```
 *
 * hostPath volumes are used in place after their type check. Other volume types fail with
 * `FailedMount`.
 *
 * Deviations from kubelet: configMaps and secrets are read with a GET on each `setUp` (with
 * a timeout), not through a watch-based cache; `serviceAccountToken` projections are not
 * supported yet; emptyDir `sizeLimit` on disk is not enforced (kubelet's eviction manager
 * does that); hugepages emptyDirs are not supported.
 */
import { mkdirSync } from 'node:fs';
import { chmod, mkdir, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../../lib/clock.js';
import { AbortedError, InvalidInputError, errorMessage, isAborted } from '../../../lib/errors.js';
import { ConfigMaps, Secrets, isApiNotFound, type KubeClient, type ResourceType } from '../../../lib/kube/index.js';
import type { Logger } from '../../../lib/log.js';
import { parseQuantity } from '../../../lib/units/index.js';
import { podResourceConfig } from '../cgroups/index.js';
import { writeAtomic, type Payload } from './atomic-writer.js';
import { VolumeError, VolumeTearDownError } from './errors.js';
import { hostMounter, type Mounter } from './mounter.js';
import { setVolumeOwnership } from './ownership.js';
import { DEFAULT_MODE, aggregateMessage, configMapPayload, downwardApiPayload, secretPayload } from './payload.js';
import type { MountedVolume } from './types.js';

/** Prepares and removes pod volumes. */
export interface VolumeManager {
  /**
   * Prepares every volume in `pod.spec.volumes`; idempotent (safe to call on every sync, it
   * refreshes configMap/secret/downwardAPI/projected contents atomically like kubelet's
   * AtomicWriter). Every volume is attempted; then the first failure is thrown as a
   * {@link VolumeError} (code `SKIFF_VOLUME`, `.volumeName`, `.reason` `FailedMount`, `.errors`
   * listing all failures) whose message is kubelet's Event text, e.g.
   * `MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found`.
   * An aborted `signal` rejects with `AbortedError`.
   */
  setUp(pod: Pod, signal?: AbortSignal): Promise<Map<string, MountedVolume>>;
  /**
   * Unmounts the tmpfs mounts under the pod directory and removes `<rootDir>/pods/<uid>`.
   * Safe to call twice and after a crash (mounts are found through /proc/self/mountinfo);
   * throws {@link VolumeTearDownError} and keeps the directory when a mount will not go away.
   */
  tearDown(podUid: string): Promise<void>;
  /** The pod's directory `<rootDir>/pods/<uid>` (created on demand, 0750); also holds etc-hosts and termination logs. */
  podDir(podUid: string): string;
  /** UIDs that have a pod directory on disk (for orphan cleanup after restarts). */
  listPodDirs(): Promise<string[]>;
}

/** Options of {@link createVolumeManager}. */
export interface VolumeManagerOptions {
  /** kubelet's `--root-dir` (e.g. `/var/lib/kubelet`). */
  rootDir: string;
  client: KubeClient;
  nodeName: string;
  logger: Logger;
  clock: Clock;
  /** Mount operations; default the host's `mount`/`umount` and /proc/self/mountinfo. */
  mounter?: Mounter;
  /** The node's allocatable resources: default limits for downwardAPI resourceFieldRefs, and tmpfs sizes. */
  nodeAllocatable?: () => Record<string, string> | undefined;
  /** Timeout of each configMap/secret read, in ms (default 10 s). */
  apiTimeoutMs?: number;
}

const PLUGIN_DIRS = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
} as const;

const SAFE_UID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Creates the {@link VolumeManager}. */
export function createVolumeManager(opts: VolumeManagerOptions): VolumeManager {
  return new Manager(opts);
}

/** The volume source field that is set (`emptyDir` when none is, as the apiserver defaults). */
function sourceKind(v: Volume): string {
  for (const [k, val] of Object.entries(v)) if (k !== 'name' && val !== undefined && val !== null) return k;
  return 'emptyDir';
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Go-style `op path: reason` for a filesystem error (`stat /x: no such file or directory`). */
function goFsError(op: string, path: string, err: unknown): string {
  const code = errnoOf(err);
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    EEXIST: 'file exists',
    EISDIR: 'is a directory',
    EROFS: 'read-only file system',
  };
  return `${op} ${path}: ${(code && text[code]) || errorMessage(err)}`;
}

class Manager implements VolumeManager {
  private readonly podsRoot: string;
  private readonly mounter: Mounter;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Volumes that were set up at least once, per pod UID (for first-time logs and ownership). */
  private readonly ready = new Map<string, Set<string>>();

  constructor(private readonly opts: VolumeManagerOptions) {
    this.podsRoot = join(opts.rootDir, 'pods');
    this.mounter = opts.mounter ?? hostMounter();
  }

  podDir(podUid: string): string {
    const dir = join(this.podsRoot, checkUid(podUid));
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    return dir;
  }

  async listPodDirs(): Promise<string[]> {
    try {
      const entries = await readdir(this.podsRoot, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && SAFE_UID.test(e.name)).map((e) => e.name).sort();
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
  }

  setUp(pod: Pod, signal?: AbortSignal): Promise<Map<string, MountedVolume>> {
    const uid = checkUid(pod.metadata?.uid ?? '');
    return this.locked(uid, () => this.doSetUp(uid, pod, signal));
  }

  tearDown(podUid: string): Promise<void> {
    const uid = checkUid(podUid);
    return this.locked(uid, () => this.doTearDown(uid));
  }

  private async locked<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(uid, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(uid) === next) this.locks.delete(uid);
    }
  }

  private async doSetUp(uid: string, pod: Pod, signal?: AbortSignal): Promise<Map<string, MountedVolume>> {
    const podDir = this.podDir(uid);
    const out = new Map<string, MountedVolume>();
    const errors: VolumeError[] = [];
    const ready = this.ready.get(uid) ?? new Set<string>();
    this.ready.set(uid, ready);
    for (const v of pod.spec?.volumes ?? []) {
      if (signal?.aborted) throw new AbortedError('volume setup aborted', { cause: signal.reason });
      try {
        const mv = await this.setUpOne(pod, v, podDir, ready.has(v.name), signal);
        out.set(v.name, mv);
        if (!ready.has(v.name)) {
          ready.add(v.name);
          this.opts.logger.info({ pod: podKey(pod), podUid: uid, volume: v.name }, `MountVolume.SetUp succeeded for volume "${v.name}"`);
        }
      } catch (err) {
        if (isAborted(err) && signal?.aborted) throw err instanceof AbortedError ? err : new AbortedError('volume setup aborted', { cause: err });
        const ve =
          err instanceof VolumeError
            ? err
            : new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${errorMessage(err)}`, { volumeName: v.name, cause: err });
        this.opts.logger.warn({ pod: podKey(pod), podUid: uid, volume: v.name, err: ve.message }, 'volume setup failed');
        errors.push(ve);
      }
    }
    if (errors.length) {
      errors[0].errors = errors;
      throw errors[0];
    }
    return out;
  }

  private async setUpOne(pod: Pod, v: Volume, podDir: string, wasReady: boolean, signal?: AbortSignal): Promise<MountedVolume> {
    const kind = sourceKind(v);
    switch (kind) {
      case 'emptyDir':
        return this.setUpEmptyDir(pod, v, podDir, wasReady);
      case 'hostPath':
        return setUpHostPath(v);
      case 'configMap':
      case 'secret':
      case 'downwardAPI':
      case 'projected':
        return this.setUpProjection(pod, v, kind, podDir, signal);
      default:
        throw new Error(`unsupported volume type "${kind}"`);
    }
  }

  private async setUpEmptyDir(pod: Pod, v: Volume, podDir: string, wasReady: boolean): Promise<MountedVolume> {
    const dir = join(podDir, 'volumes', PLUGIN_DIRS.emptyDir, v.name);
    const medium = v.emptyDir?.medium ?? '';
    if (medium !== '' && medium !== 'Memory') {
      if (medium.startsWith('HugePages')) throw new Error(`hugepages emptyDir volumes are not supported by this node`);
      throw new Error(`unknown storage medium "${medium}"`);
    }
    const created = await ensureVolumeDir(dir);
    if (medium === 'Memory') {
      const sizeLimit = v.emptyDir?.sizeLimit ? Math.ceil(parseQuantity(v.emptyDir.sizeLimit)) : undefined;
      await this.ensureTmpfs(dir, pod, sizeLimit);
    }
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    if (fsGroup !== undefined && (created || !wasReady)) {
      await setVolumeOwnership(dir, fsGroup, false, pod.spec?.securityContext?.fsGroupChangePolicy);
    }
    return { hostPath: dir, readOnly: false, isDir: true };
  }

  private async setUpProjection(
    pod: Pod,
    v: Volume,
    kind: 'configMap' | 'secret' | 'downwardAPI' | 'projected',
    podDir: string,
    signal?: AbortSignal,
  ): Promise<MountedVolume> {
    // Build the payload first: a missing object must not leave an empty volume behind.
    const payload = await this.payloadFor(pod, v, kind, signal);
    const dir = join(podDir, 'volumes', PLUGIN_DIRS[kind], v.name);
    await ensureVolumeDir(dir);
    // configMap volumes live on disk; the others may carry secrets and live on tmpfs.
    if (kind !== 'configMap') await this.ensureTmpfs(dir, pod, undefined);
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    const changed = await writeAtomic(dir, payload, {
      now: () => this.opts.clock.now(),
      setPerms: fsGroup === undefined ? undefined : () => setVolumeOwnership(dir, fsGroup, true),
    });
    if (changed) this.opts.logger.debug({ pod: podKey(pod), volume: v.name, files: payload.size }, 'volume contents updated');
    return { hostPath: dir, readOnly: true, isDir: true };
  }

  private async payloadFor(pod: Pod, v: Volume, kind: string, signal?: AbortSignal): Promise<Payload> {
    const ns = pod.metadata?.namespace ?? 'default';
    const alloc = this.opts.nodeAllocatable?.();
    switch (kind) {
      case 'configMap': {
        const src = v.configMap!;
        const optional = !!src.optional;
        const cm = await this.fetchObject<ConfigMap>(ConfigMaps, 'configmap', ns, src.name ?? '', optional, signal);
        return configMapPayload(src.items, cm, src.defaultMode ?? DEFAULT_MODE, optional);
      }
      case 'secret': {
        const src = v.secret!;
        const optional = !!src.optional;
        const secret = await this.fetchObject<Secret>(Secrets, 'secret', ns, src.secretName ?? '', optional, signal);
        return secretPayload(src.items, secret, src.defaultMode ?? DEFAULT_MODE, optional);
      }
      case 'downwardAPI':
        return downwardApiPayload(v.downwardAPI?.items, pod, v.downwardAPI?.defaultMode ?? DEFAULT_MODE, alloc);
      default: {
        const src = v.projected ?? {};
        const mode = src.defaultMode ?? DEFAULT_MODE;
        const payload: Payload = new Map();
        const errs: string[] = [];
        for (const s of src.sources ?? []) {
          try {
            let part: Payload;
            if (s.secret) {
              const optional = !!s.secret.optional;
              const secret = await this.fetchObject<Secret>(Secrets, 'secret', ns, s.secret.name ?? '', optional, signal);
              part = secretPayload(s.secret.items, secret, mode, optional);
            } else if (s.configMap) {
              const optional = !!s.configMap.optional;
              const cm = await this.fetchObject<ConfigMap>(ConfigMaps, 'configmap', ns, s.configMap.name ?? '', optional, signal);
              part = configMapPayload(s.configMap.items, cm, mode, optional);
            } else if (s.downwardAPI) {
              part = downwardApiPayload(s.downwardAPI.items, pod, mode, alloc);
            } else if (s.serviceAccountToken) {
              // Deviation: kubelet requests a bound token (TokenRequest) and rotates it.
              throw new Error('serviceAccountToken projection is not supported by this node');
            } else if ((s as { clusterTrustBundle?: unknown }).clusterTrustBundle) {
              throw new Error('clusterTrustBundle projection is not supported by this node');
            } else {
              continue;
            }
            for (const [k, fp] of part) payload.set(k, fp);
          } catch (err) {
            if (isAborted(err) && signal?.aborted) throw err;
            errs.push(errorMessage(err));
          }
        }
        if (errs.length) throw new Error(aggregateMessage(errs));
        return payload;
      }
    }
  }

  /**
   * GETs a ConfigMap or Secret with the caller's signal and a timeout. A missing object is an
   * error with kubelet's text (`configmap "x" not found`), or an empty object when optional.
   */
  private async fetchObject<T extends ConfigMap | Secret>(
    type: ResourceType,
    kind: 'configmap' | 'secret',
    namespace: string,
    name: string,
    optional: boolean,
    signal?: AbortSignal,
  ): Promise<T> {
    const ac = new AbortController();
    let timedOut = false;
    const timer = this.opts.clock.setTimer(this.opts.apiTimeoutMs ?? 10_000, () => {
      timedOut = true;
      ac.abort(new AbortedError(`timed out reading ${kind} ${namespace}/${name}`));
    });
    const onAbort = (): void => ac.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(ac.signal.reason ?? new AbortedError());
      if (ac.signal.aborted) fail();
      else ac.signal.addEventListener('abort', fail, { once: true });
    });
    try {
      return await Promise.race([this.opts.client.get<T>(type, namespace, name, { signal: ac.signal }), aborted]);
    } catch (err) {
      if (timedOut) throw new Error(`failed to sync ${kind} cache: timed out waiting for the condition`, { cause: err });
      if (signal?.aborted) throw new AbortedError('volume setup aborted', { cause: err });
      if (isApiNotFound(err)) {
        if (optional) return { metadata: { namespace, name } } as T;
        throw new Error(`${kind} "${name}" not found`, { cause: err });
      }
      throw err;
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Mounts a tmpfs at `dir` unless one is there (kubelet's `setupTmpfs`), sized like kubelet does. */
  private async ensureTmpfs(dir: string, pod: Pod, sizeLimit: number | undefined): Promise<void> {
    const real = await realpath(dir);
    const mounts = await this.mounter.mountPointsUnder(real);
    if (mounts.some((m) => m.mountPoint === real && m.fsType === 'tmpfs')) return;
    const size = this.tmpfsSize(pod, sizeLimit);
    await this.mounter.mountTmpfs(real, size ? [`size=${size}`] : []);
  }

  /**
   * `calculateEmptyDirMemorySize`: node allocatable memory, lowered to the pod's memory limit
   * and then to the volume's sizeLimit when those are smaller. Undefined: the kernel default.
   */
  private tmpfsSize(pod: Pod, sizeLimit: number | undefined): number | undefined {
    const allocMem = this.opts.nodeAllocatable?.()?.memory;
    let size = allocMem ? Math.ceil(parseQuantity(allocMem)) : undefined;
    const podLimit = podResourceConfig(pod).memoryLimit;
    if (podLimit && podLimit > 0 && (size === undefined || podLimit <= size)) size = podLimit;
    if (sizeLimit && sizeLimit > 0 && (size === undefined || sizeLimit <= size)) size = sizeLimit;
    return size && size > 0 ? size : undefined;
  }

  private async doTearDown(uid: string): Promise<void> {
    this.ready.delete(uid);
    const dir = join(this.podsRoot, uid);
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw new VolumeTearDownError(`failed to resolve pod directory ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    let lastErr: unknown;
    for (let round = 0; round < 8; round++) {
      const mounts = await this.mounter.mountPointsUnder(real);
      if (!mounts.length) break;
      for (const m of mounts) {
        try {
          await this.mounter.unmount(m.mountPoint);
          this.opts.logger.debug({ podUid: uid, mountPoint: m.mountPoint }, 'unmounted');
        } catch (err) {
          lastErr = err;
        }
      }
    }
    const left = await this.mounter.mountPointsUnder(real);
    if (left.length) {
      throw new VolumeTearDownError(
        `UnmountVolume.TearDown failed for pod "${uid}": ${left.map((m) => m.mountPoint).join(', ')} still mounted${lastErr ? `: ${errorMessage(lastErr)}` : ''}`,
        { cause: lastErr },
      );
    }
    // Nothing is mounted below the directory any more, so removing it cannot reach outside it.
    await rm(real, { recursive: true, force: true });
    this.opts.logger.info({ podUid: uid }, 'pod volumes torn down');
  }
}

function checkUid(uid: string): string {
  if (!SAFE_UID.test(uid)) throw new InvalidInputError(`invalid pod UID ${JSON.stringify(uid)}`, { field: 'metadata.uid' });
  return uid;
}

function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** Creates a volume directory with mode 0777 (kubelet's emptyDir `setupDir`); true when it was created. */
async function ensureVolumeDir(dir: string): Promise<boolean> {
  try {
    await stat(dir);
    return false;
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await chmod(dir, 0o777);
  return true;
}

/** hostPath with kubelet's type check (`pkg/volume/hostpath` `checkType`). */
async function setUpHostPath(v: Volume): Promise<MountedVolume> {
  const path = v.hostPath?.path ?? '';
  const type = v.hostPath?.type ?? '';
  const st = await stat(path).catch((err: unknown) => (errnoOf(err) === 'ENOENT' ? undefined : Promise.reject(err)));
  const fail = (what: string): never => {
    throw new Error(`hostPath type check failed: ${path} is not ${what}`);
  };
  switch (type) {
    case '':
      return { hostPath: path, readOnly: false, isDir: st ? st.isDirectory() : true };
    case 'DirectoryOrCreate':
      if (!st) {
        try {
          await mkdir(path, { recursive: true, mode: 0o755 });
          await chmod(path, 0o755);
        } catch (err) {
          throw new Error(goFsError('mkdir', path, err), { cause: err });
        }
        return { hostPath: path, readOnly: false, isDir: true };
      }
      if (!st.isDirectory()) fail('a directory');
      return { hostPath: path, readOnly: false, isDir: true };
    case 'Directory':
      if (!st?.isDirectory()) fail('a directory');
      return { hostPath: path, readOnly: false, isDir: true };
    case 'FileOrCreate':
      if (!st) {
        try {
          await writeFile(path, '', { flag: 'a', mode: 0o644 });
        } catch (err) {
          throw new Error(goFsError('open', path, err), { cause: err });
        }
        return { hostPath: path, readOnly: false, isDir: false };
      }
      if (!st.isFile()) fail('a file');
      return { hostPath: path, readOnly: false, isDir: false };
    case 'File':
      if (!st?.isFile()) fail('a file');
      return { hostPath: path, readOnly: false, isDir: false };
    case 'Socket':
      if (!st?.isSocket()) fail('a socket file');
      return { hostPath: path, readOnly: false, isDir: false };
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('a character device');
      return { hostPath: path, readOnly: false, isDir: false };
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('a block device');
      return { hostPath: path, readOnly: false, isDir: false };
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
}
