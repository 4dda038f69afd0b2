/**
 * Garbage collection of what pods leave behind (kubelet's `kuberuntime_gc.go`, with its
 * defaults: minimum age 0, one dead container kept per (pod, container name), no global
 * limit):
 *
 * - dead containers beyond the newest one per (pod, container name), all of them for pods
 *   the agent no longer knows;
 * - dead sandboxes without containers, except the newest sandbox of a pod that still exists;
 * - `/var/log/pods/<ns>_<name>_<uid>` directories, pod directories and pod cgroups of pods
 *   that are gone;
 * - the `/var/log/containers` symlinks: created when missing (e.g. after an adoption),
 *   removed when their container is gone or their target vanished.
 *
 * Pods whose worker is busy are skipped, so a container that was just created and not yet
 * started is never taken for a dead one.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { ANNOTATIONS, LABELS, type Runtime } from '../runtime/index.js';
import type { PodCgroups, PodVolumes } from './deps.js';
import { ensureLogSymlink, legacyLogSymlink, pruneLogSymlinks } from './log-links.js';
import type { RelistSnapshot } from './pleg.js';
import { podLogDirectory } from './sandbox-config.js';
import { containerLogPath } from './container-config.js';

/** kubelet's `MaxPerPodContainer` default. */
export const MAX_DEAD_PER_CONTAINER = 1;

/** Options of {@link GarbageCollector}. */
export interface GarbageCollectorOptions {
  runtime: Runtime;
  podLogsDir: string;
  containerLogsDir: string;
  volumes: PodVolumes;
  cgroups: PodCgroups;
  logger: Logger;
  /** The pod is known to the agent (in the API source or held by a worker). */
  isKnown(uid: string): boolean;
  /** A worker turn runs or is pending for the pod. */
  isBusy(uid: string): boolean;
  maxPerPodContainer?: number;
}

/** What one collection removed. */
export interface GcReport {
  containers: number;
  sandboxes: number;
  logDirs: number;
  podDirs: number;
  cgroups: number;
  symlinksRemoved: number;
}

/** The collector. */
export class GarbageCollector {
  constructor(private readonly o: GarbageCollectorOptions) {}

  /** Collects once, from a relist snapshot. Errors are logged, never thrown. */
  async collect(snap: RelistSnapshot): Promise<GcReport> {
    const report: GcReport = { containers: 0, sandboxes: 0, logDirs: 0, podDirs: 0, cgroups: 0, symlinksRemoved: 0 };
    const keepPer = this.o.maxPerPodContainer ?? MAX_DEAD_PER_CONTAINER;
    const removedContainers = new Set<string>();

    // Dead containers.
    for (const [uid, pod] of snap.byUid) {
      if (!uid || this.o.isBusy(uid)) continue;
      const known = this.o.isKnown(uid);
      const byName = new Map<string, typeof pod.containers>();
      for (const c of pod.containers) {
        if (c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_UNKNOWN') continue;
        const name = c.labels?.[LABELS.containerName] ?? c.metadata?.name ?? '';
        (byName.get(name) ?? byName.set(name, []).get(name)!).push(c);
      }
      for (const list of byName.values()) {
        list.sort((a, b) => b.createdAt - a.createdAt);
        for (const c of list.slice(known ? keepPer : 0)) {
          if (await this.tryDo(`remove container ${c.id}`, () => this.o.runtime.removeContainer(c.id))) {
            removedContainers.add(c.id);
            report.containers++;
          }
        }
      }
    }

    // Dead sandboxes without containers.
    for (const [uid, pod] of snap.byUid) {
      if (!uid || this.o.isBusy(uid)) continue;
      const known = this.o.isKnown(uid);
      const sorted = [...pod.sandboxes].sort((a, b) => b.createdAt - a.createdAt);
      const keep = known ? 1 : 0;
      for (let i = sorted.length - 1; i >= keep; i--) {
        const s = sorted[i];
        const active = s.state === 'SANDBOX_READY' || pod.containers.some((c) => c.podSandboxId === s.id && !removedContainers.has(c.id));
        if (active) continue;
        if (await this.tryDo(`remove sandbox ${s.id}`, () => this.o.runtime.removePodSandbox(s.id))) report.sandboxes++;
      }
    }

    const inRuntime = (uid: string): boolean => snap.byUid.has(uid);
    const gone = (uid: string): boolean => !this.o.isKnown(uid) && !inRuntime(uid);

    // Pod log directories.
    try {
      for (const name of await readdir(this.o.podLogsDir)) {
        const uid = name.split('_')[2];
        if (!uid || !gone(uid)) continue;
        if (await this.tryDo(`remove ${name}`, () => rm(join(this.o.podLogsDir, name), { recursive: true, force: true }))) report.logDirs++;
      }
    } catch {
      // no log directory yet
    }

    // Pod directories and cgroups.
    for (const uid of await this.safeList(() => this.o.volumes.listPodDirs())) {
      if (gone(uid) && (await this.tryDo(`tear down pod dir ${uid}`, () => this.o.volumes.tearDown(uid)))) report.podDirs++;
    }
    for (const uid of await this.safeList(() => this.o.cgroups.listPods())) {
      if (gone(uid) && (await this.tryDo(`remove cgroup of ${uid}`, () => this.o.cgroups.removePod(uid)))) report.cgroups++;
    }

    // Legacy log symlinks.
    const alive = new Set<string>();
    for (const c of snap.containers) {
      if (removedContainers.has(c.id)) continue;
      alive.add(c.id);
      const l = c.labels ?? {};
      const name = l[LABELS.podName];
      const ns = l[LABELS.podNamespace];
      const uid = l[LABELS.podUid];
      const cname = l[LABELS.containerName];
      if (!name || !ns || !uid || !cname) continue;
      const rc = Number(c.annotations?.[ANNOTATIONS.restartCount] ?? '0') || 0;
      const target = join(podLogDirectory(this.o.podLogsDir, ns, name, uid), containerLogPath(cname, rc));
      await this.tryDo(`log symlink of ${c.id}`, () => ensureLogSymlink(legacyLogSymlink(this.o.containerLogsDir, name, ns, cname, c.id), target));
    }
    report.symlinksRemoved = await pruneLogSymlinks(this.o.containerLogsDir, alive);
    return report;
  }

  private async tryDo(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.o.logger.warn({ err: errorMessage(err) }, `garbage collection: ${what} failed`);
      return false;
    }
  }

  private async safeList(fn: () => Promise<string[]>): Promise<string[]> {
    try {
      return await fn();
    } catch (err) {
      this.o.logger.debug({ err: errorMessage(err) }, 'garbage collection: listing failed');
      return [];
    }
  }
}
