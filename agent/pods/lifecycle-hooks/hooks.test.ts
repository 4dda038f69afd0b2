import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../../../lib/clock.js';
import { MemoryEventRecorder } from '../../events/index.js';
import type { ExecSyncResponse, RuntimeService } from '../../runtime/index.js';
import { LifecycleHookError, runHandler } from './index.js';

const pod: Pod = { metadata: { name: 'web-0', namespace: 'default', uid: 'u-1' }, spec: { containers: [] } };
const container: Container = { name: 'web', image: 'x', ports: [{ name: 'admin', containerPort: 0 }] };

function runtime(impl: (cmd: string[], timeout: number) => Promise<ExecSyncResponse>): RuntimeService & { calls: { cmd: string[]; timeout: number }[] } {
  const calls: { cmd: string[]; timeout: number }[] = [];
  const rt = { calls, execSync: (_id: string, cmd: string[], timeout: number) => (calls.push({ cmd, timeout }), impl(cmd, timeout)) };
  return rt as unknown as RuntimeService & { calls: typeof calls };
}

const res = (exitCode: number, stdout = '', stderr = ''): Promise<ExecSyncResponse> => Promise.resolve({ exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) });

describe('runHandler', () => {
  let server: http.Server;
  let port: number;
  let hits: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(`${req.url} ${req.headers['user-agent']}`);
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('runs exec hooks without a command timeout', async () => {
    const rt = runtime(() => res(0));
    await runHandler({ exec: { command: ['sh', '-c', 'echo hi'] } }, { pod, containerId: 'c1', runtime: rt, timeoutSeconds: 0, container });
    expect(rt.calls).toEqual([{ cmd: ['sh', '-c', 'echo hi'], timeout: 0 }]);
  });

  it('fails a non-zero exec hook with kubelet’s message', async () => {
    const rt = runtime(() => res(1, 'out\n', 'err "x"'));
    const err = (await runHandler({ exec: { command: ['sh', '-c', 'exit 1'] } }, { pod, containerId: 'c1', runtime: rt, timeoutSeconds: 0, container }).catch((e: unknown) => e)) as LifecycleHookError;
    expect(err).toBeInstanceOf(LifecycleHookError);
    expect(err.code).toBe('SKIFF_LIFECYCLE_HOOK');
    expect(err.message).toBe(
      'Exec lifecycle hook ([sh -c exit 1]) for Container "web" in Pod "web-0_default(u-1)" failed - error: command \'sh -c exit 1\' exited with 1: err "x", message: "out\\nerr \\"x\\""',
    );
  });

  it('runs httpGet hooks to the pod IP; the status code does not matter', async () => {
    hits = [];
    await runHandler({ httpGet: { path: '/fail', port } }, { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 5, podIP: '127.0.0.1', container });
    expect(hits).toEqual(['/fail kube-lifecycle/1.32']);
  });

  it('fails an unreachable httpGet hook with kubelet’s message', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const closed = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    await expect(
      runHandler({ httpGet: { path: '/hook', port: closed } }, { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 5, podIP: '127.0.0.1', container }),
    ).rejects.toThrow(
      `HTTP lifecycle hook (/hook) for Container "web" in Pod "web-0_default(u-1)" failed - error: Get "http://127.0.0.1:${closed}/hook": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    );
  });

  it('falls back to HTTP when an HTTPS hook gets a plain HTTP answer', async () => {
    hits = [];
    const events = new MemoryEventRecorder();
    await runHandler(
      { httpGet: { path: '/ok', port, scheme: 'HTTPS' } },
      { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 5, podIP: '127.0.0.1', container, events },
    );
    expect(hits).toEqual(['/ok kube-lifecycle/1.32']);
    expect(events.events.map((e) => `${e.reason}: ${e.message}`)).toEqual([
      `LifecycleHTTPFallback: request to HTTPS lifecycle hook 127.0.0.1:${port} got HTTP response, retry with HTTP succeeded`,
    ]);
  });

  it('sleeps with the injected clock and fails when cancelled', async () => {
    const clock = new FakeClock();
    let done = false;
    const p = runHandler({ sleep: { seconds: 5 } }, { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 30, container, clock }).then(() => (done = true));
    await clock.advance(4999);
    expect(done).toBe(false);
    await clock.advance(1);
    await vi.waitFor(() => expect(done).toBe(true));

    const ac = new AbortController();
    const q = runHandler({ sleep: { seconds: 5 } }, { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 30, container, clock, signal: ac.signal });
    ac.abort();
    await expect(q).rejects.toThrow(
      'Sleep lifecycle hook (5) for Container "web" in Pod "web-0_default(u-1)" failed - error: container terminated before sleep hook finished',
    );
  });

  it('stops waiting after timeoutSeconds and says so', async () => {
    const clock = new FakeClock();
    const p = runHandler({ exec: { command: ['sleep', '100'] } }, { pod, containerId: 'c1', runtime: runtime(() => new Promise(() => undefined)), timeoutSeconds: 2, container, clock }).catch(
      (e: unknown) => e,
    );
    await clock.advance(2000);
    const err = (await p) as LifecycleHookError;
    expect(err.timedOut).toBe(true);
    expect(err.message).toMatch(/did not complete within 2s/);
  });

  it('fails tcpSocket hooks as kubelet does', async () => {
    await expect(
      runHandler({ tcpSocket: { port: 8080 } }, { pod, containerId: 'c1', runtime: runtime(() => res(0)), timeoutSeconds: 0, container }),
    ).rejects.toThrow('Cannot run handler: invalid handler: &LifecycleHandler{Exec:nil,HTTPGet:nil,TCPSocket:&TCPSocketAction{Port:{0 8080 },Host:,},Sleep:nil,}');
  });
});
