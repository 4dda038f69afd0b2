/**
 * The undici REST client against the companion apiserver over real HTTPS with x509 client
 * certificates: CRUD, selectors, every patch type, watch streaming, and the error mapping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { startControlPlane, parseControlPlaneConfig, type RunningControlPlane } from '../../controlplane/main.js';
import { silentLogger } from '../log.js';
import { loadKubeconfig } from './kubeconfig.js';
import { RestClient, isConnectionError } from './rest-client.js';
import { ConfigMaps, Deployments } from './resources.js';
import { isAlreadyExists, isApiNotFound, isConflict, isInvalid } from './errors.js';
import type { WatchEvent } from './client.js';

let cp: RunningControlPlane;
let client: RestClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-rc-'));
  cp = await startControlPlane(parseControlPlaneConfig([`--state-dir=${dir}`, '--bind-address=127.0.0.1', '--secure-port=0', '--advertise-address=127.0.0.1']), {
    logger: silentLogger(),
    components: [],
  });
  client = new RestClient({ credentials: loadKubeconfig(cp.adminKubeconfig) });
});
afterAll(async () => {
  await client?.close();
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cm = (name: string, labels: Record<string, string> = {}): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data: { a: '1' } });

describe('RestClient over HTTPS', () => {
  it('creates, gets, lists with selectors, updates with CAS and deletes', async () => {
    const created = await client.create(ConfigMaps, cm('one', { app: 'x' }));
    expect(created.metadata?.uid).toBeTruthy();
    await client.create(ConfigMaps, cm('two', { app: 'y' }));
    await expect(client.create(ConfigMaps, cm('one'))).rejects.toSatisfy(isAlreadyExists);
    const got = await client.get<ConfigMap>(ConfigMaps, 'default', 'one');
    expect(got.data).toEqual({ a: '1' });
    const list = await client.list<ConfigMap>(ConfigMaps, { namespace: 'default', labelSelector: 'app=x' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['one']);
    const updated = await client.update(ConfigMaps, { ...got, data: { a: '2' } });
    expect(updated.data).toEqual({ a: '2' });
    await expect(client.update(ConfigMaps, { ...got, data: { a: '3' } })).rejects.toSatisfy(isConflict);
    await client.delete(ConfigMaps, 'default', 'two');
    await expect(client.get(ConfigMaps, 'default', 'two')).rejects.toSatisfy(isApiNotFound);
  });

  it('sends json, merge and strategic merge patches with the right content types', async () => {
    await client.create(ConfigMaps, cm('p'));
    await client.patch(ConfigMaps, 'default', 'p', 'json', [{ op: 'add', path: '/data/b', value: '2' }]);
    await client.patch(ConfigMaps, 'default', 'p', 'merge', { data: { a: null } });
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'busybox:1.29' }, { name: 'b', image: 'busybox:1.29' }] } } },
    };
    await client.create(Deployments, d);
    const after = await client.patch<Deployment>(Deployments, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:1.30' }] } } } });
    // Strategic merge keeps container "a" and merges "b" by name.
    expect(after.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['a=busybox:1.29', 'b=busybox:1.30']);
    expect((await client.get<ConfigMap>(ConfigMaps, 'default', 'p')).data).toEqual({ b: '2' });
    await expect(client.patch(Deployments, 'default', 'web', 'merge', { spec: { replicas: -1 } })).rejects.toSatisfy(isInvalid);
  });

  it('streams watch events from a resourceVersion', async () => {
    const start = await client.list<ConfigMap>(ConfigMaps, { namespace: 'default' });
    const stream = await client.watch<ConfigMap>(ConfigMaps, { namespace: 'default', resourceVersion: start.metadata.resourceVersion, labelSelector: 'w=1' });
    const seen: string[] = [];
    const reader = (async () => {
      for await (const ev of stream as AsyncIterable<WatchEvent<ConfigMap>>) {
        seen.push(`${ev.type} ${ev.object.metadata?.name}`);
        if (seen.length === 3) break;
      }
    })();
    await client.create(ConfigMaps, cm('w1', { w: '1' }));
    await client.create(ConfigMaps, cm('other'));
    await client.patch(ConfigMaps, 'default', 'w1', 'merge', { data: { z: '1' } });
    await client.delete(ConfigMaps, 'default', 'w1');
    await reader;
    stream.close();
    expect(seen).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
  });

  it('maps refused connections and missing credentials to clear errors', async () => {
    const creds = loadKubeconfig(cp.adminKubeconfig);
    const anon = new RestClient({ credentials: { server: creds.server, ca: creds.ca } });
    await expect(anon.list(ConfigMaps)).rejects.toMatchObject({ statusCode: 401 });
    await anon.close();
    const dead = new RestClient({ credentials: { ...creds, server: 'https://127.0.0.1:1' }, requestTimeoutMs: 2000 });
    await expect(dead.list(ConfigMaps)).rejects.toSatisfy(isConnectionError);
    await dead.close();
  });
});
