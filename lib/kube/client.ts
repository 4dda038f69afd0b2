/**
 * The one client interface every Skiff component uses to talk to an apiserver.
 *
 * Two implementations exist: the HTTP client (`rest-client.ts`, undici, kubeconfig
 * credentials) used by the agent against kube-apiserver or the companion control plane,
 * and the companion control plane's in-process client, used by its own scheduler and
 * controllers and by unit tests as an honest in-memory apiserver.
 */
import type { ListMeta, ObjectMeta, Status } from 'kubernetes-types/meta/v1.js';
import type { ResourceType } from './resources.js';

/** Anything with Kubernetes object metadata. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** A list response (`PodList`, …). */
export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

/** Query options of a list. */
export interface ListOptions {
  /** Omit for all namespaces, or for cluster-scoped resources. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

/** Query options of a watch. */
export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

/** The type of a watch event. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One watch event. For `ERROR` the object is a `Status`. */
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

/**
 * An open watch. Iterate it for events; iteration ends when the server closes the stream
 * (a normal timeout) and throws when the connection fails. `close()` ends it early.
 */
export interface WatchStream<T> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
}

/** Options of a create, update or patch. */
export interface WriteOptions {
  fieldManager?: string;
  /** `Strict`, `Warn` or `Ignore` (kube-apiserver's `fieldValidation`). */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  dryRun?: boolean;
  /** Write a subresource (`status`, `scale`) instead of the main resource. */
  subresource?: string;
  signal?: AbortSignal;
}

/** The patch formats kube-apiserver accepts. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Content types of each {@link PatchType}. */
export const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = Object.freeze({
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
});

/** Options of a delete. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** Typed access to an apiserver. Errors are `ApiError`s carrying the server's `Status`. */
export interface KubeClient {
  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: { signal?: AbortSignal }): Promise<T>;
  list<T extends KubeObject>(type: ResourceType, opts?: ListOptions): Promise<ObjectList<T>>;
  /** Opens a watch; resolves once the server accepted it, rejects with e.g. 410 Gone. */
  watch<T extends KubeObject>(type: ResourceType, opts?: WatchOptions): Promise<WatchStream<T>>;
  /** Creates `obj` in `obj.metadata.namespace`. */
  create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T>;
  /** Replaces `obj` (compare-and-swap on `metadata.resourceVersion` when it is set). */
  update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T>;
  patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts?: WriteOptions,
  ): Promise<T>;
  /** Deletes; resolves to the object (when it lingers, e.g. graceful pod deletion) or a Status. */
  delete<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T | Status>;
  /** POSTs to a subresource such as `pods/binding` or `pods/eviction`. */
  createSubresource<B, R>(type: ResourceType, namespace: string | undefined, name: string, subresource: string, body: B, opts?: WriteOptions): Promise<R>;
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's key). */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by {@link objectKey}. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
