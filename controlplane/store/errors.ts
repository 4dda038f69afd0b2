/**
 * Storage errors, with the same meaning for every {@link Store} implementation (memory,
 * etcd3). The registry turns them into API `Status` errors (404, 409, 410, …), as
 * apiserver's `storage.InterpretGetError` family does.
 */
import { SkiffError, hasCode } from '../../lib/errors.js';

/** What went wrong in a storage operation. */
export type StorageErrorKind = 'KeyNotFound' | 'KeyExists' | 'Conflict' | 'Expired' | 'TooLarge' | 'Internal';

const CODES: Record<StorageErrorKind, string> = {
  KeyNotFound: 'SKIFF_STORE_KEY_NOT_FOUND',
  KeyExists: 'SKIFF_STORE_KEY_EXISTS',
  Conflict: 'SKIFF_STORE_CONFLICT',
  Expired: 'SKIFF_STORE_EXPIRED',
  TooLarge: 'SKIFF_STORE_TOO_LARGE_REVISION',
  Internal: 'SKIFF_STORE_INTERNAL',
};

/** A failed storage operation. `kind` says why; `key` names the key involved. */
export class StorageError extends SkiffError {
  readonly kind: StorageErrorKind;
  readonly key: string;
  /** For `Expired`: the requested revision and the oldest one still available. */
  readonly requestedRevision?: number;
  readonly compactedRevision?: number;
  /** For `TooLarge`: the store's current revision. */
  readonly currentRevision?: number;

  constructor(
    kind: StorageErrorKind,
    key: string,
    message: string,
    extra?: { requestedRevision?: number; compactedRevision?: number; currentRevision?: number; cause?: unknown },
  ) {
    super(CODES[kind], message, { cause: extra?.cause });
    this.kind = kind;
    this.key = key;
    this.requestedRevision = extra?.requestedRevision;
    this.compactedRevision = extra?.compactedRevision;
    this.currentRevision = extra?.currentRevision;
  }
}

/** The storage error in `err`'s cause chain, if any. */
export function asStorageError(err: unknown): StorageError | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 16; depth++) {
    if (e instanceof StorageError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The key does not exist. */
export const isKeyNotFound = (err: unknown): boolean => hasCode(err, CODES.KeyNotFound);
/** A create found the key already present. */
export const isKeyExists = (err: unknown): boolean => hasCode(err, CODES.KeyExists);
/** A compare-and-swap failed: the key's revision is not the expected one. */
export const isStorageConflict = (err: unknown): boolean => hasCode(err, CODES.Conflict);
/** The requested revision has been compacted out of the history window. */
export const isExpired = (err: unknown): boolean => hasCode(err, CODES.Expired);
