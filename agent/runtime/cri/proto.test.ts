import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MethodDefinition } from '@grpc/grpc-js';
import { stripNulls } from './client.js';
import { findCriProto, IMAGE_RPCS, loadCriProto, RUNTIME_RPCS, STATS_RPCS, STREAMING_RPCS, CriProtoError } from './proto.js';
import type { ContainerConfig, ContainerStatus, Image, PodSandboxConfig, PodSandboxStatus } from '../types.js';

type AnyMethod = MethodDefinition<object, object>;

describe('CRI proto', () => {
  const proto = loadCriProto();

  it('is found by walking up from the module and declares runtime.v1', () => {
    expect(findCriProto()).toBe(proto.path);
    expect(proto.path.endsWith(join('proto', 'runtime', 'v1', 'api.proto'))).toBe(true);
    const runtime = proto.RuntimeService.service as Record<string, AnyMethod>;
    expect(runtime.Version.path).toBe('/runtime.v1.RuntimeService/Version');
    const image = proto.ImageService.service as Record<string, AnyMethod>;
    expect(image.PullImage.path).toBe('/runtime.v1.ImageService/PullImage');
  });

  it('fails with a coded error when no proto is above the start directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-proto-'));
    try {
      expect(() => findCriProto(dir)).toThrow(CriProtoError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps every RuntimeService, streaming and stats method of types.ts to a unary RPC', () => {
    const service = proto.RuntimeService.service as Record<string, AnyMethod>;
    for (const rpc of [...Object.values(RUNTIME_RPCS), ...Object.values(STREAMING_RPCS), ...Object.values(STATS_RPCS)]) {
      expect(service[rpc], rpc).toBeDefined();
      expect(service[rpc].requestStream || service[rpc].responseStream, rpc).toBe(false);
    }
  });

  it('maps every ImageService method of types.ts to a unary RPC', () => {
    const service = proto.ImageService.service as Record<string, AnyMethod>;
    for (const rpc of Object.values(IMAGE_RPCS)) {
      expect(service[rpc], rpc).toBeDefined();
      expect(service[rpc].path).toBe(`/runtime.v1.ImageService/${rpc}`);
    }
  });

  it('carries upstream field numbers for the fields that are easy to get wrong', () => {
    // Numbers from kubernetes/cri-api pkg/apis/runtime/v1/api.proto; the gaps are upstream's.
    const expected: Record<string, Record<string, number>> = {
      'runtime.v1.LinuxSandboxSecurityContext': { runAsUser: 3, readonlyRootfs: 4, supplementalGroups: 5, privileged: 6, runAsGroup: 8 },
      'runtime.v1.LinuxContainerSecurityContext': { runAsUser: 5, runAsUsername: 6, noNewPrivs: 11, runAsGroup: 12, maskedPaths: 13, readonlyPaths: 14 },
      'runtime.v1.ContainerConfig': { labels: 9, annotations: 10, logPath: 11, tty: 14, linux: 15 },
      'runtime.v1.PodSandboxStatus': { network: 5, labels: 7, annotations: 8, runtimeHandler: 9 },
      'runtime.v1.ContainerStatus': { reason: 10, message: 11, mounts: 14, logPath: 15 },
      'runtime.v1.Container': { imageRef: 5, state: 6, createdAt: 7 },
      'runtime.v1.PodSandboxConfig': { logDirectory: 3, dnsConfig: 4, portMappings: 5, linux: 8 },
      'runtime.v1.ImageFsInfoResponse': { imageFilesystems: 1 },
      'runtime.v1.Image': { uid: 5, username: 6, spec: 7, pinned: 8 },
    };
    for (const [typeName, fields] of Object.entries(expected)) {
      const def = proto.definition[typeName] as unknown as { type: { field: { name: string; jsonName?: string; number: number }[] } };
      expect(def, typeName).toBeDefined();
      const byName = new Map(def.type.field.map((f) => [camel(f.name), f.number]));
      for (const [field, num] of Object.entries(fields)) expect(byName.get(field), `${typeName}.${field}`).toBe(num);
    }
  });

  it('round-trips a full PodSandboxConfig and ContainerConfig typed by types.ts', () => {
    const sandbox: PodSandboxConfig = {
      metadata: { name: 'web', uid: 'u-1', namespace: 'default', attempt: 2 },
      hostname: 'web',
      logDirectory: '/var/log/pods/default_web_u-1',
      dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
      portMappings: [{ protocol: 'UDP', containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' }],
      labels: { app: 'web' },
      annotations: { 'kubernetes.io/config.source': 'api' },
      linux: {
        cgroupParent: '/kubepods/besteffort/podu-1',
        securityContext: {
          namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', targetId: '' },
          runAsUser: { value: 1000 },
          runAsGroup: { value: 3000 },
          readonlyRootfs: true,
          supplementalGroups: [4000, 5000],
          privileged: false,
        },
        sysctls: { 'net.ipv4.ip_local_port_range': '1024 65000' },
      },
    };
    const container: ContainerConfig = {
      metadata: { name: 'httpd', attempt: 1 },
      image: { image: 'docker.io/library/busybox:1.29', annotations: { a: 'b' } },
      command: ['httpd'],
      args: ['-f', '-p', '80'],
      workingDir: '/tmp',
      envs: [{ key: 'A', value: '1' }],
      mounts: [{ containerPath: '/data', hostPath: '/srv/data', readonly: true, selinuxRelabel: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }],
      labels: { 'io.kubernetes.container.name': 'httpd' },
      annotations: { 'io.kubernetes.container.hash': 'abc' },
      logPath: 'httpd/1.log',
      stdin: false,
      stdinOnce: false,
      tty: false,
      linux: {
        resources: { cpuPeriod: 100000, cpuQuota: 50000, cpuShares: 512, memoryLimitInBytes: 2 ** 33, oomScoreAdj: 1000, cpusetCpus: '0-1', cpusetMems: '0' },
        securityContext: {
          capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'] },
          privileged: false,
          namespaceOptions: { network: 'POD', pid: 'TARGET', ipc: 'POD', targetId: 'c0' },
          runAsUser: { value: 1000 },
          runAsGroup: { value: 1000 },
          runAsUsername: '',
          readonlyRootfs: false,
          supplementalGroups: [1],
          noNewPrivs: true,
          maskedPaths: ['/proc/kcore'],
          readonlyPaths: ['/proc/sys'],
        },
      },
    };
    const create = (proto.RuntimeService.service as Record<string, AnyMethod>).CreateContainer;
    const request = { podSandboxId: 'sb-1', config: container, sandboxConfig: sandbox };
    const decoded = stripNulls(create.requestDeserialize(create.requestSerialize(request)));
    expect(decoded).toEqual(request);
  });

  it('decodes status responses into the shapes of types.ts (absent sub-messages become undefined)', () => {
    const status: ContainerStatus = {
      id: 'c1',
      metadata: { name: 'httpd', attempt: 0 },
      state: 'CONTAINER_EXITED',
      createdAt: 1_700_000_000_000_000_000,
      startedAt: 1_700_000_001_000_000_000,
      finishedAt: 1_700_000_002_000_000_000,
      exitCode: 137,
      image: { image: 'docker.io/library/busybox:1.29', annotations: {} },
      imageRef: 'sha256:abc',
      reason: 'Error',
      message: '',
      labels: { a: 'b' },
      annotations: {},
      mounts: [],
      logPath: '/var/log/pods/x/httpd/0.log',
    };
    const method = (proto.RuntimeService.service as Record<string, AnyMethod>).ContainerStatus;
    const decoded = stripNulls(method.responseDeserialize(method.responseSerialize({ status }))) as { status: ContainerStatus };
    // int64 nanosecond timestamps lose precision as numbers; compare at microsecond scale.
    expect(Math.abs(decoded.status.createdAt - status.createdAt)).toBeLessThan(1_000_000);
    expect({ ...decoded.status, createdAt: 0, startedAt: 0, finishedAt: 0 }).toEqual({ ...status, createdAt: 0, startedAt: 0, finishedAt: 0 });

    const sb = (proto.RuntimeService.service as Record<string, AnyMethod>).PodSandboxStatus;
    const noNet = stripNulls(sb.responseDeserialize(sb.responseSerialize({ status: { id: 's', state: 'SANDBOX_NOTREADY' } }))) as { status: PodSandboxStatus };
    expect(noNet.status.network).toBeUndefined();
    expect(noNet.status.state).toBe('SANDBOX_NOTREADY');

    const img = (proto.ImageService.service as Record<string, AnyMethod>).ImageStatus;
    const missing = stripNulls(img.responseDeserialize(img.responseSerialize({}))) as { image?: Image };
    expect(missing.image).toBeUndefined();
  });
});

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
