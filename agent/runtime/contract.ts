/**
 * The runtime contract: one suite of behaviours every {@link Runtime} must show, registered
 * with vitest for a given harness. The unit tests run it against the `FakeRuntime`; the
 * integration tier runs the very same suite against real containerd, which is how we know
 * the fake is honest.
 *
 * Usage, in a `*.test.ts` / `*.int.test.ts`:
 * ```ts
 * runtimeContract('fake', async () => ({ runtime: new FakeRuntime(...), image: 'busybox:1.29', ... }));
 * ```
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound } from '../../lib/errors.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig, Runtime } from './types.js';

/** What a runtime under contract must provide to the suite. */
export interface RuntimeContractHarness {
  runtime: Runtime;
  /** An image already present in the runtime's image store (e.g. `docker.io/library/busybox:1.29`). */
  image: string;
  /** An image reference that cannot be pulled. */
  missingImage: string;
  /** A command that runs until stopped. */
  runForever: string[];
  /** A command that exits by itself with `code`. */
  exitWith(code: number): string[];
  /** A directory for sandbox log directories; the harness creates and removes it. */
  logRoot: string;
  /** Releases what the harness set up (runtime processes, directories). */
  teardown?(): Promise<void>;
}

/** Options of {@link runtimeContract}. */
export interface RuntimeContractOptions {
  /** How long to wait for an asynchronous state change (a process exiting). Default 15 s. */
  waitMs?: number;
}

const CONTRACT_LABEL = 'io.skiff.contract';

/** Registers the contract suite for the runtime the harness provides. */
export function runtimeContract(name: string, setup: () => Promise<RuntimeContractHarness>, opts: RuntimeContractOptions = {}): void {
  const waitMs = opts.waitMs ?? 15_000;

  describe(`runtime contract: ${name}`, () => {
    let h: RuntimeContractHarness;
    let rt: Runtime;
    const run = randomBytes(4).toString('hex');

    beforeAll(async () => {
      h = await setup();
      rt = h.runtime;
    });

    afterEach(async () => {
      if (!rt) return;
      const mine = await rt.listPodSandbox({ labelSelector: { [CONTRACT_LABEL]: run } });
      for (const s of mine) await rt.removePodSandbox(s.id);
    });

    afterAll(async () => {
      await h?.teardown?.();
    });

    let seq = 0;
    function sandboxConfig(extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
      seq++;
      const uid = `${run}-${seq}-${randomBytes(4).toString('hex')}`;
      return {
        metadata: { name: `contract-${seq}`, namespace: 'contract', uid, attempt: 0 },
        hostname: `contract-${seq}`,
        logDirectory: join(h.logRoot, `contract_contract-${seq}_${uid}`),
        labels: { [CONTRACT_LABEL]: run, 'io.kubernetes.pod.uid': uid, app: 'contract' },
        annotations: { 'contract/note': 'hello' },
        linux: {},
        ...extra,
      };
    }

    function containerConfig(name: string, command: string[], attempt = 0): ContainerConfig {
      return {
        metadata: { name, attempt },
        image: { image: h.image },
        command,
        labels: { [CONTRACT_LABEL]: run, 'io.kubernetes.container.name': name },
        annotations: { 'contract/container': name },
        logPath: `${name}/${attempt}.log`,
      };
    }

    async function waitForState(id: string, state: ContainerStatus['state']): Promise<ContainerStatus> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const st = await rt.containerStatus(id);
        if (st.state === state) return st;
        if (Date.now() > deadline) throw new Error(`container ${id} did not reach ${state} (is ${st.state})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    async function expectRejects(p: Promise<unknown>): Promise<unknown> {
      try {
        await p;
      } catch (err) {
        return err;
      }
      throw new Error('expected the call to fail');
    }

    it('reports its version and readiness', async () => {
      const v = await rt.version();
      expect(v.runtimeApiVersion).toBe('v1');
      expect(v.runtimeName).not.toBe('');
      const st = await rt.status();
      expect(st.conditions.find((c) => c.type === 'RuntimeReady')?.status).toBe(true);
    });

    it('runs, lists, stops and removes a sandbox', async () => {
      const cfg = sandboxConfig();
      const id = await rt.runPodSandbox(cfg);
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const st = await rt.podSandboxStatus(id);
      expect(st.state).toBe('SANDBOX_READY');
      expect(st.metadata).toMatchObject(cfg.metadata);
      expect(st.labels).toMatchObject(cfg.labels!);
      expect(st.annotations).toMatchObject(cfg.annotations!);
      expect(st.createdAt).toBeGreaterThan(0);
      expect(st.network?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      const listed = await rt.listPodSandbox({ id });
      expect(listed.map((s) => s.id)).toEqual([id]);
      expect(listed[0].state).toBe('SANDBOX_READY');

      await rt.stopPodSandbox(id);
      expect((await rt.podSandboxStatus(id)).state).toBe('SANDBOX_NOTREADY');
      await rt.stopPodSandbox(id); // idempotent

      await rt.removePodSandbox(id);
      expect(await rt.listPodSandbox({ id })).toEqual([]);
      const err = await expectRejects(rt.podSandboxStatus(id));
      expect(isNotFound(err)).toBe(true);
      await rt.removePodSandbox(id); // removing a removed sandbox is not an error
    });

    it('filters sandboxes by id, state and labels', async () => {
      const a = await rt.runPodSandbox(sandboxConfig());
      const b = await rt.runPodSandbox(sandboxConfig({ labels: { [CONTRACT_LABEL]: run, tier: 'b' } }));
      await rt.stopPodSandbox(b);
      const ready = await rt.listPodSandbox({ state: 'SANDBOX_READY', labelSelector: { [CONTRACT_LABEL]: run } });
      expect(ready.map((s) => s.id)).toEqual([a]);
      const tierB = await rt.listPodSandbox({ labelSelector: { [CONTRACT_LABEL]: run, tier: 'b' } });
      expect(tierB.map((s) => s.id)).toEqual([b]);
      expect((await rt.listPodSandbox({ id: a })).map((s) => s.id)).toEqual([a]);
    });

    it('refuses a second sandbox with the same metadata, accepts the next attempt', async () => {
      const cfg = sandboxConfig();
      await rt.runPodSandbox(cfg);
      const err = await expectRejects(rt.runPodSandbox(cfg));
      expect(String((err as Error).message)).toMatch(/reserve/);
      const next = await rt.runPodSandbox({ ...cfg, metadata: { ...cfg.metadata, attempt: 1 } });
      expect((await rt.podSandboxStatus(next)).metadata.attempt).toBe(1);
    });

    it('takes a container through created, running, exited and removed', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const cfg = containerConfig('main', h.runForever);
      const id = await rt.createContainer(sid, cfg, sb);
      let st = await rt.containerStatus(id);
      expect(st.state).toBe('CONTAINER_CREATED');
      expect(st.metadata).toEqual({ name: 'main', attempt: 0 });
      expect(st.createdAt).toBeGreaterThan(0);
      expect(st.startedAt).toBe(0);
      expect(st.labels).toMatchObject(cfg.labels!);
      expect(st.annotations).toMatchObject(cfg.annotations!);
      expect(st.logPath).toBe(join(sb.logDirectory!, 'main/0.log'));
      expect(st.imageRef).not.toBe('');

      await rt.startContainer(id);
      st = await rt.containerStatus(id);
      expect(st.state).toBe('CONTAINER_RUNNING');
      expect(st.startedAt).toBeGreaterThanOrEqual(st.createdAt);
      await expectRejects(rt.startContainer(id)); // only from CREATED

      const listed = await rt.listContainers({ podSandboxId: sid });
      expect(listed.map((c) => [c.id, c.state, c.metadata.name])).toEqual([[id, 'CONTAINER_RUNNING', 'main']]);
      expect(listed[0].podSandboxId).toBe(sid);

      await rt.stopContainer(id, 0);
      st = await rt.containerStatus(id);
      expect(st.state).toBe('CONTAINER_EXITED');
      expect(st.exitCode).toBe(137);
      expect(st.reason).toBe('Error');
      expect(st.finishedAt).toBeGreaterThanOrEqual(st.startedAt);
      await rt.stopContainer(id, 0); // stopping a stopped container is a no-op

      await rt.removeContainer(id);
      expect(await rt.listContainers({ id })).toEqual([]);
      expect(isNotFound(await expectRejects(rt.containerStatus(id)))).toBe(true);
      await rt.removeContainer(id); // not an error
    });

    it('reports a container that exits by itself, with Completed or Error', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const ok = await rt.createContainer(sid, containerConfig('ok', h.exitWith(0)), sb);
      const bad = await rt.createContainer(sid, containerConfig('bad', h.exitWith(3)), sb);
      await rt.startContainer(ok);
      await rt.startContainer(bad);
      const okSt = await waitForState(ok, 'CONTAINER_EXITED');
      const badSt = await waitForState(bad, 'CONTAINER_EXITED');
      expect([okSt.exitCode, okSt.reason]).toEqual([0, 'Completed']);
      expect([badSt.exitCode, badSt.reason]).toEqual([3, 'Error']);
      // No order between startedAt and finishedAt here: containerd 1.6 stamps startedAt after
      // the task start returned, and a process that exits at once can finish "before" that.
      expect(badSt.finishedAt).toBeGreaterThan(0);
    });

    it('stops a running container within its timeout (TERM, then KILL)', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const id = await rt.createContainer(sid, containerConfig('main', h.runForever), sb);
      await rt.startContainer(id);
      await rt.stopContainer(id, 1);
      const st = await rt.containerStatus(id);
      expect(st.state).toBe('CONTAINER_EXITED');
      expect([137, 143]).toContain(st.exitCode);
    });

    it('refuses to create a container without a ready sandbox or a present image', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      await expectRejects(rt.createContainer('0'.repeat(64), containerConfig('x', h.runForever), sb));
      const missing = { ...containerConfig('y', h.runForever), image: { image: h.missingImage } };
      await expectRejects(rt.createContainer(sid, missing, sb));
      await rt.stopPodSandbox(sid);
      await expectRejects(rt.createContainer(sid, containerConfig('z', h.runForever), sb));
    });

    it('refuses a second container with the same name and attempt in a sandbox', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      await rt.createContainer(sid, containerConfig('main', h.runForever, 0), sb);
      const err = await expectRejects(rt.createContainer(sid, containerConfig('main', h.runForever, 0), sb));
      expect(String((err as Error).message)).toMatch(/reserve/);
      await rt.createContainer(sid, containerConfig('main', h.runForever, 1), sb);
    });

    it('force-kills a running container on removal', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const id = await rt.createContainer(sid, containerConfig('main', h.runForever), sb);
      await rt.startContainer(id);
      await rt.removeContainer(id);
      expect(await rt.listContainers({ podSandboxId: sid })).toEqual([]);
    });

    it('stops the containers of a stopped sandbox and removes them with it', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const id = await rt.createContainer(sid, containerConfig('main', h.runForever), sb);
      await rt.startContainer(id);
      await rt.stopPodSandbox(sid);
      expect((await rt.containerStatus(id)).state).toBe('CONTAINER_EXITED');
      await rt.removePodSandbox(sid);
      expect(await rt.listContainers({ podSandboxId: sid })).toEqual([]);
      expect(isNotFound(await expectRejects(rt.containerStatus(id)))).toBe(true);
    });

    it('removes a ready sandbox by stopping it first', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const id = await rt.createContainer(sid, containerConfig('main', h.runForever), sb);
      await rt.startContainer(id);
      await rt.removePodSandbox(sid);
      expect(await rt.listPodSandbox({ id: sid })).toEqual([]);
      expect(await rt.listContainers({ id })).toEqual([]);
    });

    it('filters containers by sandbox, state and labels', async () => {
      const sb = sandboxConfig();
      const sid = await rt.runPodSandbox(sb);
      const a = await rt.createContainer(sid, containerConfig('a', h.runForever), sb);
      const b = await rt.createContainer(sid, containerConfig('b', h.runForever), sb);
      await rt.startContainer(a);
      const running = await rt.listContainers({ podSandboxId: sid, state: 'CONTAINER_RUNNING' });
      expect(running.map((c) => c.id)).toEqual([a]);
      const byLabel = await rt.listContainers({ labelSelector: { [CONTRACT_LABEL]: run, 'io.kubernetes.container.name': 'b' } });
      expect(byLabel.map((c) => c.id)).toEqual([b]);
      const none = await rt.listContainers({ labelSelector: { [CONTRACT_LABEL]: run, 'io.kubernetes.container.name': 'nope' } });
      expect(none).toEqual([]);
    });

    it('answers NotFound for unknown ids', async () => {
      const unknown = 'f'.repeat(64);
      expect(isNotFound(await expectRejects(rt.podSandboxStatus(unknown)))).toBe(true);
      expect(isNotFound(await expectRejects(rt.containerStatus(unknown)))).toBe(true);
      expect(isNotFound(await expectRejects(rt.stopContainer(unknown, 0)))).toBe(true);
    });

    it('knows which images are present and fails to pull an unknown one like containerd', async () => {
      const present = await rt.imageStatus({ image: h.image });
      expect(present?.id).toMatch(/^sha256:/);
      expect(present?.size).toBeGreaterThan(0);
      expect(await rt.imageStatus({ image: h.missingImage })).toBeUndefined();
      const all = await rt.listImages();
      expect(all.map((i) => i.id)).toContain(present!.id);
      const err = await expectRejects(rt.pullImage({ image: h.missingImage }));
      expect((err as Error).message).toMatch(/^failed to pull and unpack image "[^"]+": failed to resolve reference/);
    });
  });
}
