/**
 * The companion apiserver's kubelet proxies and review APIs over HTTPS, against an in-test
 * "kubelet" that records what reaches it: `pods/exec|attach|portforward` upgrades (SPDY is
 * spliced through after the kubelet's 101; a refused WebSocket upgrade comes back as the
 * kubelet's own error so kubectl falls back), `nodes/<name>/proxy/<path>`, TokenReview and
 * SubjectAccessReview, and their discovery entries.
 */
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { silentLogger } from '../../lib/log.js';
import { Nodes, Pods } from '../../lib/kube/resources.js';
import { createCA, issueCertificate, type CertKeyPair } from '../../lib/pki/index.js';
import { createApi, type Api } from '../registry/index.js';
import { startApiServer, type ApiServer } from './index.js';

interface Seen {
  method: string;
  url: string;
  cn?: string;
  headers: IncomingMessage['headers'];
}

const ca = createCA({ commonName: 'kubernetes' });
const serving = issueCertificate(ca, { commonName: 'kube-apiserver', ipAddresses: ['127.0.0.1'], usages: ['serverAuth'] });
const admin = issueCertificate(ca, { commonName: 'kubernetes-admin', organization: ['system:masters'], usages: ['clientAuth'] });
const kubeletClient = issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organization: ['system:masters'], usages: ['clientAuth'] });
const kubeletServing = issueCertificate(ca, { commonName: 'fake-kubelet', ipAddresses: ['127.0.0.1'], usages: ['serverAuth'] });

let api: Api;
let server: ApiServer;
let kubelet: Server;
const seen: Seen[] = [];

function cnOf(req: IncomingMessage): string | undefined {
  const cn = (req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** The fake kubelet: plain requests answer their path; SPDY upgrades get 101 and an echo; WebSocket upgrades get containerd's 403. */
async function startFakeKubelet(): Promise<Server> {
  const s = createHttpsServer({ key: kubeletServing.keyPem, cert: kubeletServing.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', cn: cnOf(req), headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ from: 'kubelet', url: req.url }));
  });
  s.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', cn: cnOf(req), headers: req.headers });
    if (String(req.headers.upgrade).toLowerCase() === 'websocket') {
      // What containerd 1.6's streaming server answers to a protocol it does not speak (v5).
      sock.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
    if (head.length) sock.write(head);
    sock.on('data', (d: Buffer) => sock.write(Buffer.concat([Buffer.from('echo:'), d])));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

/** Sends an upgrade request on a raw TLS socket; resolves the response head and a way to talk on. */
function upgrade(
  method: string,
  path: string,
  headers: string[],
  cert: CertKeyPair | null = admin,
): Promise<{ head: string; body: string; sock: TLSSocket; read(until: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port: server.port, ca: ca.certPem, cert: cert?.certPem, key: cert?.keyPem }, () => {
      sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`);
    });
    let buf = '';
    let done = false;
    let waiter: { until: string; resolve: (s: string) => void } | undefined;
    sock.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!done) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        if (head.startsWith('HTTP/1.1 101')) {
          done = true;
          buf = buf.slice(end + 4);
          resolve({
            head,
            body: '',
            sock,
            read: (until) =>
              new Promise((r) => {
                if (buf.includes(until)) return r(buf);
                waiter = { until, resolve: r };
              }),
          });
        }
        return;
      }
      if (waiter && buf.includes(waiter.until)) waiter.resolve(buf);
    });
    sock.on('end', () => {
      if (done) return;
      done = true;
      const end = buf.indexOf('\r\n\r\n');
      resolve({ head: buf.slice(0, end), body: buf.slice(end + 4), sock, read: async () => buf });
    });
    sock.on('error', reject);
  });
}

function get(path: string, cert: CertKeyPair = admin, method = 'GET', body?: unknown): Promise<{ code: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: server.port, path, method, ca: ca.certPem, cert: cert.certPem, key: cert.keyPem, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

beforeAll(async () => {
  kubelet = await startFakeKubelet();
  api = await createApi({});
  server = await startApiServer({
    registry: api.registry,
    logger: silentLogger(),
    tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem },
    kubeletClient: { certPem: kubeletClient.certPem, keyPem: kubeletClient.keyPem },
    port: 0,
  });
  const port = (kubelet.address() as AddressInfo).port;
  await api.client.create<Node>(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
  const pod = (name: string, containers: string[], nodeName?: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: containers.map((c) => ({ name: c, image: 'busybox:1.29' })) } });
  await api.client.create<Pod>(Pods, pod('one', ['c'], 'n1'));
  await api.client.create<Pod>(Pods, pod('two', ['a', 'b'], 'n1'));
  await api.client.create<Pod>(Pods, pod('nowhere', ['c']));
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  kubelet?.closeAllConnections();
  await new Promise<void>((r) => (kubelet ? kubelet.close(() => r()) : r()));
});

describe('pods/exec, pods/attach, pods/portforward', () => {
  it('proxies an exec upgrade to /exec/<ns>/<pod>/<container> with kubelet parameter names and the kubelet-client certificate, then splices', async () => {
    seen.length = 0;
    const r = await upgrade('POST', '/api/v1/namespaces/default/pods/one/exec?command=sh&command=-c&command=echo%20hi&container=c&stdin=true&stdout=true&tty=true', [
      'Upgrade: SPDY/3.1',
      'X-Stream-Protocol-Version: v4.channel.k8s.io',
      'X-Stream-Protocol-Version: v3.channel.k8s.io',
    ]);
    expect(r.head).toMatch(/^HTTP\/1.1 101/);
    expect(r.head).toContain('X-Stream-Protocol-Version: v4.channel.k8s.io');
    expect(seen).toHaveLength(1);
    const url = new URL(seen[0].url, 'https://kubelet');
    expect(url.pathname).toBe('/exec/default/one/c');
    expect(url.searchParams.getAll('command')).toEqual(['sh', '-c', 'echo hi']);
    expect(Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'command'))).toEqual({ input: '1', output: '1', tty: '1' });
    expect(seen[0].method).toBe('POST');
    expect(seen[0].cn).toBe('kube-apiserver-kubelet-client');
    expect(seen[0].headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io, v3.channel.k8s.io');
    r.sock.write('ping');
    expect(await r.read('echo:ping')).toContain('echo:ping');
    r.sock.destroy();
  });

  it('proxies attach (named container) and port-forward (ports → port)', async () => {
    seen.length = 0;
    const a = await upgrade('GET', '/api/v1/namespaces/default/pods/two/attach?container=b&stdin=true&stdout=true&stderr=true', ['Upgrade: SPDY/3.1']);
    expect(a.head).toMatch(/^HTTP\/1.1 101/);
    a.sock.destroy();
    const p = await upgrade('POST', '/api/v1/namespaces/default/pods/one/portforward?ports=8080&ports=9090', ['Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: portforward.k8s.io']);
    expect(p.head).toMatch(/^HTTP\/1.1 101/);
    p.sock.destroy();
    expect(seen.map((s) => s.url)).toEqual(['/attach/default/two/b?input=1&output=1&error=1', '/portForward/default/one?port=8080&port=9090']);
  });

  it("relays the kubelet's refusal of a WebSocket upgrade (kubectl then falls back to SPDY)", async () => {
    seen.length = 0;
    const r = await upgrade('GET', '/api/v1/namespaces/default/pods/one/exec?command=true&stdout=true', [
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol: v5.channel.k8s.io',
    ]);
    expect(r.head).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(r.body).toBe('');
    expect(seen[0].headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io');
  });

  it("answers kube-apiserver's errors before reaching the kubelet", async () => {
    seen.length = 0;
    const noContainer = await upgrade('POST', '/api/v1/namespaces/default/pods/two/exec?command=sh&stdout=true', ['Upgrade: SPDY/3.1']);
    expect(noContainer.head).toMatch(/^HTTP\/1.1 400/);
    expect(JSON.parse(noContainer.body)).toMatchObject({ kind: 'Status', code: 400, message: 'a container name must be specified for pod two, choose one of: [a b]' });
    const badContainer = await upgrade('POST', '/api/v1/namespaces/default/pods/one/exec?command=sh&stdout=true&container=zz', ['Upgrade: SPDY/3.1']);
    expect(JSON.parse(badContainer.body).message).toBe('container zz is not valid for pod one');
    const unscheduled = await upgrade('POST', '/api/v1/namespaces/default/pods/nowhere/exec?command=sh&stdout=true', ['Upgrade: SPDY/3.1']);
    expect(JSON.parse(unscheduled.body).message).toBe('pod nowhere does not have a host assigned');
    const missing = await upgrade('POST', '/api/v1/namespaces/default/pods/ghost/exec?command=sh&stdout=true', ['Upgrade: SPDY/3.1']);
    expect(missing.head).toMatch(/^HTTP\/1.1 404/);
    const anonymous = await upgrade('POST', '/api/v1/namespaces/default/pods/one/exec?command=sh&stdout=true', ['Upgrade: SPDY/3.1'], null);
    expect(anonymous.head).toMatch(/^HTTP\/1.1 401/);
    expect(seen).toEqual([]);
    const plain = await get('/api/v1/namespaces/default/pods/one/exec?command=sh&stdout=true', admin, 'POST');
    expect(plain.code).toBe(400);
    expect(JSON.parse(plain.body).message).toBe('Upgrade request required');
  });
});

describe('nodes/<name>/proxy', () => {
  it('proxies any path and query to the kubelet, GET and POST', async () => {
    seen.length = 0;
    const r = await get('/api/v1/nodes/n1/proxy/stats/summary?only_cpu_and_memory=true');
    expect(r.code).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ from: 'kubelet', url: '/stats/summary?only_cpu_and_memory=true' });
    expect((await get('/api/v1/nodes/n1/proxy/metrics')).body).toContain('"/metrics"');
    expect((await get('/api/v1/nodes/n1/proxy/healthz')).body).toContain('"/healthz"');
    expect((await get('/api/v1/nodes/n1/proxy/pods', admin, 'POST', {})).code).toBe(200);
    expect(seen.map((s) => `${s.method} ${s.url} ${s.cn}`)).toEqual([
      'GET /stats/summary?only_cpu_and_memory=true kube-apiserver-kubelet-client',
      'GET /metrics kube-apiserver-kubelet-client',
      'GET /healthz kube-apiserver-kubelet-client',
      'POST /pods kube-apiserver-kubelet-client',
    ]);
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it('answers 404 for an unknown node', async () => {
    expect((await get('/api/v1/nodes/ghost/proxy/healthz')).code).toBe(404);
  });
});

describe('TokenReview and SubjectAccessReview', () => {
  it('serves them create-only, with discovery entries', async () => {
    const groups = JSON.parse((await get('/apis')).body) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['authentication.k8s.io', 'authorization.k8s.io']));
    const authz = JSON.parse((await get('/apis/authorization.k8s.io/v1')).body) as { resources: { name: string; verbs: string[]; namespaced: boolean; kind: string }[] };
    expect(authz.resources).toEqual([
      expect.objectContaining({ name: 'selfsubjectaccessreviews', verbs: ['create'], namespaced: false, kind: 'SelfSubjectAccessReview' }),
      expect.objectContaining({ name: 'subjectaccessreviews', verbs: ['create'], namespaced: false, kind: 'SubjectAccessReview' }),
    ]);
    const authn = JSON.parse((await get('/apis/authentication.k8s.io/v1')).body) as { resources: { name: string; verbs: string[] }[] };
    expect(authn.resources).toEqual([expect.objectContaining({ name: 'tokenreviews', verbs: ['create'] })]);
    expect((await get('/apis/authentication.k8s.io/v1/tokenreviews')).code).toBe(405);
  });

  it('answers every TokenReview unauthenticated', async () => {
    const r = await get('/apis/authentication.k8s.io/v1/tokenreviews', admin, 'POST', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'x' } });
    expect(r.code).toBe(201);
    expect(JSON.parse(r.body).status).toMatchObject({ authenticated: false });
  });

  it('answers SubjectAccessReviews with the companion policy', async () => {
    const review = async (user: string, groups: string[]): Promise<{ allowed: boolean; reason?: string }> => {
      const r = await get('/apis/authorization.k8s.io/v1/subjectaccessreviews', admin, 'POST', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user, groups, resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'n1' } },
      });
      expect(r.code).toBe(201);
      return JSON.parse(r.body).status;
    };
    expect((await review('kubernetes-admin', ['system:masters'])).allowed).toBe(true);
    expect((await review('kube-apiserver-kubelet-client', [])).allowed).toBe(true);
    const denied = await review('alice', ['devs']);
    expect(denied.allowed).toBe(false);
    expect(denied.reason).toContain('user "alice"');
    const invalid = await get('/apis/authorization.k8s.io/v1/subjectaccessreviews', admin, 'POST', { kind: 'SubjectAccessReview', spec: { resourceAttributes: { verb: 'get' } } });
    expect(invalid.code).toBe(422);
  });

  it('answers SelfSubjectAccessReviews (kubectl auth can-i) allowed, as the companion allows every authenticated user', async () => {
    const r = await get('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', admin, 'POST', { kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'default' } } });
    expect(r.code).toBe(201);
    expect(JSON.parse(r.body).status).toMatchObject({ allowed: true });
    expect((await get('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', admin, 'POST', { kind: 'SelfSubjectAccessReview', spec: {} })).code).toBe(422);
  });
});
