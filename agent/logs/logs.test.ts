import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { findTailStart, parseCriLine, parseLogTime, parsePodLogOptions, readLogs, resolveLogContainer, toReadOptions, type ReadLogsOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string): string {
  const p = join(dir, `${n++}.log`);
  writeFileSync(p, content);
  return p;
}
const ts = (s: number, frac = '000000000'): string => `2026-11-22T04:00:${String(s).padStart(2, '0')}.${frac}Z`;
const cri = (s: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', msg: string): string => `${ts(s)} ${stream} ${tag} ${msg}\n`;

class Sink extends Writable {
  chunks: Buffer[] = [];
  constructor(opts?: { highWaterMark?: number; delayMs?: number }) {
    super({ highWaterMark: opts?.highWaterMark ?? 16 * 1024 });
    this.delayMs = opts?.delayMs ?? 0;
  }
  private readonly delayMs: number;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    if (this.delayMs) setTimeout(cb, this.delayMs);
    else cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

async function read(path: string, opts: Partial<ReadLogsOptions> = {}): Promise<string> {
  const out = new Sink();
  await readLogs({ path, output: out, ...opts });
  return out.text();
}

const sample =
  cri(1, 'stdout', 'F', 'one') + cri(2, 'stderr', 'F', 'two (err)') + cri(3, 'stdout', 'P', 'thr') + cri(3, 'stdout', 'P', 'e') + cri(4, 'stdout', 'F', 'e!') + cri(5, 'stdout', 'F', 'five');

describe('log line parsing', () => {
  it('parses CRI lines and timestamps', () => {
    const m = parseCriLine(Buffer.from('2016-10-06T00:17:09.669794202Z stdout P log content 1'));
    expect(m.stream).toBe('stdout');
    expect(m.log.toString()).toBe('log content 1');
    expect(m.time.fixed).toBe('2016-10-06T00:17:09.669794202Z');
    expect(parseCriLine(Buffer.from('2016-10-06T00:17:09.1Z stderr F:x hi')).log.toString()).toBe('hi\n');
    expect(parseLogTime('2026-11-22T04:00:00.5+02:00')).toEqual({ ms: Date.UTC(2026, 10, 22, 2, 0, 0, 500), fixed: '2026-11-22T04:00:00.500000000+02:00' });
    expect(() => parseCriLine(Buffer.from('garbage'))).toThrow();
  });
});

describe('readLogs', () => {
  it('joins partial lines and includes stdout and stderr', async () => {
    expect(await read(file(sample))).toBe('one\ntwo (err)\nthree!\nfive\n');
  });

  it('accepts Docker json-file lines', async () => {
    const p = file(
      ['{"log":"hello\\n","stream":"stdout","time":"2026-11-22T04:00:01.5Z"}', '{"log":"par","stream":"stderr","time":"2026-11-22T04:00:02Z"}', '{"log":"tial\\n","stream":"stderr","time":"2026-11-22T04:00:03Z"}', ''].join('\n'),
    );
    expect(await read(p)).toBe('hello\npartial\n');
    expect(await read(p, { timestamps: true })).toBe('2026-11-22T04:00:01.500000000Z hello\n2026-11-22T04:00:02.000000000Z partial\n');
  });

  it('prefixes each line once with its timestamp', async () => {
    expect(await read(file(sample), { timestamps: true })).toBe(
      `${ts(1)} one\n${ts(2)} two (err)\n${ts(3)} three!\n${ts(5)} five\n`,
    );
  });

  it('skips unparsable lines and shows a last line without newline', async () => {
    const p = file(`${cri(1, 'stdout', 'F', 'a')}not a log line\n${ts(2)} stdout F b`);
    expect(await read(p)).toBe('a\nb\n');
  });

  it('tails logical lines', async () => {
    const p = file(sample);
    expect(await read(p, { tailLines: 1 })).toBe('five\n');
    expect(await read(p, { tailLines: 2 })).toBe('three!\nfive\n');
    expect(await read(p, { tailLines: 3 })).toBe('two (err)\nthree!\nfive\n');
    expect(await read(p, { tailLines: 100 })).toBe('one\ntwo (err)\nthree!\nfive\n');
    expect(await read(p, { tailLines: 0 })).toBe('');
  });

  it('tails a large file by reading only its end', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) lines.push(cri(i % 60, i % 2 ? 'stderr' : 'stdout', 'F', `line ${i} ${'x'.repeat(60)}`));
    const p = file(lines.join(''));
    const fh = await open(p, 'r');
    let bytesRead = 0;
    const counting = new Proxy(fh, {
      get(target, prop, recv) {
        if (prop === 'read') {
          return async (...args: Parameters<typeof fh.read>) => {
            const r = await (target.read as (...a: unknown[]) => Promise<{ bytesRead: number }>)(...args);
            bytesRead += r.bytesRead;
            return r;
          };
        }
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const size = (await fh.stat()).size;
    const start = await findTailStart(counting, size, 10);
    await fh.close();
    expect(size).toBeGreaterThan(5_000_000);
    expect(bytesRead).toBeLessThanOrEqual(64 * 1024);
    const text = await read(p, { tailLines: 10 });
    expect(text.split('\n').slice(0, -1)).toEqual(Array.from({ length: 10 }, (_, k) => `line ${49_990 + k} ${'x'.repeat(60)}`));
    expect(start).toBe(size - Buffer.byteLength(lines.slice(-10).join('')));
  });

  it('finds tail starts across block boundaries', async () => {
    const p = file(sample);
    const fh = await open(p, 'r');
    const size = (await fh.stat()).size;
    for (const block of [1, 3, 7, 64]) expect(await findTailStart(fh, size, 2, block)).toBe(sample.indexOf(`${ts(3)} stdout P thr`));
    await fh.close();
  });

  it('filters by since', async () => {
    const p = file(sample);
    expect(await read(p, { since: Date.parse('2026-11-22T04:00:03Z') })).toBe('three!\nfive\n');
    expect(await read(p, { since: Date.parse('2026-11-22T04:00:04Z'), timestamps: true })).toBe(`${ts(4)} e!\n${ts(5)} five\n`);
  });

  it('stops at limitBytes', async () => {
    expect(await read(file(sample), { limitBytes: 6 })).toBe('one\ntw');
    expect(await read(file(sample), { limitBytes: 1, follow: true })).toBe('o');
  });

  it('respects backpressure from a slow reader', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(cri(1, 'stdout', 'F', `row ${i}`));
    const out = new Sink({ highWaterMark: 64, delayMs: 0 });
    let maxBuffered = 0;
    const origWrite = out.write.bind(out);
    out.write = ((chunk: Buffer) => {
      const r = origWrite(chunk);
      maxBuffered = Math.max(maxBuffered, out.writableLength);
      return r;
    }) as typeof out.write;
    await readLogs({ path: file(lines.join('')), output: out, chunkSize: 1024 });
    expect(out.text().split('\n')).toHaveLength(2001);
    // Never more than one read chunk's worth queued in the stream.
    expect(maxBuffered).toBeLessThanOrEqual(2048);
  });

  it('rejects with NotFoundError for a missing file', async () => {
    await expect(read(join(dir, 'nope.log'))).rejects.toMatchObject({ code: 'SKIFF_NOT_FOUND' });
  });

  describe('follow', () => {
    it('streams new lines, survives rotation and stops when the container exits and the file is drained', async () => {
      const p = file(cri(1, 'stdout', 'F', 'first'));
      const out = new PassThrough();
      const got: string[] = [];
      out.on('data', (d: Buffer) => got.push(d.toString()));
      let running = true;
      const done = readLogs({ path: p, output: out, follow: true, isRunning: () => running, pollIntervalMs: 20 });
      const waitFor = async (text: string): Promise<void> => {
        for (let i = 0; i < 500 && !got.join('').includes(text); i++) await new Promise((r) => setTimeout(r, 5));
        expect(got.join('')).toContain(text);
      };
      await waitFor('first\n');
      appendFileSync(p, cri(2, 'stdout', 'P', 'sec'));
      appendFileSync(p, cri(2, 'stdout', 'F', 'ond'));
      await waitFor('second\n');
      // Rotation: the runtime's log file is renamed and a new one is created at the same path.
      appendFileSync(p, cri(3, 'stderr', 'F', 'last in old file'));
      renameSync(p, `${p}.20261122-040003`);
      writeFileSync(p, cri(4, 'stdout', 'F', 'first in new file'));
      await waitFor('first in new file\n');
      // The container exits after a final line: it is still delivered.
      appendFileSync(p, cri(5, 'stdout', 'F', 'bye'));
      running = false;
      await done;
      expect(got.join('')).toBe('first\nsecond\nlast in old file\nfirst in new file\nbye\n');
    });

    it('ends quietly when the client goes away', async () => {
      const p = file(cri(1, 'stdout', 'F', 'x'));
      const ac = new AbortController();
      const out = new PassThrough();
      out.resume();
      const done = readLogs({ path: p, output: out, follow: true, signal: ac.signal, pollIntervalMs: 20 });
      await new Promise((r) => setTimeout(r, 30));
      ac.abort();
      await expect(done).resolves.toBeUndefined();
    });

    it('ends when the output closes', async () => {
      const p = file(cri(1, 'stdout', 'F', 'x'));
      const out = new PassThrough({ highWaterMark: 1 });
      const done = readLogs({ path: p, output: out, follow: true, pollIntervalMs: 20 });
      await new Promise((r) => setTimeout(r, 20));
      out.destroy();
      appendFileSync(p, cri(2, 'stdout', 'F', 'y'.repeat(1000)));
      await expect(done).resolves.toBeUndefined();
    });

    it('follows from the tail', async () => {
      const p = file(sample);
      let running = true;
      const out = new Sink();
      const done = readLogs({ path: p, output: out, follow: true, tailLines: 1, isRunning: () => running, pollIntervalMs: 10 });
      await new Promise((r) => setTimeout(r, 30));
      appendFileSync(p, cri(6, 'stdout', 'F', 'six'));
      running = false;
      await done;
      expect(out.text()).toBe('five\nsix\n');
    });
  });
});

describe('log options', () => {
  const q = (s: string): URLSearchParams => new URLSearchParams(s);
  it('decodes kubelet query parameters', () => {
    expect(parsePodLogOptions(q('follow=true&timestamps=1&tailLines=10&limitBytes=100&sinceSeconds=5&previous=false'))).toEqual({
      follow: true,
      timestamps: true,
      previous: false,
      tailLines: 10,
      limitBytes: 100,
      sinceSeconds: 5,
    });
    expect(parsePodLogOptions(q('tail=3')).tailLines).toBe(3);
    expect(parsePodLogOptions(q('tail=all&tailLines=3')).tailLines).toBeUndefined();
    expect(parsePodLogOptions(q('sinceTime=2026-11-22T04:00:00Z')).sinceTime).toBe(Date.UTC(2026, 10, 22, 4));
  });

  it('rejects like kubelet', () => {
    expect(() => parsePodLogOptions(q('follow=yes'))).toThrow(expect.objectContaining({ statusCode: 400, message: '{"message": "Unable to decode query."}' }));
    expect(() => parsePodLogOptions(q('tailLines=abc'))).toThrow(expect.objectContaining({ statusCode: 400 }));
    expect(() => parsePodLogOptions(q('tailLines=-1'))).toThrow(expect.objectContaining({ statusCode: 422, message: '{"message": "Invalid request."}' }));
    expect(() => parsePodLogOptions(q('limitBytes=0'))).toThrow(expect.objectContaining({ statusCode: 422 }));
    expect(() => parsePodLogOptions(q('sinceSeconds=0'))).toThrow(expect.objectContaining({ statusCode: 422 }));
    expect(() => parsePodLogOptions(q('sinceSeconds=1&sinceTime=2026-11-22T04:00:00Z'))).toThrow(expect.objectContaining({ statusCode: 422 }));
  });

  it('resolves since', () => {
    const now = Date.UTC(2026, 10, 22, 4, 0, 10);
    expect(toReadOptions(parsePodLogOptions(q('sinceSeconds=5')), now).since).toBe(now - 5000);
    expect(toReadOptions(parsePodLogOptions(q('sinceTime=2026-11-22T04:00:01Z')), now).since).toBe(Date.UTC(2026, 10, 22, 4, 0, 1));
  });
});

describe('resolveLogContainer', () => {
  const pod = (status: Pod['status']): Pod => ({ metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'x' }] }, status });
  it('picks running, terminated and previous containers', () => {
    expect(resolveLogContainer(pod({ containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, containerID: 'containerd://abc', state: { running: {} } }] }), 'app', false)).toEqual({ containerId: 'abc', running: true });
    const restarted = pod({
      containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 1, containerID: 'containerd://new', state: { terminated: { exitCode: 1, containerID: 'containerd://new' } }, lastState: { terminated: { exitCode: 1, containerID: 'containerd://old' } } }],
    });
    expect(resolveLogContainer(restarted, 'app', false)).toEqual({ containerId: 'new', running: false });
    expect(resolveLogContainer(restarted, 'app', true)).toEqual({ containerId: 'old', running: false });
  });

  it('explains why there is no log, as kubelet does', () => {
    const waiting = (reason: string): Pod => pod({ containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason } } }] });
    expect(() => resolveLogContainer(waiting('ContainerCreating'), 'app', false)).toThrow('container "app" in pod "web" is waiting to start: ContainerCreating');
    expect(() => resolveLogContainer(waiting('ErrImagePull'), 'app', false)).toThrow("container \"app\" in pod \"web\" is waiting to start: image can't be pulled");
    expect(() => resolveLogContainer(waiting('ImagePullBackOff'), 'app', false)).toThrow('trying and failing to pull image');
    expect(() => resolveLogContainer(waiting('ContainerCreating'), 'app', true)).toThrow('previous terminated container "app" in pod "web" not found');
    expect(() => resolveLogContainer(pod({}), 'app', false)).toThrow('container "app" in pod "web" is not available');
    expect(() => resolveLogContainer(pod({}), 'nope', false)).toThrow(expect.objectContaining({ code: 'SKIFF_NOT_FOUND', message: 'container "nope" not found in pod "web"' }));
  });
});
