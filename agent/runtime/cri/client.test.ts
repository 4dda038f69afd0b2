/**
 * The CRI client against a tiny in-test gRPC server on a unix socket: a real grpc-js
 * transport, serving a few RPCs that answer the way a runtime would (values, NOT_FOUND,
 * UNIMPLEMENTED, UNKNOWN with the runtime's message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCriRuntime, type CriRuntime } from './client.js';
import { loadCriProto } from './proto.js';
import { rpcOf } from './errors.js';
import { isNotFound, isUnimplemented, NotFoundError, RuntimeError, UnavailableError, UnimplementedError } from '../errors.js';

const PULL_FAILURE =
  'failed to pull and unpack image "docker.io/library/doesnotexist:1": failed to resolve reference "docker.io/library/doesnotexist:1": dial tcp: lookup registry-1.docker.io: no such host';

type Handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

describe('CRI client over a real gRPC transport', () => {
  let dir: string;
  let server: grpc.Server;
  let socket: string;
  let client: CriRuntime;
  const seen: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cri-'));
    socket = join(dir, 'cri.sock');
    const proto = loadCriProto();
    server = new grpc.Server();
    const record = (name: string, h: Handler): Handler => (call, cb) => {
      seen[name] = call.request;
      h(call, cb);
    };
    const runtime: Record<string, Handler> = {
      Version: record('Version', (_c, cb) => cb(null, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' })),
      Status: record('Status', (_c, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'unknown method Status for service runtime.v1.RuntimeService' })),
      ContainerStatus: record('ContainerStatus', (c, cb) =>
        cb({ code: grpc.status.NOT_FOUND, details: `an error occurred when try to find container "${String(c.request.containerId)}": not found` }),
      ),
      ListContainers: record('ListContainers', (_c, cb) =>
        cb(null, { containers: [{ id: 'c1', podSandboxId: 's1', state: 'CONTAINER_RUNNING', labels: { app: 'web' } }] }),
      ),
      ListPodSandbox: record('ListPodSandbox', (_c, cb) => cb(null, {})),
      PodSandboxStatus: record('PodSandboxStatus', (_c, cb) => cb(null, { status: { id: 's1', state: 'SANDBOX_READY', network: { ip: '10.88.0.5' } } })),
      ExecSync: record('ExecSync', (_c, cb) => cb(null, { stdout: Buffer.from('hi\n'), exitCode: 3 })),
      StopContainer: record('StopContainer', (_c, cb) => cb(null, {})),
      UpdateRuntimeConfig: record('UpdateRuntimeConfig', (_c, cb) => cb(null, {})),
      Exec: record('Exec', (_c, cb) => cb(null, { url: 'http://127.0.0.1:40000/exec/abc' })),
      // Never answers: exercises the deadline.
      StartContainer: record('StartContainer', () => undefined),
    };
    const image: Record<string, Handler> = {
      ImageStatus: record('ImageStatus', (_c, cb) => cb(null, {})),
      PullImage: record('PullImage', (_c, cb) => cb({ code: grpc.status.UNKNOWN, details: PULL_FAILURE })),
      ImageFsInfo: record('ImageFsInfo', (_c, cb) => cb(null, { imageFilesystems: [{ timestamp: 5, fsId: { mountpoint: '/var/lib/containerd' }, usedBytes: { value: 42 } }] })),
    };
    server.addService(proto.RuntimeService.service, runtime as unknown as grpc.UntypedServiceImplementation);
    server.addService(proto.ImageService.service, image as unknown as grpc.UntypedServiceImplementation);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    client = createCriRuntime({ endpoint: socket, timeoutMs: 300 });
  });

  afterAll(async () => {
    client?.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('normalises the endpoint and calls Version with the CRI version', async () => {
    expect(client.endpoint).toBe(`unix://${socket}`);
    const v = await client.version();
    expect(v).toEqual({ version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' });
    expect(seen.Version).toEqual({ version: 'v1' });
  });

  it('maps NOT_FOUND to NotFoundError with the runtime message', async () => {
    const err = await client.containerStatus('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe('an error occurred when try to find container "nope": not found');
    expect(rpcOf(err)).toBe('ContainerStatus');
    expect((err as Error).cause).toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('maps UNIMPLEMENTED to UnimplementedError', async () => {
    const err = await client.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnimplementedError);
    expect(isUnimplemented(err)).toBe(true);
  });

  it('maps other codes to RuntimeError whose message is the runtime message (reads well in a pod status)', async () => {
    const err = await client.pullImage({ image: 'docker.io/library/doesnotexist:1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).message).toBe(PULL_FAILURE);
    expect((err as RuntimeError).runtimeCode).toBe('UNKNOWN');
    expect((err as RuntimeError).code).toBe('SKIFF_RUNTIME_ERROR');
  });

  it('maps a missed deadline to RuntimeError DEADLINE_EXCEEDED', async () => {
    const err = await client.startContainer('c1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).runtimeCode).toBe('DEADLINE_EXCEEDED');
    expect((err as Error).message).toMatch(/^StartContainer timed out after 300ms/);
  });

  it('returns undefined for an image the runtime does not have', async () => {
    expect(await client.imageStatus({ image: 'docker.io/library/nothere:1' })).toBeUndefined();
  });

  it('wraps list filters as CRI expects (state in a *StateValue) and unwraps responses', async () => {
    const list = await client.listContainers({ state: 'CONTAINER_RUNNING', labelSelector: { app: 'web' } });
    expect(seen.ListContainers).toMatchObject({ filter: { state: { state: 'CONTAINER_RUNNING' }, labelSelector: { app: 'web' } } });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: 'c1', podSandboxId: 's1', state: 'CONTAINER_RUNNING', labels: { app: 'web' } });
    expect(list[0].metadata).toBeUndefined();

    expect(await client.listPodSandbox()).toEqual([]);
    expect(seen.ListPodSandbox).toEqual({ filter: null });
    await client.listPodSandbox({ state: 'SANDBOX_READY' });
    expect(seen.ListPodSandbox).toMatchObject({ filter: { state: { state: 'SANDBOX_READY' } } });
  });

  it('passes sandbox status, exec, stop and runtime config through', async () => {
    const st = await client.podSandboxStatus('s1');
    expect(st.network?.ip).toBe('10.88.0.5');
    const ex = await client.execSync('c1', ['echo', 'hi'], 5);
    expect(ex.stdout.toString()).toBe('hi\n');
    expect(ex.stderr.length).toBe(0);
    expect(ex.exitCode).toBe(3);
    expect(seen.ExecSync).toMatchObject({ containerId: 'c1', cmd: ['echo', 'hi'], timeout: 5 });
    await client.stopContainer('c1', 30);
    expect(seen.StopContainer).toMatchObject({ containerId: 'c1', timeout: 30 });
    await client.updateRuntimeConfig('10.244.1.0/24');
    expect(seen.UpdateRuntimeConfig).toEqual({ runtimeConfig: { networkConfig: { podCidr: '10.244.1.0/24' } } });
    expect(await client.streaming.exec({ containerId: 'c1', cmd: ['sh'], tty: true, stdin: true, stdout: true, stderr: false })).toBe(
      'http://127.0.0.1:40000/exec/abc',
    );
    const fs = await client.imageFsInfo();
    expect(fs).toEqual([{ timestamp: 5, fsId: { mountpoint: '/var/lib/containerd' }, usedBytes: { value: 42 } }]);
  });

  it('fails with UnavailableError when nothing listens on the socket', async () => {
    const gone = createCriRuntime({ endpoint: `unix://${join(dir, 'missing.sock')}`, timeoutMs: 5000 });
    try {
      const err = await gone.version().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toContain('missing.sock');
    } finally {
      gone.close();
    }
  });

  it('rejects with UnavailableError after close()', async () => {
    const c = createCriRuntime({ endpoint: socket });
    c.close();
    c.close();
    await expect(c.version()).rejects.toBeInstanceOf(UnavailableError);
  });
});
