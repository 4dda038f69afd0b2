import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { realClock } from '../../lib/clock.js';
import { InvalidInputError, NotFoundError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { RestClient } from '../../lib/kube/index.js';
import { createCA, issueCertificate, type CertKeyPair } from '../../lib/pki/index.js';
import { loadAgentConfig, type AgentConfig } from '../config/index.js';
import type { Runtime, StreamingRuntime } from '../runtime/index.js';
import { startHealthzServer, startKubeletServer, type KubeletServer, type KubeletServerProviders } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-srv-'));
const ca = createCA({ commonName: 'test-ca' });
const otherCa = createCA({ commonName: 'evil-ca' });
const alice = issueCertificate(ca, { commonName: 'alice', organization: ['devs'], usages: ['clientAuth'] });
const mallory = issueCertificate(otherCa, { commonName: 'mallory', organization: ['system:masters'], usages: ['clientAuth'] });
writeFileSync(join(dir, 'client-ca.crt'), ca.certPem);
const GOOD_TOKEN = 'sekrit-token-value-1234567890';

/** An in-test apiserver that only speaks TokenReview and SubjectAccessReview. */
class ReviewServer {
  server!: HttpsServer;
  port = 0;
  tokenReviews = 0;
  sars: { user: string; groups: string[]; verb: string; subresource: string; name: string }[] = [];
  allow: (sar: { user: string; verb: string; subresource: string }) => boolean = () => true;
  failSar = false;
  async start(): Promise<void> {
    const serving = issueCertificate(ca, { commonName: 'apiserver', ipAddresses: ['127.0.0.1'], usages: ['serverAuth'] });
    this.server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const obj = JSON.parse(body || '{}');
        if (req.url?.startsWith('/apis/authentication.k8s.io/v1/tokenreviews')) {
          this.tokenReviews++;
          const ok = obj.spec?.token === GOOD_TOKEN;
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...obj, status: ok ? { authenticated: true, user: { username: 'bob', uid: 'u-1', groups: ['ops'] } } : { authenticated: false } }));
          return;
        }
        if (req.url?.startsWith('/apis/authorization.k8s.io/v1/subjectaccessreviews')) {
          if (this.failSar) {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'boom', reason: 'InternalError', code: 500 }));
            return;
          }
          const ra = obj.spec.resourceAttributes;
          const sar = { user: obj.spec.user, groups: obj.spec.groups, verb: ra.verb, subresource: ra.subresource, name: ra.name };
          this.sars.push(sar);
          const allowed = ra.resource === 'nodes' && this.allow(sar);
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...obj, status: allowed ? { allowed: true } : { allowed: false, reason: 'no RBAC policy matched' } }));
          return;
        }
        res.writeHead(404);
        res.end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }
  client(): RestClient {
    return new RestClient({ credentials: { server: `https://127.0.0.1:${this.port}`, ca: Buffer.from(ca.certPem) }, qps: 0 });
  }
}

/** A stand-in for containerd's streaming server: answers 101 and echoes. */
class StreamServer {
  server!: TcpServer;
  port = 0;
  heads: string[] = [];
  async start(): Promise<void> {
    this.server = createTcpServer((sock: Socket) => {
      let buf = Buffer.alloc(0);
      let upgraded = false;
      sock.on('data', (d: Buffer) => {
        if (upgraded) {
          sock.write(d);
          return;
        }
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.heads.push(buf.subarray(0, end).toString());
        upgraded = true;
        sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
        const rest = buf.subarray(end + 4);
        if (rest.length) sock.write(rest);
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }
}

const reviews = new ReviewServer();
const streams = new StreamServer();
const logPath = join(dir, 'app-0.log');
let running = true;
const streamingCalls: unknown[] = [];

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'ns1', uid: 'uid-1' },
  spec: { containers: [{ name: 'app', image: 'busybox' }, { name: 'sidecar', image: 'busybox' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'busybox', imageID: '', ready: true, restartCount: 0, containerID: 'containerd://c1', state: { running: {} } }] },
};

const providers: KubeletServerProviders = {
  pods: () => [pod],
  logs: (_ns, _name, container) => {
    if (container === 'sidecar') throw new InvalidInputError('container "sidecar" in pod "web" is waiting to start: ContainerCreating');
    return { path: logPath, isRunning: () => running };
  },
  container: (_ns, _name, container) => {
    if (container !== 'app') throw new NotFoundError(`container not found ("${container}")`);
    return { containerId: 'c1' };
  },
  sandbox: () => ({ sandboxId: 's1' }),
};

function fakeRuntime(): Runtime {
  const streaming: StreamingRuntime = {
      async exec(req) {
        streamingCalls.push({ exec: req });
        return `http://127.0.0.1:${streams.port}/exec/TOKEN1`;
      },
      async attach(req) {
        streamingCalls.push({ attach: req });
        return `http://127.0.0.1:${streams.port}/attach/TOKEN2`;
      },
      async portForward(req) {
        streamingCalls.push({ portForward: req });
        return `http://127.0.0.1:${streams.port}/portforward/TOKEN3`;
      },
  };
  return {
    streaming,
    async imageFsInfo() {
      return [];
    },
  } as unknown as Runtime;
}

const logLines: string[] = [];
const captureLogger = pino({ level: 'debug' }, new Writable({ write(chunk, _e, cb) { logLines.push(chunk.toString()); cb(); } }));

function config(patch: (c: AgentConfig) => void = () => undefined): AgentConfig {
  const { config: c } = loadAgentConfig(['--kubeconfig=/dev/null', '--hostname-override=node-1', `--cert-dir=${join(dir, 'pki')}`, `--root-dir=${dir}`]);
  c.server.address = '127.0.0.1';
  c.server.port = 0;
  c.server.healthzPort = 0;
  c.server.authentication.clientCAFile = join(dir, 'client-ca.crt');
  patch(c);
  return c;
}

let srv: KubeletServer | undefined;
async function start(patch?: (c: AgentConfig) => void): Promise<KubeletServer> {
  srv = await startKubeletServer({ config: config(patch), runtime: fakeRuntime(), client: reviews.client(), providers, clock: realClock, logger: captureLogger, nodeIPs: ['127.0.0.1'] });
  return srv;
}

interface Res {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}
function req(path: string, opts: { method?: string; cert?: CertKeyPair; token?: string; onChunk?: (s: string) => void } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      {
        host: '127.0.0.1',
        port: srv!.address.port,
        path,
        method: opts.method ?? 'GET',
        ca: readFileSync(join(dir, 'pki', 'kubelet.crt')),
        servername: undefined,
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          opts.onChunk?.(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end();
  });
}

beforeAll(async () => {
  await reviews.start();
  await streams.start();
  writeFileSync(logPath, '2026-11-22T04:00:01.000000001Z stdout F hello\n2026-11-22T04:00:02.5Z stderr P wor\n2026-11-22T04:00:02.6Z stderr F ld\n');
});
afterAll(async () => {
  reviews.server.close();
  streams.server.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
  reviews.allow = () => true;
  reviews.failSar = false;
  reviews.sars = [];
  reviews.tokenReviews = 0;
  streamingCalls.length = 0;
  running = true;
});

describe('serving certificate', () => {
  it('self-signs kubelet.crt/kubelet.key once and reuses them', async () => {
    rmSync(join(dir, 'pki'), { recursive: true, force: true });
    await start();
    const crt = readFileSync(join(dir, 'pki', 'kubelet.crt'), 'utf8');
    expect(crt.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(statSync(join(dir, 'pki', 'kubelet.key')).mode & 0o777).toBe(0o600);
    await srv!.stop();
    await start();
    expect(readFileSync(join(dir, 'pki', 'kubelet.crt'), 'utf8')).toBe(crt);
    // The client verified the certificate against kubelet.crt for 127.0.0.1.
    expect((await req('/healthz', { cert: alice })).body).toBe('ok');
  });
});

describe('authentication', () => {
  it('answers 401 without credentials', async () => {
    await start();
    expect(await req('/pods')).toMatchObject({ status: 401, body: 'Unauthorized' });
    expect(reviews.sars).toEqual([]);
  });

  it('serves anonymous requests only when enabled', async () => {
    await start((c) => (c.server.authentication.anonymousEnabled = true));
    expect((await req('/healthz')).status).toBe(200);
    expect(reviews.sars[0]).toMatchObject({ user: 'system:anonymous', groups: ['system:unauthenticated'] });
  });

  it('takes x509 client certificates signed by the client CA', async () => {
    await start();
    const r = await req('/pods', { cert: alice });
    expect(r.status).toBe(200);
    const list = JSON.parse(r.body);
    expect(list).toMatchObject({ kind: 'PodList', apiVersion: 'v1', items: [{ metadata: { name: 'web' } }] });
    expect(reviews.sars[0]).toEqual({ user: 'alice', groups: ['devs', 'system:authenticated'], verb: 'get', subresource: 'proxy', name: 'node-1' });
    expect((await req('/pods', { cert: mallory })).status).toBe(401);
  });

  it('reviews bearer tokens, caches the answer, and never logs the token', async () => {
    await start();
    expect((await req('/pods', { token: GOOD_TOKEN })).status).toBe(200);
    expect((await req('/pods', { token: GOOD_TOKEN })).status).toBe(200);
    expect(reviews.tokenReviews).toBe(1);
    expect(reviews.sars[0]).toMatchObject({ user: 'bob', groups: ['ops', 'system:authenticated'] });
    expect((await req('/pods', { token: 'wrong-token-abc' })).status).toBe(401);
    const logs = logLines.join('');
    expect(logs).not.toContain(GOOD_TOKEN);
    expect(logs).not.toContain('wrong-token-abc');
  });

  it('rejects tokens when the webhook is disabled', async () => {
    await start((c) => (c.server.authentication.webhookEnabled = false));
    expect((await req('/pods', { token: GOOD_TOKEN })).status).toBe(401);
    expect(reviews.tokenReviews).toBe(0);
  });
});

describe('authorization', () => {
  it('denies with kubelet\'s 403 text and maps paths to subresources', async () => {
    await start();
    reviews.allow = (s) => s.subresource !== 'proxy';
    expect(await req('/pods', { cert: alice })).toMatchObject({ status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource=proxy)' });
    expect((await req('/stats/summary', { cert: alice })).status).toBe(200);
    expect((await req('/metrics', { cert: alice })).status).toBe(200);
    expect(reviews.sars.map((s) => s.subresource)).toEqual(['proxy', 'stats', 'metrics']);
  });

  it('caches decisions', async () => {
    await start();
    await req('/pods', { cert: alice });
    await req('/pods', { cert: alice });
    expect(reviews.sars).toHaveLength(1);
  });

  it('answers 500 when the webhook fails', async () => {
    await start();
    reviews.failSar = true;
    expect(await req('/pods', { cert: alice })).toMatchObject({ status: 500, body: 'Authorization error (user=alice, verb=get, resource=nodes, subresource=proxy)' });
  });

  it('allows everything in AlwaysAllow mode', async () => {
    await start((c) => (c.server.authorization.mode = 'AlwaysAllow'));
    expect((await req('/pods', { cert: alice })).status).toBe(200);
    expect(reviews.sars).toEqual([]);
  });
});

describe('routes', () => {
  it('serves healthz checks', async () => {
    await start();
    expect((await req('/healthz', { cert: alice })).body).toBe('ok');
    expect((await req('/healthz/ping', { cert: alice })).body).toBe('ok');
    expect((await req('/healthz/syncloop', { cert: alice })).body).toBe('ok');
    expect((await req('/healthz?verbose', { cert: alice })).body).toBe('[+]ping ok\n[+]log ok\n[+]syncloop ok\nhealthz check passed\n');
    expect((await req('/nope', { cert: alice })).status).toBe(404);
  });

  it('serves container logs with kubelet options', async () => {
    await start();
    expect(await req('/containerLogs/ns1/web/app', { cert: alice })).toMatchObject({ status: 200, body: 'hello\nworld\n' });
    expect((await req('/containerLogs/ns1/web/app?timestamps=true&tailLines=1', { cert: alice })).body).toBe('2026-11-22T04:00:02.500000000Z world\n');
    expect((await req('/containerLogs/ns1/web/app?limitBytes=3', { cert: alice })).body).toBe('hel');
    expect((await req('/containerLogs/ns1/web/app?sinceTime=2026-11-22T04:00:02Z', { cert: alice })).body).toBe('world\n');
  });

  it('answers log errors like kubelet', async () => {
    await start();
    expect(await req('/containerLogs/ns1/nope/app', { cert: alice })).toMatchObject({ status: 404, body: 'pod "nope" does not exist' });
    expect(await req('/containerLogs/ns1/web/nope', { cert: alice })).toMatchObject({ status: 404, body: 'container "nope" not found in pod "web"' });
    expect(await req('/containerLogs/ns1/web/sidecar', { cert: alice })).toMatchObject({ status: 400, body: 'container "sidecar" in pod "web" is waiting to start: ContainerCreating' });
    expect(await req('/containerLogs/ns1/web/app?follow=maybe', { cert: alice })).toMatchObject({ status: 400, body: '{"message": "Unable to decode query."}' });
    expect(await req('/containerLogs/ns1/web/app?tailLines=-3', { cert: alice })).toMatchObject({ status: 422, body: '{"message": "Invalid request."}' });
  });

  it('streams followed logs until the container exits', async () => {
    await start();
    let appended = false;
    const r = await req('/containerLogs/ns1/web/app?follow=true', {
      cert: alice,
      onChunk: () => {
        if (appended) return;
        appended = true;
        setTimeout(() => {
          appendFileSync(logPath, '2026-11-22T04:00:03Z stdout F more\n');
          running = false;
        }, 20);
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello\nworld\nmore\n');
  });

  it('exposes kubelet metrics and stats', async () => {
    const s = await start();
    s.metrics.podStartDuration.observe(1.5);
    const m = await req('/metrics', { cert: alice });
    expect(m.body).toContain('kubelet_node_name{node="node-1"} 1');
    expect(m.body).toContain('kubelet_running_pods 1');
    expect(m.body).toContain('kubelet_running_containers{container_state="running"} 1');
    expect(m.body).toContain('kubelet_pod_start_duration_seconds_bucket{le="2"} 1');
    expect(m.body).toContain('process_cpu_user_seconds_total');
    // kubelet's server metrics: the /metrics request itself is in flight, earlier ones are counted.
    expect(m.body).toMatch(/^kubelet_http_requests_total\{method="GET",path="metrics",server_type="readwrite",long_running="false"\} 1$/m);
    expect(m.body).toMatch(/^kubelet_http_inflight_requests\{method="GET",path="metrics",server_type="readwrite",long_running="false"\} 1$/m);
    const again = await req('/metrics', { cert: alice });
    expect(again.body).toMatch(/^kubelet_http_requests_duration_seconds_count\{method="GET",path="metrics",server_type="readwrite",long_running="false"\} 1$/m);
    const summary = JSON.parse((await req('/stats/summary', { cert: alice })).body);
    expect(summary.node.nodeName).toBe('node-1');
    expect(summary.node.cpu.usageCoreNanoSeconds).toBeGreaterThan(0);
    expect(summary.node.memory.workingSetBytes).toBeGreaterThan(0);
    expect(summary.node.fs.capacityBytes).toBeGreaterThan(0);
    expect(summary.pods).toEqual([]);
    const rm = await req('/metrics/resource', { cert: alice });
    expect(rm.body).toMatch(/^node_cpu_usage_seconds_total \d/m);
    expect(rm.body).toContain('resource_scrape_error 0');
  });
});

describe('streaming', () => {
  /** Sends a raw upgrade request over TLS; returns the socket and the response head. */
  function upgrade(path: string, headers: string[], method = 'POST'): Promise<{ sock: import('node:tls').TLSSocket; head: string; rest: Buffer }> {
    return new Promise((resolve, reject) => {
      const sock = tlsConnect({ host: '127.0.0.1', port: srv!.address.port, ca: readFileSync(join(dir, 'pki', 'kubelet.crt')), cert: alice.certPem, key: alice.keyPem }, () => {
        sock.write([`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', ...headers, '', ''].join('\r\n'));
      });
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onData);
        resolve({ sock, head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4) });
      };
      sock.on('data', onData);
      sock.on('error', reject);
    });
  }
  function readN(sock: import('node:tls').TLSSocket, text: string, initial: Buffer): Promise<string> {
    return new Promise((resolve) => {
      let got = initial.toString();
      if (got.includes(text)) return resolve(got);
      sock.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes(text)) resolve(got);
      });
    });
  }

  it('proxies an exec upgrade to the runtime streaming server and pipes both ways', async () => {
    await start();
    const { sock, head, rest } = await upgrade('/exec/ns1/web/app?command=sh&command=-c&command=echo%20hi&input=1&output=1&error=1&tty=1', ['X-Stream-Protocol-Version: v4.channel.k8s.io', 'Authorization: Bearer should-not-be-forwarded']);
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    sock.write('ping-123');
    expect(await readN(sock, 'ping-123', rest)).toContain('ping-123');
    sock.destroy();
    expect(streamingCalls).toEqual([{ exec: { containerId: 'c1', cmd: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: false, tty: true } }]);
    const upstream = streams.heads.at(-1)!;
    expect(upstream.split('\r\n')[0]).toBe('POST /exec/TOKEN1 HTTP/1.1');
    expect(upstream).toContain('X-Stream-Protocol-Version: v4.channel.k8s.io');
    expect(upstream).toContain(`Host: 127.0.0.1:${streams.port}`);
    expect(upstream.toLowerCase()).not.toContain('authorization');
    expect(reviews.sars.at(-1)).toMatchObject({ verb: 'create', subresource: 'proxy' });
  });

  it('proxies attach and port-forward (uid variant, websocket bearer token)', async () => {
    await start();
    const a = await upgrade('/attach/ns1/web/uid-1/app?output=1', []);
    expect(a.head).toContain('101 Switching Protocols');
    a.sock.destroy();
    const token = Buffer.from(GOOD_TOKEN).toString('base64url');
    const sock = await new Promise<{ head: string; s: import('node:tls').TLSSocket }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: srv!.address.port, ca: readFileSync(join(dir, 'pki', 'kubelet.crt')) }, () => {
        s.write(
          [
            'GET /portForward/ns1/web?port=8080&port=9090 HTTP/1.1',
            'Host: 127.0.0.1',
            'Connection: Upgrade',
            'Upgrade: websocket',
            'Sec-WebSocket-Version: 13',
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
            `Sec-WebSocket-Protocol: v4.channel.k8s.io, base64url.bearer.authorization.k8s.io.${token}`,
            '',
            '',
          ].join('\r\n'),
        );
      });
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n')) resolve({ head: buf, s });
      });
      s.on('error', reject);
    });
    expect(sock.head).toContain('101 Switching Protocols');
    sock.s.destroy();
    expect(streamingCalls).toEqual([{ attach: { containerId: 'c1', stdin: false, stdout: true, stderr: false, tty: false } }, { portForward: { podSandboxId: 's1', port: [8080, 9090] } }]);
    const upstream = streams.heads.at(-1)!;
    expect(upstream).toContain('Sec-WebSocket-Protocol: v4.channel.k8s.io');
    expect(upstream).not.toContain(token);
    expect(reviews.sars.at(-1)).toMatchObject({ user: 'bob', verb: 'get' });
  });

  it('answers streaming errors before proxying', async () => {
    await start();
    expect((await upgrade('/exec/ns1/web/app?command=ls', [])).head).toContain('400 Bad Request');
    expect((await upgrade('/exec/ns1/nope/app?output=1', [])).head).toContain('404 Not Found');
    expect((await upgrade('/exec/ns1/web/other-uid/app?output=1', [])).head).toContain('404 Not Found');
    expect((await upgrade('/exec/ns1/web/sidecar?output=1', [])).head).toContain('404 Not Found');
    expect((await upgrade('/portForward/ns1/web?port=99999', [], 'GET')).head).toContain('400 Bad Request');
    expect(streamingCalls).toEqual([]);
    expect((await req('/exec/ns1/web/app?output=1', { cert: alice, method: 'POST' })).status).toBe(400);
  });

  it('refuses a forbidden upgrade', async () => {
    await start();
    reviews.allow = () => false;
    const denied = await upgrade('/exec/ns1/web/app?output=1', []);
    expect(denied.head).toContain('403 Forbidden');
    expect(await readN(denied.sock, 'subresource=proxy)', denied.rest)).toContain('Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)');
    expect(streamingCalls).toEqual([]);
  });
});

describe('healthz port', () => {
  it('answers ok over plain HTTP', async () => {
    const h = await startHealthzServer({ address: '127.0.0.1', port: 0, logger: silentLogger() });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: h.address.port, path: '/healthz' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(`${res.statusCode} ${b}`));
        })
          .on('error', reject)
          .end();
      });
      expect(body).toBe('200 ok');
    } finally {
      await h.close();
    }
  });
});
