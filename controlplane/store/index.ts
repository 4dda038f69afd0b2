/**
 * The control plane's storage: one interface ({@link Store}) with etcd3 semantics, and its
 * memory implementation. The registry never knows which implementation is underneath.
 */
export type {
  Store,
  StoreEvent,
  StoreEventType,
  StoreListOptions,
  StoreListResult,
  StoreWatch,
  StoreWriteOptions,
  UpdateDecision,
} from './types.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export {
  StorageError,
  type StorageErrorKind,
  asStorageError,
  isKeyNotFound,
  isKeyExists,
  isStorageConflict,
  isExpired,
} from './errors.js';
export { keyPrefix, objectStoreKey } from './keys.js';
export { AsyncQueue, type AsyncQueueOptions } from './queue.js';
