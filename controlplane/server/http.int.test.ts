/**
 * HTTP details of the companion apiserver that kubectl does not show directly: watch
 * framing and 410s, Tables in watches, metadata-only responses, aggregated discovery,
 * OpenAPI v3 for `--validate=strict`, content types and Warning headers.
 */
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { createCA, issueCertificate, type CertKeyPair } from '../../lib/pki/index.js';
import { createApi, type Api } from '../index.js';
import { startApiServer, type ApiServer } from './index.js';

describe('apiserver over HTTPS', () => {
  let api: Api;
  let server: ApiServer;
  let ca: CertKeyPair;
  let admin: CertKeyPair;

  interface Reply {
    code: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }

  const call = (method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; until?: (body: string) => boolean } = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: server.port, path, method, ca: ca.certPem, cert: admin.certPem, key: admin.keyPem, servername: 'localhost', headers: opts.headers },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
            if (opts.until?.(body)) {
              req.destroy();
              resolve({ code: res.statusCode ?? 0, headers: res.headers, body });
            }
          });
          res.on('end', () => resolve({ code: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', (e) => (opts.until ? undefined : reject(e)));
      if (opts.body !== undefined) req.end(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      else req.end();
    });

  beforeAll(async () => {
    ca = createCA();
    const serving = issueCertificate(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usages: ['serverAuth'] });
    admin = issueCertificate(ca, { commonName: 'tester', organization: ['system:masters'], usages: ['clientAuth'] });
    api = await createApi({ historySize: 20 });
    server = await startApiServer({ registry: api.registry, logger: silentLogger(), tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem }, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await api?.close();
  });

  it('serves aggregated discovery when asked, legacy otherwise', async () => {
    const agg = await call('GET', '/apis', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
    expect(agg.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const list = JSON.parse(agg.body) as { kind: string; items: { metadata: { name: string }; versions: { resources: { resource: string; subresources?: { subresource: string }[] }[] }[] }[] };
    expect(list.kind).toBe('APIGroupDiscoveryList');
    const apps = list.items.find((i) => i.metadata.name === 'apps')!;
    expect(apps.versions[0].resources.find((r) => r.resource === 'deployments')!.subresources!.map((s) => s.subresource)).toEqual(['status', 'scale']);
    const legacy = JSON.parse((await call('GET', '/apis')).body) as { kind: string; groups: { name: string; preferredVersion: { groupVersion: string } }[] };
    expect(legacy.kind).toBe('APIGroupList');
    expect(legacy.groups.find((g) => g.name === 'apps')!.preferredVersion.groupVersion).toBe('apps/v1');
  });

  it('declares fieldValidation on PATCH operations in OpenAPI v3, without strategic merge bodies', async () => {
    const root = JSON.parse((await call('GET', '/openapi/v3')).body) as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(root.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1']));
    const doc = JSON.parse((await call('GET', root.paths['apis/apps/v1'].serverRelativeURL)).body) as { paths: Record<string, { patch?: { parameters: { name: string; in: string }[]; requestBody: { content: Record<string, unknown> }; 'x-kubernetes-group-version-kind': unknown } }> };
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch!;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
    expect(Object.keys(patch.requestBody.content)).not.toContain('application/strategic-merge-patch+json');
    expect((await call('GET', '/openapi/v2')).code).toBe(404);
  });

  it('streams watch events as JSON lines, Tables when asked', async () => {
    const cm = (name: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const a = JSON.parse((await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('a'), headers: { 'Content-Type': 'application/json' } })).body) as { metadata: { resourceVersion: string } };
    const p = call('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${a.metadata.resourceVersion}`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
      until: (b) => b.split('\n').filter(Boolean).length >= 2,
    });
    await new Promise((r) => setTimeout(r, 100));
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('b'), headers: { 'Content-Type': 'application/json' } });
    await call('POST', '/api/v1/namespaces/default/configmaps', { body: cm('c'), headers: { 'Content-Type': 'application/json' } });
    const r = await p;
    expect(r.headers['content-type']).toBe('application/json;as=Table;v=v1;g=meta.k8s.io');
    const [e1, e2] = r.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: { kind: string; columnDefinitions: unknown[]; rows: { cells: unknown[] }[] } });
    expect(e1.type).toBe('ADDED');
    expect(e1.object.kind).toBe('Table');
    expect(e1.object.columnDefinitions.length).toBeGreaterThan(0);
    expect(e1.object.rows[0].cells[0]).toBe('b');
    expect(e2.object.columnDefinitions).toEqual([]);
  });

  it('answers a too-old watch with an ERROR event carrying a 410 Status', async () => {
    const first = JSON.parse((await call('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'old' } }, headers: { 'Content-Type': 'application/json' } })).body) as { metadata: { resourceVersion: string } };
    for (let i = 0; i < 25; i++) {
      await call('PATCH', '/api/v1/namespaces/default/configmaps/old', { body: { data: { i: String(i) } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    }
    const r = await call('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${first.metadata.resourceVersion}`);
    expect(r.code).toBe(200);
    const ev = JSON.parse(r.body.trim()) as { type: string; object: { code: number; reason: string; message: string } };
    expect(ev).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    expect(ev.object.message).toMatch(/^too old resource version/);
  });

  it('serves metadata-only lists for metadata informers', async () => {
    const r = await call('GET', '/api/v1/namespaces', { headers: { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' } });
    const l = JSON.parse(r.body) as { kind: string; items: { kind: string; metadata: { name: string }; spec?: unknown }[] };
    expect(l.kind).toBe('PartialObjectMetadataList');
    expect(l.items[0].kind).toBe('PartialObjectMetadata');
    expect(l.items[0].spec).toBeUndefined();
  });

  it('rejects unknown patch types and server-side apply with 415, malformed JSON with 400', async () => {
    const bad = await call('PATCH', '/api/v1/namespaces/default/configmaps/a', { body: '{}', headers: { 'Content-Type': 'text/plain' } });
    expect(bad.code).toBe(415);
    const apply = await call('PATCH', '/api/v1/namespaces/default/configmaps/a', { body: '{}', headers: { 'Content-Type': 'application/apply-patch+yaml' } });
    expect(apply.code).toBe(415);
    const malformed = await call('POST', '/api/v1/namespaces/default/configmaps', { body: '{"metadata": ', headers: { 'Content-Type': 'application/json' } });
    expect(malformed.code).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
  });

  it('accepts YAML bodies and returns unknown-field warnings in Warning headers', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', {
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yml\nbogus: 1\n',
      headers: { 'Content-Type': 'application/yaml' },
    });
    expect(r.code).toBe(201);
    expect(r.headers.warning).toBe('299 - "unknown field \\"bogus\\""');
  });

  it('answers 404 for unknown resources and 405 for unsupported verbs', async () => {
    expect((await call('GET', '/api/v1/widgets')).code).toBe(404);
    expect((await call('GET', '/apis/nope/v1')).code).toBe(404);
    expect((await call('POST', '/api/v1/pods', { body: {}, headers: { 'Content-Type': 'application/json' } })).code).toBe(405);
  });
});
