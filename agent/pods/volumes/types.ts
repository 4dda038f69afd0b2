/** Shared volume types. */

/** A volume ready to be mounted into containers. */
export interface MountedVolume {
  /** Path on the host (under the pod directory, or a hostPath volume's path). */
  hostPath: string;
  /** The volume itself is read-only (configMap, secret, downwardAPI, projected). */
  readOnly: boolean;
  /** The host path is a directory (false for a hostPath file, socket or device), for subPath handling. */
  isDir: boolean;
}
