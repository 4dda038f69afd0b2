/**
 * Runtime objects of pods the agent does not know (kubelet's `HandlePodCleanups` for
 * "runtime pods"): after an agent restart, or when a pod left the API while the agent was
 * away. Their containers are stopped with a short grace period (1 s, at least 2 s for the
 * runtime, as kubelet), then containers, sandboxes, logs, the pod directory and the pod
 * cgroup are removed.
 *
 * Only ever called once the pod informer has synced: before that, "unknown" only means
 * "not listed yet".
 */
import { rm } from 'node:fs/promises';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { LABELS, type Runtime } from '../runtime/index.js';
import type { PodCgroups, PodVolumes } from './deps.js';
import { legacyLogSymlink } from './log-links.js';
import type { RelistSnapshot } from './pleg.js';
import { podLogDirectory } from './sandbox-config.js';
import { MINIMUM_GRACE_PERIOD_SECONDS } from './syncer.js';

/** Options of {@link OrphanCleaner}. */
export interface OrphanCleanerOptions {
  runtime: Runtime;
  podLogsDir: string;
  containerLogsDir: string;
  volumes: PodVolumes;
  cgroups: PodCgroups;
  logger: Logger;
  isKnown(uid: string): boolean;
}

/** Removes the runtime objects of unknown pods. */
export class OrphanCleaner {
  private readonly inProgress = new Set<string>();

  constructor(private readonly o: OrphanCleanerOptions) {}

  /** Cleans the orphans found in `snap`; returns their uids. */
  async clean(snap: RelistSnapshot): Promise<string[]> {
    const done: string[] = [];
    const jobs: Promise<void>[] = [];
    for (const [uid, pod] of snap.byUid) {
      if (!uid || this.o.isKnown(uid) || this.inProgress.has(uid)) continue;
      this.inProgress.add(uid);
      jobs.push(
        (async () => {
          try {
            const first = pod.sandboxes[0]?.metadata ?? { name: pod.containers[0]?.labels?.[LABELS.podName] ?? '', namespace: pod.containers[0]?.labels?.[LABELS.podNamespace] ?? '' };
            this.o.logger.info({ uid, pod: `${first.namespace}/${first.name}` }, 'cleaning up the runtime objects of an unknown pod');
            await Promise.all(
              pod.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => this.o.runtime.stopContainer(c.id, MINIMUM_GRACE_PERIOD_SECONDS)),
            );
            for (const c of pod.containers) {
              await this.o.runtime.removeContainer(c.id);
              const l = c.labels ?? {};
              await rm(legacyLogSymlink(this.o.containerLogsDir, l[LABELS.podName] ?? '', l[LABELS.podNamespace] ?? '', l[LABELS.containerName] ?? '', c.id), { force: true });
            }
            for (const s of pod.sandboxes) await this.o.runtime.removePodSandbox(s.id);
            if (first.name && first.namespace) await rm(podLogDirectory(this.o.podLogsDir, first.namespace, first.name, uid), { recursive: true, force: true });
            await this.o.volumes.tearDown(uid);
            await this.o.cgroups.removePod(uid);
            done.push(uid);
          } catch (err) {
            this.o.logger.warn({ uid, err: errorMessage(err) }, 'orphan cleanup failed; will retry');
          } finally {
            this.inProgress.delete(uid);
          }
        })(),
      );
    }
    await Promise.all(jobs);
    return done;
  }
}
