/**
 * Makes sure a container's image is present before the container is created (kubelet's
 * `images/image_manager.go`): honours `imagePullPolicy`, pulls through a serialised (or
 * bounded-parallel) queue, records kubelet's Events, and keeps a per-(pod, image) backoff of
 * 10 s doubling to 300 s so that a failing pull shows `ErrImagePull` once and then
 * `ImagePullBackOff` until the window passes.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../../lib/clock.js';
import { AbortedError, errorMessage, hasCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { EventRecorder } from '../../events/index.js';
import type { AuthConfig, PodSandboxConfig, Runtime } from '../../runtime/index.js';
import { FlowBackoff } from '../backoff.js';
import { ImageError } from './errors.js';
import { formatGoDuration } from './go-duration.js';
import { PullQueue } from './pull-queue.js';
import { applyDefaultImageTag, defaultPullPolicy } from './reference.js';

/** kubelet's image pull backoff: 10 s doubling to 300 s. */
export const IMAGE_BACKOFF_INITIAL_MS = 10_000;
/** Longest image pull backoff. */
export const IMAGE_BACKOFF_MAX_MS = 300_000;

/** Options of {@link ImageManager}. */
export interface ImageManagerOptions {
  runtime: Pick<Runtime, 'imageStatus' | 'pullImage'>;
  events: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** kubelet's `serializeImagePulls` (default true). */
  serializeImagePulls?: boolean;
  /** kubelet's `maxParallelImagePulls` when pulls are not serialised (unbounded when unset). */
  maxParallelImagePulls?: number;
}

/** What {@link ImageManager.ensureImageExists} needs. */
export interface EnsureImageInput {
  pod: Pod;
  container: Container;
  /** The Event field path of the container (`spec.containers{web}`). */
  fieldPath: string;
  sandboxConfig?: PodSandboxConfig;
  /** Credentials for the image's registry, tried in order (anonymous when empty). */
  auths?: AuthConfig[];
  signal?: AbortSignal;
}

/** Ensures images are present; see the module comment. */
export class ImageManager {
  private readonly backoff: FlowBackoff;
  private readonly queue: PullQueue;

  constructor(private readonly opts: ImageManagerOptions) {
    this.backoff = new FlowBackoff(opts.clock, IMAGE_BACKOFF_INITIAL_MS, IMAGE_BACKOFF_MAX_MS);
    const serial = opts.serializeImagePulls ?? true;
    this.queue = new PullQueue(serial ? 1 : opts.maxParallelImagePulls && opts.maxParallelImagePulls > 0 ? opts.maxParallelImagePulls : Infinity);
  }

  /**
   * Resolves to the image reference the runtime knows the image by. Throws an
   * {@link ImageError} carrying the waiting reason, or what the runtime threw when it is
   * unreachable (`UnavailableError`), or `AbortedError` when the signal fired.
   */
  async ensureImageExists(i: EnsureImageInput): Promise<{ imageRef: string }> {
    const { pod, container, fieldPath } = i;
    const ev = (type: 'Normal' | 'Warning', reason: string, message: string): void => this.opts.events.event(pod, type, reason, message, fieldPath);
    let image: string;
    try {
      image = applyDefaultImageTag(container.image ?? '');
    } catch (err) {
      ev('Warning', 'InspectFailed', (err as Error).message);
      throw err;
    }
    const spec = { image, annotations: {} };
    const present = await this.opts.runtime.imageStatus(spec);
    const policy = container.imagePullPolicy ?? defaultPullPolicy(container.image ?? '');
    const shouldPull = policy === 'Always' || (policy !== 'Never' && !present);
    if (!shouldPull) {
      if (present) {
        ev('Normal', 'Pulled', `Container image ${JSON.stringify(container.image)} already present on machine`);
        return { imageRef: present.id };
      }
      const msg = `Container image ${JSON.stringify(container.image)} is not present with pull policy of Never`;
      ev('Warning', 'ErrImageNeverPull', msg);
      throw new ImageError('ErrImageNeverPull', msg);
    }

    const key = `${pod.metadata?.uid}_${container.image}`;
    if (this.backoff.isInBackOffSinceUpdate(key)) {
      const msg = `Back-off pulling image ${JSON.stringify(container.image)}`;
      ev('Normal', 'BackOff', msg);
      throw new ImageError('ImagePullBackOff', msg);
    }

    ev('Normal', 'Pulling', `Pulling image ${JSON.stringify(container.image)}`);
    const start = this.opts.clock.now();
    let pullStart = start;
    let imageRef: string;
    try {
      imageRef = await this.queue.run(async () => {
        pullStart = this.opts.clock.now();
        return this.pull(spec, i.auths ?? [], i.sandboxConfig, i.signal);
      }, i.signal);
    } catch (err) {
      if (hasCode(err, 'SKIFF_ABORTED') || hasCode(err, 'SKIFF_UNAVAILABLE')) throw err;
      const msg = errorMessage(err);
      ev('Warning', 'Failed', `Failed to pull image ${JSON.stringify(container.image)}: ${msg}`);
      this.backoff.next(key);
      throw new ImageError('ErrImagePull', msg, { cause: err });
    }
    const end = this.opts.clock.now();
    let size = 0;
    try {
      size = (await this.opts.runtime.imageStatus({ image: imageRef }))?.size ?? 0;
    } catch (err) {
      this.opts.logger.debug({ err: errorMessage(err), image }, 'image status after pull failed');
    }
    ev(
      'Normal',
      'Pulled',
      `Successfully pulled image ${JSON.stringify(container.image)} in ${formatGoDuration(end - pullStart)} (${formatGoDuration(end - start)} including waiting). Image size: ${size} bytes.`,
    );
    return { imageRef };
  }

  /** When the pull backoff of (pod, image) ends, if it is running. */
  backoffExpiresAt(podUid: string, image: string): number | undefined {
    const key = `${podUid}_${image}`;
    return this.backoff.isInBackOffSinceUpdate(key) ? this.backoff.updateExpiresAt(key) : undefined;
  }

  /** Forgets the backoff entries of a pod. */
  forgetPod(uid: string): void {
    this.backoff.resetPrefix(`${uid}_`);
  }

  /** Drops expired backoff entries. */
  gc(): void {
    this.backoff.gc();
  }

  private async pull(spec: { image: string; annotations: Record<string, string> }, auths: AuthConfig[], sandbox: PodSandboxConfig | undefined, signal?: AbortSignal): Promise<string> {
    const attempt = async (): Promise<string> => {
      if (auths.length === 0) return this.opts.runtime.pullImage(spec, undefined, sandbox);
      let last: unknown;
      for (const auth of auths) {
        try {
          return await this.opts.runtime.pullImage(spec, auth, sandbox);
        } catch (err) {
          if (hasCode(err, 'SKIFF_UNAVAILABLE')) throw err;
          last = err;
        }
      }
      throw last;
    };
    const p = attempt();
    if (!signal) return p;
    // A pull cannot be cancelled in the runtime; an abandoned one finishes in the background.
    p.catch(() => undefined);
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortedError('image pull abandoned'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }
}
