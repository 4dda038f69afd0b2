import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertStatic, compilePause, findPauseSource } from '../build.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;

describe.skipIf(!hasGcc)('pause.c (needs gcc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pause-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles statically and deterministically', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await compilePause(findPauseSource(), a);
    await compilePause(findPauseSource(), b);
    await assertStatic(a, 'pause');
    expect(statSync(a).mode & 0o111).not.toBe(0);
    const sum = (f: string): string => spawnSync('sha256sum', [f]).stdout.toString().split(' ')[0];
    expect(sum(a)).toBe(sum(b));
    expect(spawnSync(a, ['-v']).stdout.toString()).toMatch(/^skiff-pause /);
  });

  it('exits 0 on SIGTERM and on SIGINT', async () => {
    const bin = join(dir, 'p');
    await compilePause(findPauseSource(), bin);
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawn(bin, [], { stdio: ['ignore', 'ignore', 'pipe'] });
      // Wait until it has installed its handlers: it writes its "not PID 1" warning first.
      await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(sig);
      expect(await exit).toBe(0);
    }
  });

  it('reaps children that exit (no zombies left behind)', async () => {
    const bin = join(dir, 'r');
    await compilePause(findPauseSource(), bin);
    // sh starts a short-lived child, then execs pause: the child's parent becomes pause.
    const child = spawn('sh', ['-c', `sleep 0.2 & exec ${bin}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // /proc/<pid>/task/<pid>/children lists children until they are reaped (zombies too).
    const children = (): string[] =>
      readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    // Poll (bounded) until the sleep has exited and pause has reaped it.
    for (let i = 0; i < 50 && children().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(children()).toEqual([]);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});

describe('assertStatic', () => {
  it('rejects a dynamically linked binary and a non-ELF file', async () => {
    await expect(assertStatic(process.execPath, 'node')).rejects.toThrow(/dynamically linked/);
    await expect(assertStatic(findPauseSource(), 'pause.c')).rejects.toThrow(/not an ELF/);
  });
});
