/**
 * The image builder with the real tools (umoci, skopeo, gcc, busybox-static): archives are
 * byte-identical across builds, cached, and carry full image names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, BUSYBOX_IMAGE, main, PAUSE_IMAGE } from './index.js';
import { silentLogger } from '../lib/log.js';

const missing = ['umoci', 'skopeo', 'gcc', 'tar'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot ? 'needs root (umoci unpack)' : missing.length ? `missing ${missing.join(', ')}` : '';
if (skipReason) console.warn(`skipping image builder integration tests: ${skipReason}`);

describe.skipIf(skipReason !== '')('image builder (umoci + skopeo)', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-images-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('builds reproducible archives: two cold builds are byte-identical', async () => {
    const t0 = Date.now();
    const a = await buildImages({ cacheDir: join(root, 'a') });
    const cold = Date.now() - t0;
    const b = await buildImages({ cacheDir: join(root, 'b'), force: true });
    expect(a.map((i) => i.ref)).toEqual([BUSYBOX_IMAGE, PAUSE_IMAGE]);
    expect(a.every((i) => !i.cached)).toBe(true);
    expect(b.map((i) => i.sha256)).toEqual(a.map((i) => i.sha256));
    expect(b.map((i) => i.key)).toEqual(a.map((i) => i.key));
    console.info(`cold image build: ${cold} ms`);
  });

  it('serves the second build from the cache', async () => {
    const t0 = Date.now();
    const again = await buildImages({ cacheDir: join(root, 'a') });
    console.info(`cached image build: ${Date.now() - t0} ms`);
    expect(again.every((i) => i.cached)).toBe(true);
    expect(readdirSync(join(root, 'a')).sort()).toEqual(again.map((i) => i.cachePath.split('/').pop()).sort());
  });

  it('writes docker-archives with full names, a fixed created time and the expected rootfs', async () => {
    const [busybox, pause] = await buildImages({ cacheDir: join(root, 'a'), outDir: join(root, 'out') });
    expect(busybox.archive).toBe(join(root, 'out', 'busybox.tar'));
    const manifest = JSON.parse(tar(busybox.archive, ['-xOf', busybox.archive, 'manifest.json'])) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(manifest[0].RepoTags).toEqual([BUSYBOX_IMAGE]);
    const config = JSON.parse(tar(busybox.archive, ['-xOf', busybox.archive, manifest[0].Config])) as {
      created: string;
      history?: unknown[];
      config: { Cmd: string[]; Env: string[] };
    };
    expect(config.created).toBe('2021-01-01T00:00:00Z');
    expect(config.history ?? []).toEqual([]);
    expect(config.config.Cmd).toEqual(['sh']);
    expect(config.config.Env[0]).toMatch(/^PATH=.*\/bin/);
    const layer = spawnSync('sh', ['-c', `tar -xOf ${busybox.archive} ${manifest[0].Layers[0]} | tar -tv`]).stdout.toString();
    expect(layer).toMatch(/-rwxr-xr-x 0\/0 .* 2021-01-01 00:00 bin\/busybox/);
    expect(layer).toMatch(/bin\/sh -> busybox/);
    expect(layer).toMatch(/bin\/httpd -> busybox/);
    expect(layer).toMatch(/bin\/wget -> busybox/);
    expect(layer).toMatch(/drwxrwxrwt 0\/0 .* tmp\//);
    expect(layer).toMatch(/ var\/www\//);
    expect(layer).toMatch(/drwx------ 0\/0 .* root\//);
    expect(layer).toMatch(/ etc\/passwd/);
    expect(layer).not.toMatch(/ 20(2[2-9]|[3-9]\d)-/); // no build-time mtimes leak in

    const pm = JSON.parse(tar(pause.archive, ['-xOf', pause.archive, 'manifest.json'])) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    expect(pm[0].RepoTags).toEqual([PAUSE_IMAGE]);
    const pc = JSON.parse(tar(pause.archive, ['-xOf', pause.archive, pm[0].Config])) as { config: { Entrypoint: string[]; User: string } };
    expect(pc.config.Entrypoint).toEqual(['/pause']);
    expect(pc.config.User).toBe('65535:65535');
  });

  it('has a CLI: build prints one line per image, usage errors exit 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), logger: silentLogger() };
    expect(await main(['build', '--cache-dir', join(root, 'a'), '--out', join(root, 'cli')], io)).toBe(0);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(new RegExp(`^${BUSYBOX_IMAGE.replace(/\./g, '\\.')}\\t.*busybox\\.tar\\tsha256:[0-9a-f]{64}\\tcached$`));
    expect(await main(['import'], io)).toBe(2);
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(await main(['build', '--only', 'nginx'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/--address is required/);
  });
});

function tar(_archive: string, args: string[]): string {
  const r = spawnSync('tar', args);
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
