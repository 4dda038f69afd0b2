/**
 * The in-process {@link KubeClient}: the same registry code path as HTTP requests
 * (defaulting, validation, admission, storage) without a network hop. It is the honest
 * in-memory apiserver for the control plane's own scheduler and controllers and for unit
 * tests. Every object it returns is a private copy.
 */
import type { Status } from 'kubernetes-types/meta/v1.js';
import type {
  DeleteOptions,
  KubeClient,
  KubeObject,
  ListOptions,
  ObjectList,
  PatchType,
  WatchOptions,
  WatchStream,
  WriteOptions,
} from '../../lib/kube/client.js';
import type { ResourceType } from '../../lib/kube/resources.js';
import { AbortedError } from '../../lib/errors.js';
import type { Registry, RequestContext, UserInfo } from './registry.js';

/** The identity of the in-process client when none is given. */
export const LOOPBACK_USER: UserInfo = Object.freeze({ username: 'system:apiserver', groups: ['system:masters'] }) as UserInfo;

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('request aborted', { cause: signal.reason });
}

function writeOpts(opts: WriteOptions | undefined): Omit<WriteOptions, 'signal'> {
  if (!opts) return {};
  const { signal: _s, ...rest } = opts;
  return rest;
}

/** A {@link KubeClient} that calls the registry directly, as `user`. */
export class InProcessClient implements KubeClient {
  /** Warnings the server returned (unknown fields with fieldValidation=Warn), newest last. */
  readonly warnings: string[] = [];

  constructor(
    private readonly registry: Registry,
    readonly user: UserInfo = LOOPBACK_USER,
  ) {}

  /** The same registry, with another identity (e.g. `system:kube-scheduler`). */
  as(user: UserInfo): InProcessClient {
    return new InProcessClient(this.registry, user);
  }

  private ctx(): RequestContext {
    return { user: this.user, warnings: this.warnings };
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: { signal?: AbortSignal }): Promise<T> {
    checkSignal(opts?.signal);
    return (await this.registry.get(type, namespace, name)) as unknown as T;
  }

  async list<T extends KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    checkSignal(opts.signal);
    return (await this.registry.list(type, opts)) as unknown as ObjectList<T>;
  }

  async watch<T extends KubeObject>(type: ResourceType, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    checkSignal(opts.signal);
    return (await this.registry.watch(type, opts)) as unknown as WatchStream<T>;
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    checkSignal(opts?.signal);
    if (opts?.subresource) {
      throw new TypeError('use createSubresource() to POST to a subresource');
    }
    return (await this.registry.create(type, obj.metadata?.namespace, obj, writeOpts(opts), this.ctx())) as unknown as T;
  }

  async update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    checkSignal(opts?.signal);
    const name = obj.metadata?.name ?? '';
    return (await this.registry.update(type, obj.metadata?.namespace, name, obj, writeOpts(opts), this.ctx())) as unknown as T;
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patch: unknown,
    opts?: WriteOptions,
  ): Promise<T> {
    checkSignal(opts?.signal);
    const body = typeof patch === 'string' ? (JSON.parse(patch) as unknown) : JSON.parse(JSON.stringify(patch));
    return (await this.registry.patch(type, namespace, name, patchType, body, writeOpts(opts), this.ctx())) as unknown as T;
  }

  async delete<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<T | Status> {
    checkSignal(opts?.signal);
    const { signal: _s, ...rest } = opts ?? {};
    return (await this.registry.delete(type, namespace, name, rest, this.ctx())) as T | Status;
  }

  async createSubresource<B, R>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource: string,
    body: B,
    opts?: WriteOptions,
  ): Promise<R> {
    checkSignal(opts?.signal);
    return (await this.registry.createSubresource(type, namespace, name, subresource, body, writeOpts(opts), this.ctx())) as unknown as R;
  }

  /** Reads a subresource (`status`, `scale`). Not part of {@link KubeClient}. */
  async getSubresource<R>(type: ResourceType, namespace: string | undefined, name: string, subresource: string): Promise<R> {
    return (await this.registry.getSubresource(type, namespace, name, subresource)) as unknown as R;
  }

  /** DELETE on a collection, with selectors. Not part of {@link KubeClient}. */
  async deleteCollection(type: ResourceType, listOpts: ListOptions = {}, opts: DeleteOptions = {}): Promise<ObjectList<KubeObject>> {
    return this.registry.deleteCollection(type, listOpts.namespace, listOpts, opts, this.ctx());
  }
}
