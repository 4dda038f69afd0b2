/** Errors of the volume manager. */
import { SkiffError } from '../../../lib/errors.js';

/** The Event reason a volume failure is reported under. */
export type VolumeFailureReason = 'FailedMount' | 'FailedAttachVolume';

/**
 * A volume could not be set up (code `SKIFF_VOLUME`). The message is kubelet's Event text,
 * e.g. `MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found`; it never
 * contains secret data.
 */
export class VolumeError extends SkiffError {
  /** `spec.volumes[].name` of the failing volume. */
  readonly volumeName: string;
  /** Event reason: `FailedMount` or `FailedAttachVolume`. */
  readonly reason: VolumeFailureReason;
  /** Every volume failure of the same `setUp` call (this one first), one Event each. */
  errors: VolumeError[];

  constructor(message: string, options: { volumeName: string; reason?: VolumeFailureReason; cause?: unknown }) {
    super('SKIFF_VOLUME', message, { cause: options.cause });
    this.volumeName = options.volumeName;
    this.reason = options.reason ?? 'FailedMount';
    this.errors = [this];
  }
}

/** A pod's volumes could not be torn down (code `SKIFF_VOLUME_TEARDOWN`); the directory is kept. */
export class VolumeTearDownError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_VOLUME_TEARDOWN', message, options);
  }
}

/**
 * A container's volumeMounts cannot be turned into runtime mounts (code `SKIFF_CONTAINER_MOUNT`),
 * e.g. `cannot find volume "data" to mount into container "web"`. kubelet reports this as
 * `CreateContainerConfigError`.
 */
export class ContainerMountError extends SkiffError {
  /** The volumeMount's volume name. */
  readonly volumeName: string;
  readonly containerName: string;
  constructor(message: string, options: { volumeName: string; containerName: string; cause?: unknown }) {
    super('SKIFF_CONTAINER_MOUNT', message, { cause: options.cause });
    this.volumeName = options.volumeName;
    this.containerName = options.containerName;
  }
}

/** True for a {@link VolumeError}. */
export function isVolumeError(err: unknown): err is VolumeError {
  return err instanceof VolumeError;
}
