import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.js';
import { FakeClock, realClock } from '../../../lib/clock.js';
import { silentLogger } from '../../../lib/log.js';
import { MemoryEventRecorder } from '../../events/index.js';
import { RuntimeError, type ExecSyncResponse, type RuntimeService } from '../../runtime/index.js';
import { createProbeManager, runProbe, type ProbeChangeEvent, type ProbeManager } from './index.js';
import { freePort } from '../../../test/support/free-ports.js';

type ExecImpl = (id: string, cmd: string[], timeout: number) => Promise<ExecSyncResponse>;

/** Only execSync is real; everything else is not used by probes. */
class FakeExecRuntime {
  calls: { id: string; cmd: string[]; timeout: number }[] = [];
  constructor(public impl: ExecImpl) {}
  asRuntime(): RuntimeService {
    return new Proxy({} as RuntimeService, {
      get: (_t, prop) => {
        if (prop === 'execSync') {
          return (id: string, cmd: string[], timeout: number) => {
            this.calls.push({ id, cmd, timeout });
            return this.impl(id, cmd, timeout);
          };
        }
        return () => Promise.reject(new Error(`unexpected runtime call ${String(prop)}`));
      },
    });
  }
}

const ok = (out = ''): Promise<ExecSyncResponse> => Promise.resolve({ stdout: Buffer.from(out), stderr: Buffer.alloc(0), exitCode: 0 });
const fail = (out = 'boom'): Promise<ExecSyncResponse> => Promise.resolve({ stdout: Buffer.from(out), stderr: Buffer.alloc(0), exitCode: 1 });

const UID = 'pod-uid-1';

function mkPod(container: Partial<Container>): Pod {
  return { metadata: { name: 'web-0', namespace: 'default', uid: UID }, spec: { containers: [{ name: 'web', image: 'x', ...container }] } };
}

const execProbe = (extra: Partial<Probe> = {}): Probe => ({ exec: { command: ['check'] }, periodSeconds: 10, ...extra });

interface Harness {
  clock: FakeClock;
  rt: FakeExecRuntime;
  events: MemoryEventRecorder;
  changes: ProbeChangeEvent[];
  pm: ProbeManager;
}

function harness(impl: ExecImpl): Harness {
  const clock = new FakeClock();
  const rt = new FakeExecRuntime(impl);
  const events = new MemoryEventRecorder();
  const changes: ProbeChangeEvent[] = [];
  const pm = createProbeManager({ runtime: rt.asRuntime(), clock, logger: silentLogger(), events, podIP: () => '127.0.0.1' });
  pm.onChange((e) => changes.push(e));
  return { clock, rt, events, changes, pm };
}

const running = (h: Harness, id = 'c1'): Map<string, { containerId: string; startedAt: number }> => new Map([['web', { containerId: id, startedAt: h.clock.now() }]]);

describe('probe manager', () => {
  it('reports no readiness without a probe', () => {
    const h = harness(() => ok());
    h.pm.syncPod(mkPod({}), running(h));
    expect(h.pm.readiness(UID, 'web')).toBeUndefined();
    expect(h.pm.started(UID, 'web')).toBeUndefined();
  });

  it('is not ready until the first success after initialDelaySeconds', async () => {
    const h = harness(() => ok('fine'));
    h.pm.syncPod(mkPod({ readinessProbe: execProbe({ initialDelaySeconds: 5 }) }), running(h));
    expect(h.pm.readiness(UID, 'web')).toBe(false);
    await h.clock.advance(4999);
    expect(h.rt.calls).toHaveLength(0);
    expect(h.pm.readiness(UID, 'web')).toBe(false);
    await h.clock.advance(1);
    await vi.waitFor(() => expect(h.pm.readiness(UID, 'web')).toBe(true));
    expect(h.rt.calls[0]).toEqual({ id: 'c1', cmd: ['check'], timeout: 1 });
    expect(h.changes).toEqual([{ podUid: UID, container: 'web', kind: 'readiness', result: 'success', message: 'fine', restart: false }]);
    h.pm.stop();
  });

  it('probes every periodSeconds and honours successThreshold and failureThreshold', async () => {
    let healthy = true;
    const h = harness(() => (healthy ? ok() : fail('not yet')));
    h.pm.syncPod(mkPod({ readinessProbe: execProbe({ successThreshold: 2, failureThreshold: 2 }) }), running(h));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(1));
    expect(h.pm.readiness(UID, 'web')).toBe(false); // one success of two
    await h.clock.advance(10_000);
    await vi.waitFor(() => expect(h.pm.readiness(UID, 'web')).toBe(true));
    healthy = false;
    await h.clock.advance(10_000);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(3));
    expect(h.pm.readiness(UID, 'web')).toBe(true); // one failure of two
    await h.clock.advance(10_000);
    await vi.waitFor(() => expect(h.pm.readiness(UID, 'web')).toBe(false));
    expect(h.events.events.filter((e) => e.reason === 'Unhealthy').map((e) => e.message)).toEqual(['Readiness probe failed: not yet', 'Readiness probe failed: not yet']);
    expect(h.events.events[0].ref.fieldPath).toBe('spec.containers{web}');
    h.pm.stop();
  });

  it('asks for a restart after failureThreshold liveness failures, then holds until a new container', async () => {
    const h = harness(() => fail('boom'));
    const pod = mkPod({ livenessProbe: execProbe({ failureThreshold: 3 }) });
    h.pm.syncPod(pod, running(h));
    await h.clock.advance(0);
    for (let i = 1; i <= 3; i++) {
      await vi.waitFor(() => expect(h.rt.calls).toHaveLength(i));
      if (i < 3) await h.clock.advance(10_000);
    }
    await vi.waitFor(() => expect(h.changes.some((c) => c.restart)).toBe(true));
    expect(h.changes).toEqual([
      { podUid: UID, container: 'web', kind: 'liveness', result: 'failure', message: 'Container web failed liveness probe, will be restarted', restart: true },
    ]);
    expect(h.events.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual(Array(3).fill('Warning Unhealthy Liveness probe failed: boom'));
    // On hold: no more probes of this container.
    await h.clock.advance(60_000);
    expect(h.rt.calls).toHaveLength(3);
    // A new container resumes probing, starting from success again.
    h.rt.impl = () => ok();
    h.pm.syncPod(pod, running(h, 'c2'));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(4));
    expect(h.rt.calls[3].id).toBe('c2');
    expect(h.changes.at(-1)).toMatchObject({ kind: 'liveness', result: 'success', restart: false });
    h.pm.stop();
  });

  it('gates liveness and readiness on the startup probe', async () => {
    let startupOk = false;
    const h = harness((_id, cmd) => (cmd[0] === 'started' ? (startupOk ? ok() : fail('starting')) : ok()));
    h.pm.syncPod(
      mkPod({
        startupProbe: { exec: { command: ['started'] }, periodSeconds: 5, failureThreshold: 30 },
        readinessProbe: execProbe(),
        livenessProbe: execProbe(),
      }),
      running(h),
    );
    expect(h.pm.started(UID, 'web')).toBe(false);
    await h.clock.advance(0);
    await h.clock.advance(5000);
    await h.clock.advance(5000);
    await vi.waitFor(() => expect(h.rt.calls.length).toBeGreaterThanOrEqual(3));
    expect(h.rt.calls.every((c) => c.cmd[0] === 'started')).toBe(true);
    expect(h.pm.readiness(UID, 'web')).toBe(false);
    startupOk = true;
    await h.clock.advance(5000);
    await vi.waitFor(() => expect(h.pm.started(UID, 'web')).toBe(true));
    // Readiness runs right away once started.
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.pm.readiness(UID, 'web')).toBe(true));
    const before = h.rt.calls.filter((c) => c.cmd[0] === 'started').length;
    await h.clock.advance(20_000);
    await vi.waitFor(() => expect(h.rt.calls.some((c) => c.cmd[0] === 'check')).toBe(true));
    // The startup probe stops once it succeeded.
    expect(h.rt.calls.filter((c) => c.cmd[0] === 'started').length).toBe(before);
    h.pm.stop();
  });

  it('restarts a container whose startup probe fails failureThreshold times', async () => {
    const h = harness(() => fail('nope'));
    h.pm.syncPod(mkPod({ startupProbe: execProbe({ failureThreshold: 2 }) }), running(h));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(1));
    await h.clock.advance(10_000);
    await vi.waitFor(() => expect(h.changes).toHaveLength(1));
    expect(h.changes[0]).toEqual({ podUid: UID, container: 'web', kind: 'startup', result: 'failure', message: 'Container web failed startup probe, will be restarted', restart: true });
    expect(h.events.events[0].message).toBe('Startup probe failed: nope');
    h.pm.stop();
  });

  it('fails an exec probe that outlives timeoutSeconds', async () => {
    const h = harness(() => new Promise(() => undefined));
    h.pm.syncPod(mkPod({ readinessProbe: { exec: { command: ['sleep', '10'] }, timeoutSeconds: 2, periodSeconds: 10 } }), running(h));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(1));
    await h.clock.advance(2000);
    await vi.waitFor(() => expect(h.events.events).toHaveLength(1));
    expect(h.events.events[0].message).toBe('Readiness probe failed: command "sleep 10" timed out');
    h.pm.stop();
  });

  it('maps a runtime DEADLINE_EXCEEDED to a timeout failure, and other runtime errors to "errored"', async () => {
    const h = harness(() => Promise.reject(new RuntimeError('ExecSync timed out', { runtimeCode: 'DEADLINE_EXCEEDED' })));
    h.pm.syncPod(mkPod({ readinessProbe: execProbe() }), running(h));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.events.events).toHaveLength(1));
    expect(h.events.events[0].message).toBe('Readiness probe failed: command "check" timed out');
    h.pm.stop();

    const e = harness(() => Promise.reject(new Error('container not found')));
    e.pm.syncPod(mkPod({ readinessProbe: execProbe() }), running(e));
    await e.clock.advance(0);
    await vi.waitFor(() => expect(e.events.events).toHaveLength(1));
    expect(e.rt.calls).toHaveLength(3); // kubelet retries internal errors three times
    expect(e.events.events[0].message).toBe('Readiness probe errored and resulted in unknown state: container not found');
    expect(e.changes).toEqual([]);
    expect(e.pm.readiness(UID, 'web')).toBe(false);
    e.pm.stop();
  });

  it('expands $(VAR) in exec commands with static env only', async () => {
    const h = harness(() => ok());
    h.pm.syncPod(
      mkPod({
        env: [{ name: 'PORT', value: '8080' }, { name: 'FROM', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        readinessProbe: { exec: { command: ['check', '$(PORT)', '$(FROM)', '$(NONE)'] } },
      }),
      running(h),
    );
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.rt.calls).toHaveLength(1));
    expect(h.rt.calls[0].cmd).toEqual(['check', '8080', '', '$(NONE)']);
    h.pm.stop();
  });

  it('treats non-running containers as not ready and a deleted pod as live', async () => {
    const h = harness(() => ok());
    const pod = mkPod({ readinessProbe: execProbe(), livenessProbe: execProbe() });
    h.pm.syncPod(pod, running(h));
    await h.clock.advance(0);
    await vi.waitFor(() => expect(h.pm.readiness(UID, 'web')).toBe(true));
    h.pm.syncPod(pod, new Map());
    expect(h.pm.readiness(UID, 'web')).toBe(false);
    expect(h.changes.at(-1)).toMatchObject({ kind: 'readiness', result: 'failure' });

    h.rt.impl = () => fail();
    const deleting = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    h.pm.syncPod(deleting, running(h, 'c2'));
    const calls = h.rt.calls.length;
    await h.clock.advance(60_000);
    // Only readiness keeps probing; liveness never asks for a restart.
    expect(h.rt.calls.slice(calls).length).toBeGreaterThan(0);
    expect(h.changes.some((c) => c.restart)).toBe(false);
    h.pm.stop();
  });

  it('removePod and stop cancel every timer', async () => {
    const h = harness(() => ok());
    h.pm.syncPod(mkPod({ readinessProbe: execProbe(), livenessProbe: execProbe() }), running(h));
    expect(h.clock.pending()).toBeGreaterThan(0);
    h.pm.removePod(UID);
    expect(h.clock.pending()).toBe(0);
    expect(h.pm.readiness(UID, 'web')).toBeUndefined();
  });
});

describe('probe runners against real servers', () => {
  let server: http.Server;
  let port: number;
  let lastHeaders: http.IncomingHttpHeaders = {};
  const hanging: http.ServerResponse[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      lastHeaders = req.headers;
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/ok':
          res.end('healthy');
          break;
        case '/bad':
          res.statusCode = 503;
          res.end('nope');
          break;
        case '/same':
          res.statusCode = 302;
          res.setHeader('Location', '/ok');
          res.end();
          break;
        case '/away':
          res.statusCode = 302;
          res.setHeader('Location', 'http://localhost:1/elsewhere');
          res.end('moved');
          break;
        case '/loop':
          res.statusCode = 302;
          res.setHeader('Location', '/loop');
          res.end();
          break;
        case '/big':
          res.end('x'.repeat(20_000));
          break;
        case '/hang':
          hanging.push(res);
          break;
        default:
          res.statusCode = 404;
          res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const target = (container: Partial<Container> = {}, clock = realClock) => ({
    container: { name: 'web', image: 'x', ...container } as Container,
    containerId: 'c1',
    podIP: '127.0.0.1',
    runtime: {} as RuntimeService,
    clock,
  });

  it('httpGet: 2xx success with body, non-2xx/3xx failure', async () => {
    expect(await runProbe({ httpGet: { path: '/ok', port } }, target())).toEqual({ result: 'success', output: 'healthy' });
    expect(lastHeaders['user-agent']).toBe('kube-probe/1.32');
    expect(lastHeaders.accept).toBe('*/*');
    expect(await runProbe({ httpGet: { path: '/bad', port } }, target())).toEqual({ result: 'failure', output: 'HTTP probe failed with statuscode: 503' });
  });

  it('httpGet: named ports, custom headers and Host', async () => {
    const r = await runProbe(
      { httpGet: { path: '/ok', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'Host', value: 'example.test' }, { name: 'User-Agent', value: 'me' }] } },
      target({ ports: [{ name: 'http', containerPort: port }] }),
    );
    expect(r.result).toBe('success');
    expect(lastHeaders['x-probe']).toBe('yes');
    expect(lastHeaders.host).toBe('example.test');
    expect(lastHeaders['user-agent']).toBe('me');
    const bad = await runProbe({ httpGet: { path: '/ok', port: 'nope' } }, target());
    expect(bad.error?.message).toBe('strconv.Atoi: parsing "nope": invalid syntax');
  });

  it('httpGet: follows same-host redirects, stops at other hosts with a warning', async () => {
    expect(await runProbe({ httpGet: { path: '/same', port } }, target())).toEqual({ result: 'success', output: 'healthy' });
    expect(await runProbe({ httpGet: { path: '/away', port } }, target())).toEqual({ result: 'warning', output: 'Probe terminated redirects, Response body: moved' });
    const loop = await runProbe({ httpGet: { path: '/loop', port } }, target());
    expect(loop).toEqual({ result: 'failure', output: `Get "http://127.0.0.1:${port}/loop": stopped after 10 redirects` });
  });

  it('httpGet: reads at most 10 KiB of body', async () => {
    const r = await runProbe({ httpGet: { path: '/big', port } }, target());
    expect(r.output.length).toBe(10 * 1024);
  });

  it('httpGet: refused connections and timeouts fail with Go messages', async () => {
    const closed = await freePort();
    expect(await runProbe({ httpGet: { path: '/x', port: closed } }, target())).toEqual({
      result: 'failure',
      output: `Get "http://127.0.0.1:${closed}/x": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
    const clock = new FakeClock();
    const p = runProbe({ httpGet: { path: '/hang', port }, timeoutSeconds: 3 }, target({}, clock));
    await vi.waitFor(() => expect(hanging.length).toBeGreaterThan(0));
    await clock.advance(3000);
    expect(await p).toEqual({
      result: 'failure',
      output: `Get "http://127.0.0.1:${port}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    });
  });

  it('httpGet through the manager with a fake clock', async () => {
    const clock = new FakeClock();
    const events = new MemoryEventRecorder();
    const pm = createProbeManager({ runtime: {} as RuntimeService, clock, logger: silentLogger(), events, podIP: () => '127.0.0.1' });
    const pod = mkPod({ readinessProbe: { httpGet: { path: '/bad', port }, periodSeconds: 5, failureThreshold: 1 }, livenessProbe: { httpGet: { path: '/ok', port } } });
    pm.syncPod(pod, new Map([['web', { containerId: 'c1', startedAt: clock.now() * 1e6 }]]));
    await clock.advance(0);
    await vi.waitFor(() => expect(events.events).toHaveLength(1));
    expect(events.events[0].message).toBe('Readiness probe failed: HTTP probe failed with statuscode: 503');
    expect(pm.readiness(UID, 'web')).toBe(false);
    pm.stop();
  });

  it('tcpSocket: connect succeeds on a listening port, refused otherwise', async () => {
    const srv = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const p = (srv.address() as AddressInfo).port;
    try {
      expect(await runProbe({ tcpSocket: { port: p } }, target())).toEqual({ result: 'success', output: '' });
    } finally {
      srv.close();
    }
    const closed = await freePort();
    expect(await runProbe({ tcpSocket: { port: closed } }, target())).toEqual({
      result: 'failure',
      output: `dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
  });

  it('grpc: SERVING succeeds, NOT_SERVING and unimplemented fail', async () => {
    let status = 1;
    const srv = new grpc.Server();
    srv.addService(
      {
        Check: {
          path: '/grpc.health.v1.Health/Check',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      {
        Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          const service = call.request.length ? call.request.subarray(2).toString() : '';
          if (service === 'missing') cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
          else cb(null, Buffer.from([0x08, status]));
        },
      },
    );
    const gport = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    try {
      expect(await runProbe({ grpc: { port: gport } }, target())).toEqual({ result: 'success', output: 'service is serving' });
      status = 2;
      expect(await runProbe({ grpc: { port: gport, service: 'api' } }, target())).toEqual({ result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
      const missing = await runProbe({ grpc: { port: gport, service: 'missing' } }, target());
      expect(missing.output).toBe('error: health rpc probe failed: rpc error: code = NotFound desc = unknown service');
    } finally {
      srv.forceShutdown();
    }
  });
});

