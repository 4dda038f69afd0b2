/**
 * The CRI client against a real containerd 1.6, running in a network namespace this file
 * creates (MACHINE.md: pod networking must stay off the host), with Skiff's offline images
 * and a bridge conflist for 10.88.0.0/24. The tests run in order and share one pod.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerdTestSkipReason, findShims, mountsUnder, startTestContainerd, type TestContainerd } from '../../../cluster/containerd/index.js';
import { BUSYBOX_IMAGE, PAUSE_IMAGE } from '../../../images/index.js';
import { isUnimplemented, NotFoundError, RuntimeError, UnavailableError } from '../errors.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig } from '../types.js';

const skipReason = containerdTestSkipReason();
if (skipReason) console.warn(`skipping CRI integration tests: ${skipReason}`);

const RUN = Math.random().toString(36).slice(2, 8);

function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  const toInt = (a: string): number => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = Number(len) === 0 ? 0 : (~0 << (32 - Number(len))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipReason !== undefined)('CRI client against a real containerd', () => {
  let env: TestContainerd;
  let sandboxConfig: PodSandboxConfig;
  let sandboxId: string;
  let podIp: string;
  let httpdId: string;
  const uid = `uid-${RUN}`;

  beforeAll(async () => {
    env = await startTestContainerd({ podCidr: '10.88.0.0/24' });
    console.info(`containerd start ${env.timings.containerd} ms, image build+import ${env.timings.images} ms`);
    const logDirectory = join(env.stateDir, 'pods', `default_web_${uid}`);
    mkdirSync(logDirectory, { recursive: true });
    sandboxConfig = {
      metadata: { name: 'web', uid, namespace: 'default', attempt: 0 },
      hostname: 'web',
      logDirectory,
      labels: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.uid': uid, 'skiff-test': RUN, app: 'web' },
      annotations: { 'skiff.test/run': RUN },
      linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
  });

  afterAll(async () => {
    await env?.dispose();
  });

  it('answers Version, and Status with RuntimeReady and NetworkReady', async () => {
    const v = await env.cri.version();
    expect(v.runtimeName).toBe('containerd');
    expect(v.runtimeApiVersion).toBe('v1');
    // containerd loads the conflist asynchronously (fsnotify); NetworkReady may lag a little.
    const status = await waitFor('NetworkReady', async () => {
      const s = await env.cri.status();
      return s.conditions.every((c) => c.status) ? s : undefined;
    });
    const types = status.conditions.map((c) => c.type).sort();
    expect(types).toEqual(['NetworkReady', 'RuntimeReady']);
    await env.cri.updateRuntimeConfig(env.podCidr);
  });

  it('lists the imported images; ImageStatus of a missing image is undefined', async () => {
    const tags = (await env.cri.listImages()).flatMap((i) => i.repoTags);
    expect(tags).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, PAUSE_IMAGE]));
    const busybox = await env.cri.imageStatus({ image: BUSYBOX_IMAGE });
    expect(busybox?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(busybox?.size).toBeGreaterThan(0);
    expect(await env.cri.imageStatus({ image: 'docker.io/library/doesnotexist:1' })).toBeUndefined();
    const fs = await env.cri.imageFsInfo();
    expect(fs[0]?.fsId?.mountpoint).toContain(env.stateDir);
  });

  it('fails PullImage of a missing image quickly with a readable RuntimeError', async () => {
    const t0 = Date.now();
    const err = await env.cri.pullImage({ image: 'docker.io/library/doesnotexist:1' }).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    console.info(`failed pull took ${ms} ms: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toMatch(/doesnotexist:1/);
    expect((err as Error).message).not.toMatch(/^\d+ [A-Z_]+:/); // the runtime's text, not grpc's "2 UNKNOWN: …"
    expect(ms).toBeLessThan(60_000);
  });

  it('runs a pod sandbox with CNI: an IP from the pod CIDR, READY status', async () => {
    const t0 = Date.now();
    sandboxId = await env.cri.runPodSandbox(sandboxConfig);
    console.info(`RunPodSandbox took ${Date.now() - t0} ms`);
    const st = await env.cri.podSandboxStatus(sandboxId);
    expect(st.state).toBe('SANDBOX_READY');
    expect(st.metadata).toEqual(sandboxConfig.metadata);
    expect(st.labels).toMatchObject(sandboxConfig.labels ?? {});
    expect(st.annotations).toEqual(sandboxConfig.annotations);
    podIp = st.network?.ip ?? '';
    expect(inCidr(podIp, env.podCidr)).toBe(true);
    expect(podIp).not.toBe('10.88.0.1'); // the gateway
  });

  it('creates and starts busybox httpd with command, args, env and workingDir; reachable from the namespace', async () => {
    const config: ContainerConfig = {
      metadata: { name: 'httpd', attempt: 0 },
      image: { image: BUSYBOX_IMAGE },
      command: ['sh'],
      args: ['-c', 'echo "hello from $GREETING" > index.html; echo hello; exec httpd -f -p 80 -h /tmp'],
      workingDir: '/tmp',
      envs: [{ key: 'GREETING', value: `skiff-${RUN}` }],
      labels: { 'io.kubernetes.container.name': 'httpd', role: 'server', 'skiff-test': RUN },
      annotations: { 'io.kubernetes.container.restartCount': '0' },
      logPath: 'httpd/0.log',
    };
    const t0 = Date.now();
    httpdId = await env.cri.createContainer(sandboxId, config, sandboxConfig);
    await env.cri.startContainer(httpdId);
    console.info(`CreateContainer+StartContainer took ${Date.now() - t0} ms`);
    const st = await env.cri.containerStatus(httpdId);
    expect(st.state).toBe('CONTAINER_RUNNING');
    expect(st.startedAt).toBeGreaterThan(0);
    expect(st.image.image).toBe(BUSYBOX_IMAGE);
    expect(st.logPath).toBe(join(sandboxConfig.logDirectory ?? '', 'httpd/0.log'));
    const body = await waitFor('httpd to answer', async () => {
      // No `-T`: Debian bookworm's busybox 1.35 wget segfaults when given a timeout.
      const r = env.execInNetns(['/bin/busybox', 'wget', '-qO-', `http://${podIp}/`], 5000);
      return r.status === 0 ? r.stdout : undefined;
    });
    expect(body.trim()).toBe(`hello from skiff-${RUN}`);
  });

  it('writes container logs in the CRI format to <logDirectory>/<logPath>', async () => {
    const file = join(sandboxConfig.logDirectory ?? '', 'httpd/0.log');
    const text = await waitFor('log line', async () => {
      const t = readFileSync(file, 'utf8');
      return t.includes('stdout F hello') ? t : undefined;
    });
    expect(text.split('\n')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/);
    await env.cri.reopenContainerLog(httpdId);
  });

  it('runs ExecSync with separate stdout, stderr and exit code', async () => {
    const r = await env.cri.execSync(httpdId, ['sh', '-c', 'echo out; echo err >&2; pwd; exit 7'], 10);
    expect(r.stdout.toString()).toBe('out\n/tmp\n');
    expect(r.stderr.toString()).toBe('err\n');
    expect(r.exitCode).toBe(7);
  });

  it('returns an exec URL from the streaming server, and stats', async () => {
    const url = await env.cri.streaming.exec({ containerId: httpdId, cmd: ['sh'], tty: false, stdin: true, stdout: true, stderr: true });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/\S+$/);
    const pf = await env.cri.streaming.portForward({ podSandboxId: sandboxId, port: [80] });
    expect(pf).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/portforward\/\S+$/);
    const stats = await env.cri.stats.containerStats(httpdId);
    expect(stats.attributes?.id).toBe(httpdId);
    expect(stats.memory?.workingSetBytes?.value ?? 0).toBeGreaterThan(0);
    expect((await env.cri.stats.listContainerStats({ podSandboxId: sandboxId })).map((s) => s.attributes?.id)).toEqual([httpdId]);
    const pod = await env.cri.stats.podSandboxStats(sandboxId).catch((e: unknown) => e);
    if (isUnimplemented(pod)) console.info('PodSandboxStats: UNIMPLEMENTED on this containerd');
    else console.info('PodSandboxStats:', pod instanceof Error ? pod.message : JSON.stringify(pod));
  });

  it('stops a container that ignores SIGTERM after the timeout; reports exit code and reason', async () => {
    const stubborn = await env.cri.createContainer(
      sandboxId,
      {
        metadata: { name: 'stubborn', attempt: 0 },
        image: { image: BUSYBOX_IMAGE },
        command: ['sh', '-c', 'trap "" TERM; echo started; while :; do sleep 1; done'],
        labels: { 'io.kubernetes.container.name': 'stubborn', role: 'worker', 'skiff-test': RUN },
        logPath: 'stubborn/0.log',
      },
      sandboxConfig,
    );
    await env.cri.startContainer(stubborn);
    await waitFor('trap installed', async () => (readFileSync(join(sandboxConfig.logDirectory ?? '', 'stubborn/0.log'), 'utf8').includes('started') ? true : undefined));
    const t0 = Date.now();
    await env.cri.stopContainer(stubborn, 1);
    const took = Date.now() - t0;
    const st: ContainerStatus = await env.cri.containerStatus(stubborn);
    expect(st.state).toBe('CONTAINER_EXITED');
    expect(st.exitCode).toBe(137);
    expect(st.reason).toBe('Error');
    expect(took).toBeGreaterThanOrEqual(900);

    const quick = await env.cri.createContainer(
      sandboxId,
      { metadata: { name: 'quick', attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command: ['sh', '-c', 'exit 3'], labels: { role: 'job' }, logPath: 'quick/0.log' },
      sandboxConfig,
    );
    await env.cri.startContainer(quick);
    const done = await waitFor('quick to exit', async () => {
      const s = await env.cri.containerStatus(quick);
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    });
    expect(done.exitCode).toBe(3);
    expect(done.reason).toBe('Error');
    // Not compared with startedAt: containerd stamps startedAt when StartContainer returns,
    // which can be after a process this short has already exited.
    expect(done.finishedAt).toBeGreaterThan(0);

    const ok = await env.cri.createContainer(
      sandboxId,
      { metadata: { name: 'ok', attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command: ['true'], labels: { role: 'job' }, logPath: 'ok/0.log' },
      sandboxConfig,
    );
    await env.cri.startContainer(ok);
    const fine = await waitFor('ok to exit', async () => {
      const s = await env.cri.containerStatus(ok);
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    });
    expect(fine.exitCode).toBe(0);
    expect(fine.reason).toBe('Completed');
    await env.cri.removeContainer(ok);
    await expect(env.cri.containerStatus(ok)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('filters ListContainers and ListPodSandbox by labels, state and sandbox', async () => {
    expect((await env.cri.listPodSandbox({ labelSelector: { 'skiff-test': RUN } })).map((s) => s.id)).toEqual([sandboxId]);
    expect(await env.cri.listPodSandbox({ labelSelector: { 'skiff-test': RUN, app: 'nope' } })).toEqual([]);
    expect((await env.cri.listPodSandbox({ state: 'SANDBOX_READY' })).map((s) => s.id)).toContain(sandboxId);
    const servers = await env.cri.listContainers({ podSandboxId: sandboxId, labelSelector: { role: 'server' } });
    expect(servers.map((c) => c.id)).toEqual([httpdId]);
    expect(servers[0].metadata.name).toBe('httpd');
    const running = await env.cri.listContainers({ state: 'CONTAINER_RUNNING' });
    expect(running.map((c) => c.id)).toEqual([httpdId]);
    const exited = await env.cri.listContainers({ podSandboxId: sandboxId, state: 'CONTAINER_EXITED' });
    expect(exited.map((c) => c.metadata.name).sort()).toEqual(['quick', 'stubborn']);
  });

  it('fails fast with UnavailableError while containerd is down, and works again after a restart', async () => {
    const { pid, exited } = env.containerd;
    process.kill(pid, 'SIGKILL');
    await exited;
    const t0 = Date.now();
    const err = await env.cri.listContainers().catch((e: unknown) => e);
    const failMs = Date.now() - t0;
    expect(err).toBeInstanceOf(UnavailableError);
    await expect(env.cri.version()).rejects.toBeInstanceOf(UnavailableError);
    console.info(`call against a dead containerd failed in ${failMs} ms`);
    expect(failMs).toBeLessThan(5000);

    const t1 = Date.now();
    await env.restart();
    await waitFor('the same client to reconnect', async () => env.cri.version(), 15_000);
    console.info(`containerd restart + client reconnect took ${Date.now() - t1} ms`);
    const st = await env.cri.containerStatus(httpdId);
    expect(st.state).toBe('CONTAINER_RUNNING');
    const r = env.execInNetns(['/bin/busybox', 'wget', '-qO-', `http://${podIp}/`], 5000);
    expect(r.stdout.trim()).toBe(`hello from skiff-${RUN}`);
  });

  it('removes the pod; containerd then stops without leaving shims or mounts', async () => {
    await env.cri.stopPodSandbox(sandboxId);
    await env.cri.stopPodSandbox(sandboxId); // idempotent
    expect((await env.cri.podSandboxStatus(sandboxId)).state).toBe('SANDBOX_NOTREADY');
    await env.cri.removePodSandbox(sandboxId);
    await env.cri.removePodSandbox(sandboxId); // idempotent
    expect(await env.cri.listPodSandbox()).toEqual([]);
    expect(await env.cri.listContainers()).toEqual([]);
    await expect(env.cri.podSandboxStatus(sandboxId)).rejects.toBeInstanceOf(NotFoundError);
    const { address } = env.containerd;
    const result = await env.containerd.stop();
    expect(result.leftoverShims).toEqual([]);
    expect(await findShims(address)).toEqual([]);
    expect(await mountsUnder(env.stateDir)).toEqual([]);
  });
});
