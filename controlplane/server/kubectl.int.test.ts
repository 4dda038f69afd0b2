/**
 * The companion apiserver driven by the real kubectl (/usr/bin/kubectl, 1.32) over HTTPS
 * with x509 client certificates, on a random port on 127.0.0.1.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { silentLogger } from '../../lib/log.js';
import { Nodes, Pods, Services } from '../../lib/kube/resources.js';
import { issueCertificate, readCertKeyPair } from '../../lib/pki/index.js';
import { parseControlPlaneConfig, startControlPlane, type RunningControlPlane } from '../main.js';

const KUBECTL = '/usr/bin/kubectl';
const haveKubectl = existsSync(KUBECTL);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!haveKubectl)('companion apiserver with real kubectl', () => {
  let dir: string;
  let home: string;
  let cp: RunningControlPlane;
  let kubelet: Server | undefined;

  const kubectl = (args: string[], input?: string): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(
        KUBECTL,
        ['--kubeconfig', cp.adminKubeconfig, ...args],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });

  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input);
    expect(r.stderr, `kubectl ${args.join(' ')} failed`).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };

  const manifest = (replicas: number, data: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: {tier: back}
data: {key: "${data}"}
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cp-int-'));
    home = join(dir, 'home');
    mkdirSync(home);
    const config = parseControlPlaneConfig([
      '--state-dir', dir,
      '--bind-address', '127.0.0.1',
      '--secure-port', '0',
      '--advertise-address', '127.0.0.1',
    ]);
    cp = await startControlPlane(config, { logger: silentLogger() });
  });

  afterAll(async () => {
    await cp?.stop();
    kubelet?.close();
    kubelet?.closeAllConnections();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a 1.32 server version without skew warnings', async () => {
    const r = await kubectl(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Server Version: v1.32.0+skiff');
    expect(r.stderr).not.toMatch(/WARNING/i);
  });

  it('lists api-resources from discovery', async () => {
    const out = await ok(['api-resources']);
    expect(out).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(out).toMatch(/pods\s+po\s+v1\s+true\s+Pod/);
    expect(out).toMatch(/namespaces\s+ns\s+v1\s+false\s+Namespace/);
    const sub = await ok(['get', '--raw', '/api/v1']);
    const names = (JSON.parse(sub) as { resources: { name: string }[] }).resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['pods/status', 'pods/log', 'pods/binding', 'namespaces/finalize']));
    const apps = JSON.parse(await ok(['get', '--raw', '/apis/apps/v1'])) as { resources: { name: string; kind: string; group?: string }[] };
    expect(apps.resources.find((r) => r.name === 'deployments/scale')).toMatchObject({ kind: 'Scale', group: 'autoscaling' });
  });

  it('applies, re-applies with a change, and gets in several formats', async () => {
    const created = await ok(['apply', '-f', '-'], manifest(2, 'one'));
    expect(created).toContain('deployment.apps/web created');
    expect(created).toContain('service/web created');
    expect(created).toContain('configmap/cfg created');
    const again = await ok(['apply', '-f', '-'], manifest(3, 'two'));
    expect(again).toContain('deployment.apps/web configured');
    expect(again).toContain('service/web unchanged');
    expect(again).toContain('configmap/cfg configured');

    const wide = await ok(['get', 'deployments', '-o', 'wide']);
    expect(wide).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide).toMatch(/web\s+0\/3/);
    const yaml = await ok(['get', 'deployment', 'web', '-o', 'yaml']);
    expect(yaml).toContain('replicas: 3');
    expect(yaml).toContain('generation: 2');
    expect(yaml).toContain('kubectl.kubernetes.io/last-applied-configuration');
    const json = JSON.parse(await ok(['get', 'configmap', 'cfg', '-o', 'json'])) as { data: Record<string, string> };
    expect(json.data).toEqual({ key: 'two' });
    const svc = await ok(['get', 'svc', 'web', '-o', 'wide']);
    expect(svc).toMatch(/web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/);
  });

  it('filters with -l selectors', async () => {
    expect(await ok(['get', 'deploy,cm', '-l', 'tier=front', '-o', 'name'])).toBe('deployment.apps/web\n');
    expect(await ok(['get', 'cm', '-l', 'tier in (back,other)', '-o', 'name'])).toBe('configmap/cfg\n');
    expect((await kubectl(['get', 'cm', '-l', 'tier=nope'])).stderr).toContain('No resources found');
  });

  it('scales a deployment through the scale subresource', async () => {
    expect(await ok(['scale', 'deployment', 'web', '--replicas=5'])).toContain('deployment.apps/web scaled');
    expect(await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
  });

  it('describes objects with the events the controllers recorded', async () => {
    const d = await ok(['describe', 'deployment', 'web']);
    expect(d).toMatch(/Replicas:\s+5 desired/);
    // The deployment controller (started by default) scaled a ReplicaSet and said so.
    expect(d).toMatch(/Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set web-\w+ to/);
    const s = await ok(['describe', 'service', 'web']);
    expect(s).toMatch(/IP:\s+10\.96\./);
  });

  it('selects pods by spec.nodeName', async () => {
    const pod = (name: string, node: string): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${node}
  containers: [{name: c, image: busybox:1.29}]
`;
    await ok(['apply', '-f', '-'], pod('on-x', 'node-x'));
    await ok(['apply', '-f', '-'], pod('on-y', 'node-y'));
    expect(await ok(['get', 'pods', '--field-selector', 'spec.nodeName=node-x', '-o', 'name'])).toBe('pod/on-x\n');
    const bad = await kubectl(['get', 'pods', '--field-selector', 'spec.nope=x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field label not supported: spec.nope');
  });

  it('streams changes with get --watch', async () => {
    const child = spawn(KUBECTL, ['--kubeconfig', cp.adminKubeconfig, 'get', 'configmaps', '--watch', '--output-watch-events'], { env: { PATH: process.env.PATH ?? '', HOME: home } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const seen = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`timeout waiting for ${re} in ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await seen(/ADDED\s+cfg/);
      await ok(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\n');
      await seen(/ADDED\s+watched/);
      await ok(['delete', 'configmap', 'watched']);
      await seen(/DELETED\s+watched/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('accepts the protobuf bodies of imperative create commands', async () => {
    expect(await ok(['create', 'namespace', 'team'])).toBe('namespace/team created\n');
    expect(await ok(['create', 'configmap', 'lit', '-n', 'team', '--from-literal=a=b'])).toBe('configmap/lit created\n');
    expect(await ok(['get', 'configmap', 'lit', '-n', 'team', '-o', 'jsonpath={.data.a}'])).toBe('b');
    expect(await ok(['create', 'secret', 'generic', 'pw', '-n', 'team', '--from-literal=pw=hunter2'])).toBe('secret/pw created\n');
    expect(await ok(['get', 'secret', 'pw', '-n', 'team', '-o', 'jsonpath={.type} {.data.pw}'])).toBe(`Opaque ${Buffer.from('hunter2').toString('base64')}`);
    expect(await ok(['create', 'serviceaccount', 'bot', '-n', 'team'])).toBe('serviceaccount/bot created\n');
  });

  it('deletes with --wait', async () => {
    await ok(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n');
    expect(await ok(['delete', 'configmap', 'gone', '--wait'])).toContain('configmap "gone" deleted');
    const r = await kubectl(['get', 'configmap', 'gone']);
    expect(r.stderr).toContain('configmaps "gone" not found');
  });

  it('returns 4xx errors that name the field', async () => {
    const badName = await kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n');
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('metadata.name');
    const unknown = await kubectl(['apply', '--validate=strict', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\nspec: {foo: 1}\n');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown field "spec"');
    const negative = await kubectl(['apply', '-f', '-'], manifest(-1, 'x').split('---')[0]);
    expect(negative.code).not.toBe(0);
    expect(negative.stderr).toContain('The Deployment "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  });

  it('proxies pods/log to the node\'s kubelet with the kubelet-client certificate', async () => {
    const pki = join(dir, 'pki');
    const ca = readCertKeyPair(pki, 'ca')!;
    const serving = issueCertificate(ca, { commonName: 'fake-kubelet', ipAddresses: ['127.0.0.1'], usages: ['serverAuth'] });
    const seen: { path: string; cn?: string }[] = [];
    kubelet = createHttpsServer({ key: serving.keyPem, cert: serving.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined;
      seen.push({ path: req.url ?? '', cn });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      if ((req.url ?? '').includes('follow=true')) {
        res.write('line 1\n');
        const t = setInterval(() => res.write('tick\n'), 100);
        res.on('close', () => clearInterval(t));
        return;
      }
      res.end('hello from the kubelet\n');
    });
    await new Promise<void>((r) => kubelet!.listen(0, '127.0.0.1', r));
    const port = (kubelet.address() as { port: number }).port;
    await cp.api.client.create<Node>(Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
    });
    await cp.api.client.create<Pod>(Pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'logger', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'busybox:1.29' }] },
    });
    expect(await ok(['logs', 'logger', '--tail=5'])).toBe('hello from the kubelet\n');
    expect(seen[0]).toEqual({ path: '/containerLogs/default/logger/main?tailLines=5', cn: 'kube-apiserver-kubelet-client' });

    const child = spawn(KUBECTL, ['--kubeconfig', cp.adminKubeconfig, 'logs', '-f', 'logger'], { env: { PATH: process.env.PATH ?? '', HOME: home } });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`no streamed logs: ${out}`)), 10_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.split('tick').length > 3) {
            clearTimeout(t);
            resolve(out);
          }
        });
      });
      expect(text.startsWith('line 1\ntick\n')).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    const noHost = await kubectl(['logs', 'on-nowhere']);
    expect(noHost.code).not.toBe(0);
  });

  it('serves the review APIs to kubectl: auth can-i (protobuf SelfSubjectAccessReview) and a SubjectAccessReview', async () => {
    expect(await ok(['auth', 'can-i', 'create', 'pods', '--subresource=exec'])).toBe('yes\n');
    const sar = (user: string, groups: string[]): string =>
      `apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec: {user: ${user}, groups: ${JSON.stringify(groups)}, resourceAttributes: {verb: get, resource: nodes, subresource: proxy, name: n1}}\n`;
    // No schemas in the OpenAPI document for create-only kinds: client-side validation is off.
    expect(await ok(['create', '--validate=false', '-f', '-', '-o', 'jsonpath={.status.allowed}'], sar('alice', ['devs']))).toBe('false');
    expect(await ok(['create', '--validate=false', '-f', '-', '-o', 'jsonpath={.status.allowed}'], sar('kube-apiserver-kubelet-client', []))).toBe('true');
  });

  it('answers 401 without a client certificate, but serves /healthz and /version', async () => {
    const get = (path: string): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: cp.server.port, path, rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const denied = await get('/api/v1/namespaces');
    expect(denied.code).toBe(401);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect(await get('/healthz')).toEqual({ code: 200, body: 'ok' });
    expect(JSON.parse((await get('/version')).body).gitVersion).toBe('v1.32.0+skiff');
  });

  it('issues node kubeconfigs whose identity the server accepts', async () => {
    const { writeNodeKubeconfig } = await import('./index.js');
    const file = join(dir, 'node-n1.conf');
    writeNodeKubeconfig(dir, 'n1', cp.server.url, file);
    const r = await new Promise<Result>((resolve) =>
      execFile(KUBECTL, ['--kubeconfig', file, 'get', 'nodes', '-o', 'name'], { env: { PATH: process.env.PATH ?? '', HOME: home } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('node/n1\n');
  });

  it('keeps state and ClusterIP allocations across a restart (snapshot)', async () => {
    const before = await cp.api.client.get<Service>(Services, 'default', 'web');
    await cp.stop();
    cp = await startControlPlane(cp.config, { logger: silentLogger() });
    const after = await cp.api.client.get<Service>(Services, 'default', 'web');
    expect(after.spec!.clusterIP).toBe(before.spec!.clusterIP);
    expect(after.metadata!.resourceVersion).toBe(before.metadata!.resourceVersion);
    const dup = await kubectl(['create', '-f', '-'], `apiVersion: v1\nkind: Service\nmetadata: {name: dup}\nspec: {clusterIP: ${before.spec!.clusterIP}, ports: [{port: 1}]}\n`);
    expect(dup.stderr).toContain('provided IP is already allocated');
    expect(await ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
    writeFileSync(join(dir, 'touched'), '');
  });
});
