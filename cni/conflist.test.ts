import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConflist, CONFLIST_FILE_NAME, renderConflist, writeConflist } from './index.js';
import { InvalidInputError } from '../lib/errors.js';

describe('buildConflist', () => {
  it('builds a 1.0.0 bridge + portmap list for the pod CIDR', () => {
    expect(buildConflist({ podCidr: '10.88.0.0/24', dataDir: '/tmp/ipam' })).toEqual({
      cniVersion: '1.0.0',
      name: 'skiff',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.88.0.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: '/tmp/ipam',
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
  });

  it('takes the defaults and options it documents', () => {
    const c = buildConflist({ podCidr: '10.244.1.0/24', bridge: 'skiff0', name: 'pods', ipMasq: false, mtu: 1450 });
    expect(c.name).toBe('pods');
    const bridge = c.plugins[0];
    expect(bridge).toMatchObject({ bridge: 'skiff0', ipMasq: false, mtu: 1450, ipam: { dataDir: '/var/lib/cni/networks' } });
  });

  it('makes one range set and one default route per family for dual stack', () => {
    const c = buildConflist({ podCidr: ['10.244.1.0/24', 'fd00:10:244:1::/64'] });
    const bridge = c.plugins[0];
    if (bridge.type !== 'bridge') throw new Error('first plugin must be the bridge');
    expect(bridge.ipam.ranges).toEqual([[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]]);
    expect(bridge.ipam.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  });

  it('rejects malformed CIDRs, two CIDRs of one family and silly MTUs', () => {
    for (const podCidr of ['10.88.0.0', '10.88.0.0/33', 'nonsense/24', '', []] as const) {
      expect(() => buildConflist({ podCidr })).toThrow(InvalidInputError);
    }
    expect(() => buildConflist({ podCidr: ['10.1.0.0/24', '10.2.0.0/24'] })).toThrow(/per address family/);
    expect(() => buildConflist({ podCidr: '10.1.0.0/24', mtu: 10 })).toThrow(InvalidInputError);
  });
});

describe('writeConflist', () => {
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-cni-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes 10-skiff.conflist, creating the directory, and leaves no temp file', async () => {
    const dir = join(tmp(), 'net.d');
    const c = buildConflist({ podCidr: '10.88.0.0/24' });
    const r = await writeConflist(dir, c);
    expect(r).toEqual({ path: join(dir, CONFLIST_FILE_NAME), changed: true });
    expect(JSON.parse(readFileSync(r.path, 'utf8'))).toEqual(c);
    expect(readFileSync(r.path, 'utf8')).toBe(renderConflist(c));
    expect(readdirSync(dir)).toEqual([CONFLIST_FILE_NAME]);
  });

  it('does not rewrite identical content, and replaces different content', async () => {
    const dir = tmp();
    const c = buildConflist({ podCidr: '10.88.0.0/24' });
    const first = await writeConflist(dir, c);
    const ino = statSync(first.path).ino;
    expect((await writeConflist(dir, c)).changed).toBe(false);
    expect(statSync(first.path).ino).toBe(ino);

    const c2 = buildConflist({ podCidr: '10.88.1.0/24' });
    expect((await writeConflist(dir, c2)).changed).toBe(true);
    expect(JSON.parse(readFileSync(first.path, 'utf8'))).toEqual(c2);
    expect(statSync(first.path).ino).not.toBe(ino);
  });

  it('replaces a corrupt file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, CONFLIST_FILE_NAME), '{"half');
    const c = buildConflist({ podCidr: '10.88.0.0/24' });
    expect((await writeConflist(dir, c)).changed).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, CONFLIST_FILE_NAME), 'utf8'))).toEqual(c);
  });
});
