/**
 * Test harness for the node subsystem: the companion control plane's in-process apiserver,
 * a FakeClock, a fixture machine root and a tiny fake runtime.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { createApi, type Api } from '../../../controlplane/index.js';
import { FakeClock } from '../../../lib/clock.js';
import { UnavailableError } from '../../../lib/errors.js';
import { silentLogger } from '../../../lib/log.js';
import type { DeleteOptions, KubeClient, KubeObject, ListOptions, ObjectList, PatchType, ResourceType, WatchOptions, WatchStream, WriteOptions } from '../../../lib/kube/index.js';
import { loadAgentConfig, type AgentConfig } from '../../config/index.js';
import { MemoryEventRecorder } from '../../events/index.js';
import type { Image, Runtime, RuntimeCondition, RuntimeStatus, VersionResponse } from '../../runtime/index.js';
import { createNodeManager, type NodeManager } from '../index.js';
import { fixtureInterfaces, makeFactsRoot, type FixtureOptions } from './make-fixture.js';

/** A runtime that answers Version/Status/ListImages/UpdateRuntimeConfig and counts calls. */
export class FakeNodeRuntime {
  statusCalls = 0;
  updateRuntimeConfigCalls: string[] = [];
  /** When set, Status() rejects as an unreachable runtime would. */
  down = false;
  failUpdateRuntimeConfig = 0;
  conditions: RuntimeCondition[] = [
    { type: 'RuntimeReady', status: true, reason: '', message: '' },
    { type: 'NetworkReady', status: true, reason: '', message: '' },
  ];
  images: Image[] = [
    { id: 'sha256:a', repoTags: ['docker.io/library/busybox:1.29'], repoDigests: ['docker.io/library/busybox@sha256:aaa'], size: 1_000 },
    { id: 'sha256:b', repoTags: ['registry.k8s.io/pause:3.6'], repoDigests: [], size: 500 },
  ];

  async version(): Promise<VersionResponse> {
    if (this.down) throw new UnavailableError('connection refused');
    return { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: '1.6.20', runtimeApiVersion: 'v1' };
  }
  async status(): Promise<RuntimeStatus> {
    this.statusCalls++;
    if (this.down) throw new UnavailableError('connection refused');
    return { conditions: this.conditions.map((c) => ({ ...c })) };
  }
  async listImages(): Promise<Image[]> {
    if (this.down) throw new UnavailableError('connection refused');
    return this.images;
  }
  async updateRuntimeConfig(podCidr: string): Promise<void> {
    if (this.failUpdateRuntimeConfig > 0) {
      this.failUpdateRuntimeConfig--;
      throw new UnavailableError('runtime unavailable');
    }
    this.updateRuntimeConfigCalls.push(podCidr);
  }
  close(): void {}
}

/** A KubeClient that delegates to another, but fails every call while `down` (or for chosen resources). */
export class FlakyClient implements KubeClient {
  down = false;
  /** Resources (`leases`, `nodes`) whose calls fail while `down`; empty = all. */
  only: string[] = [];
  calls: string[] = [];
  constructor(private readonly inner: KubeClient) {}
  private gate(type: ResourceType, verb: string): void {
    this.calls.push(`${verb} ${type.resource}`);
    if (this.down && (this.only.length === 0 || this.only.includes(type.resource))) throw new UnavailableError(`dial tcp 127.0.0.1:6443: connect: connection refused (${verb} ${type.resource})`);
  }
  async get<T extends KubeObject>(type: ResourceType, ns: string | undefined, name: string, opts?: { signal?: AbortSignal }): Promise<T> {
    this.gate(type, 'get');
    return this.inner.get<T>(type, ns, name, opts);
  }
  async list<T extends KubeObject>(type: ResourceType, opts?: ListOptions): Promise<ObjectList<T>> {
    this.gate(type, 'list');
    return this.inner.list<T>(type, opts);
  }
  async watch<T extends KubeObject>(type: ResourceType, opts?: WatchOptions): Promise<WatchStream<T>> {
    this.gate(type, 'watch');
    return this.inner.watch<T>(type, opts);
  }
  async create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    this.gate(type, 'create');
    return this.inner.create<T>(type, obj, opts);
  }
  async update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T> {
    this.gate(type, 'update');
    return this.inner.update<T>(type, obj, opts);
  }
  async patch<T extends KubeObject>(type: ResourceType, ns: string | undefined, name: string, pt: PatchType, patch: unknown, opts?: WriteOptions): Promise<T> {
    this.gate(type, `patch${opts?.subresource ? `/${opts.subresource}` : ''}`);
    return this.inner.patch<T>(type, ns, name, pt, patch, opts);
  }
  async delete<T extends KubeObject>(type: ResourceType, ns: string | undefined, name: string, opts?: DeleteOptions): Promise<T | Status> {
    this.gate(type, 'delete');
    return this.inner.delete<T>(type, ns, name, opts);
  }
  async createSubresource<B, R>(type: ResourceType, ns: string | undefined, name: string, sub: string, body: B, opts?: WriteOptions): Promise<R> {
    this.gate(type, 'create');
    return this.inner.createSubresource<B, R>(type, ns, name, sub, body, opts);
  }
}

/** Everything a node test needs. */
export interface Harness {
  clock: FakeClock;
  api: Api;
  client: FlakyClient;
  runtime: FakeNodeRuntime;
  events: MemoryEventRecorder;
  config: AgentConfig;
  root: string;
  dir: string;
  manager: NodeManager;
  /** Advances the fake clock in steps, letting real I/O settle in between. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /**
   * Polls in real time until `fn` stops throwing. With `advanceMs`, the fake clock also moves
   * forward by that much between polls (for waits that need both timers and real I/O).
   */
  until<T>(fn: () => T | Promise<T>, what?: string, advanceMs?: number): Promise<T>;
  /** Rewrites a file of the fixture root. */
  writeFact(path: string, text: string): void;
  close(): Promise<void>;
}

/** Real-time pause to let file I/O finish (no timing is asserted). */
export function settle(ms = 5): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts the in-process apiserver and builds (does not start) a node manager. */
export async function makeHarness(opts: { fixture?: FixtureOptions; args?: string[]; patchConfig?: (c: AgentConfig) => void } = {}): Promise<Harness> {
  const clock = new FakeClock(Date.UTC(2026, 10, 22, 4, 0, 0));
  const api = await createApi({ clock, logger: silentLogger() });
  const client = new FlakyClient(api.client);
  const runtime = new FakeNodeRuntime();
  const events = new MemoryEventRecorder();
  const root = makeFactsRoot(opts.fixture);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-node-'));
  const { config } = loadAgentConfig(['--kubeconfig=/dev/null', '--hostname-override=node-1', `--root-dir=${dir}`, `--cni-conf-dir=${join(dir, 'cni')}`, ...(opts.args ?? [])]);
  opts.patchConfig?.(config);
  const manager = createNodeManager({
    config,
    client,
    runtime: runtime as unknown as Runtime,
    events,
    clock,
    logger: silentLogger(),
    factsRoot: root,
    facts: { cpus: 2, interfaces: fixtureInterfaces, fsPath: root },
    random: () => 0,
  });
  const until = async <T>(fn: () => T | Promise<T>, what = 'condition', advanceMs = 0): Promise<T> => {
    let last: unknown;
    for (let i = 0; i < 400; i++) {
      try {
        return await fn();
      } catch (err) {
        last = err;
        if (advanceMs > 0) await clock.advance(advanceMs);
        await settle(5);
      }
    }
    throw new Error(`timed out waiting for ${what}: ${(last as Error)?.message ?? last}`);
  };
  return {
    clock,
    api,
    client,
    runtime,
    events,
    config,
    root,
    dir,
    manager,
    until,
    async advance(ms: number, stepMs = 100) {
      for (let done = 0; done < ms; done += stepMs) {
        await clock.advance(Math.min(stepMs, ms - done));
        await settle(2);
      }
    },
    writeFact(path: string, text: string) {
      writeFileSync(join(root, path), text);
    },
    async close() {
      await manager.stop();
      await api.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
