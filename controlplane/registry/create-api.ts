/**
 * `createApi()`: an in-process apiserver (store + registry + bootstrap + client), no network.
 */
import type { KubeClient } from '../../lib/kube/client.js';
import { realClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { MemoryStore, type Store } from '../store/index.js';
import { bootstrap } from './bootstrap.js';
import { InProcessClient, LOOPBACK_USER } from './client.js';
import { Registry, type UserInfo } from './registry.js';

/** Options of {@link createApi}. */
export interface ApiOptions {
  clock?: Clock;
  logger?: Logger;
  /** `--service-cluster-ip-range`; default `10.96.0.0/16`. */
  serviceCidr?: string;
  /** `--service-node-port-range`; default `30000-32767`. */
  nodePortRange?: string;
  /** Address and port the `kubernetes` Service's endpoints point at; default 127.0.0.1:6443. */
  advertiseAddress?: string;
  securePort?: number;
  /** A store to use; default a new {@link MemoryStore}. */
  store?: Store;
  /** For the default memory store: snapshot file loaded at start and written on close. */
  snapshotFile?: string;
  /** For the default memory store: also write the snapshot this often (ms). */
  snapshotIntervalMs?: number;
  /** For the default memory store: events kept for watches (compaction window). */
  historySize?: number;
  /** BOOKMARK interval of watches; default 60 s. */
  bookmarkIntervalMs?: number;
  /** Random source (generateName, IP and port allocation). */
  random?: () => number;
}

/** A running in-process apiserver. */
export interface Api {
  /** A client acting as `system:apiserver` (group `system:masters`). */
  client: InProcessClient & KubeClient;
  /** A client with another identity on the same registry. */
  clientFor(user: UserInfo): InProcessClient;
  registry: Registry;
  store: Store;
  /** Stops the store (writing the snapshot when configured) and ends every watch. */
  close(): Promise<void>;
}

/** Creates the store and registry, bootstraps namespaces and the `kubernetes` Service. */
export async function createApi(opts: ApiOptions = {}): Promise<Api> {
  const clock = opts.clock ?? realClock;
  const store =
    opts.store ??
    new MemoryStore({
      clock,
      logger: opts.logger,
      historySize: opts.historySize,
      snapshotFile: opts.snapshotFile,
      snapshotIntervalMs: opts.snapshotIntervalMs,
    });
  const registry = new Registry({
    store,
    clock,
    logger: opts.logger,
    serviceCidr: opts.serviceCidr,
    nodePortRange: opts.nodePortRange,
    random: opts.random,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
  });
  await registry.init();
  await bootstrap(registry, { advertiseAddress: opts.advertiseAddress ?? '127.0.0.1', securePort: opts.securePort ?? 6443 });
  const client = new InProcessClient(registry, LOOPBACK_USER);
  return {
    client,
    clientFor: (user) => new InProcessClient(registry, user),
    registry,
    store,
    close: () => store.close(),
  };
}

