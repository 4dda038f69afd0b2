/**
 * Reads a container log file with kubelet's options (`ReadLogs` in
 * `pkg/kubelet/kuberuntime/logs/logs.go`) and writes it to a stream:
 *
 * - both stdout and stderr entries, in file order (what `kubectl logs` shows);
 * - `P` fragments are written as they come and joined into one line by the following entries;
 *   with `timestamps`, each line is prefixed once with its first entry's time
 *   (`2026-11-22T04:00:00.123456789Z `);
 * - `tailLines` starts at the N-th last line (found by reading backwards, see tail.ts);
 *   `since` skips entries older than it; `limitBytes` stops after that many output bytes
 *   (the last write is cut to fit);
 * - `follow`: at the end of the file, wait for it to grow (an `fs.watch` on its directory plus
 *   a poll every second, kubelet's `logForceCheckPeriod`), switch to the new file when the log
 *   is rotated (the path now names another inode: the old file is drained first) or start over
 *   when it was truncated, and stop once `isRunning()` says the container is gone and the file
 *   is drained;
 * - writes respect backpressure (`drain`), and the read ends quietly when `signal` aborts
 *   (the client went away) or the output stream closes.
 *
 * Unparsable lines are skipped (and logged), as kubelet does.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { realClock, type Clock } from '../../lib/clock.js';
import { errorMessage, NotFoundError, SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { parseLogLine } from './parse.js';
import { findTailStart } from './tail.js';

/** A log file could not be read. */
export class LogReadError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_LOG_READ', message, options);
  }
}

/** What to read (kubelet's `LogOptions`, with `since` already resolved to a time). */
export interface LogReadOptions {
  follow?: boolean;
  /** Last N lines; undefined for all. */
  tailLines?: number;
  /** Skip entries older than this (ms since the epoch). */
  since?: number;
  /** Prefix each line with its RFC3339Nano timestamp. */
  timestamps?: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
}

/** Options of {@link readLogs}. */
export interface ReadLogsOptions extends LogReadOptions {
  path: string;
  output: Writable;
  signal?: AbortSignal;
  /** For `follow`: is the container still running? Default: always (follow until aborted). */
  isRunning?: () => boolean | Promise<boolean>;
  clock?: Clock;
  /** Poll period while following; default 1 s. */
  pollIntervalMs?: number;
  /** Read size; default 64 KiB. */
  chunkSize?: number;
  logger?: Logger;
}

const NEWLINE = 0x0a;
const SPACE = Buffer.from(' ');

/** Raised internally when the output stops accepting data. */
class OutputClosed extends Error {}

/** Writes to a Writable with backpressure and a byte limit. */
class LimitedWriter {
  private written = 0;
  constructor(
    private readonly out: Writable,
    private readonly limit: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** True once the byte limit is reached. */
  full(): boolean {
    return this.limit !== undefined && this.written >= this.limit;
  }

  async write(chunks: Buffer[]): Promise<void> {
    if (chunks.length === 0) return;
    let data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (this.limit !== undefined) {
      const room = this.limit - this.written;
      if (room <= 0) return;
      if (data.length > room) data = data.subarray(0, room);
    }
    if (this.out.destroyed || this.out.writableEnded) throw new OutputClosed();
    this.written += data.length;
    if (!this.out.write(data)) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.out.off('drain', onDrain);
        this.out.off('close', onClose);
        this.out.off('error', onClose);
        this.signal?.removeEventListener('abort', onClose);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new OutputClosed());
      };
      this.out.once('drain', onDrain);
      this.out.once('close', onClose);
      this.out.once('error', onClose);
      this.signal?.addEventListener('abort', onClose, { once: true });
    });
  }
}

/** Turns raw lines into output bytes, tracking line starts for timestamps. */
class Formatter {
  private atLineStart = true;
  constructor(
    private readonly opts: LogReadOptions,
    private readonly logger?: Logger,
  ) {}

  format(line: Buffer, out: Buffer[]): void {
    if (line.length === 0) return;
    let msg;
    try {
      msg = parseLogLine(line);
    } catch (err) {
      this.logger?.warn({ err: errorMessage(err) }, 'failed when parsing line in log file');
      return;
    }
    if (this.opts.since !== undefined && msg.time.ms < this.opts.since) return;
    if (this.opts.timestamps && this.atLineStart) out.push(Buffer.from(msg.time.fixed, 'latin1'), SPACE);
    out.push(msg.log);
    this.atLineStart = msg.log.length === 0 ? this.atLineStart : msg.log[msg.log.length - 1] === NEWLINE;
  }
}

/** Watches a file's directory and wakes a waiter on any change to it (or after a poll period). */
class ChangeWaiter {
  private watcher?: FSWatcher;
  private wake?: () => void;
  private dirty = false;

  constructor(
    path: string,
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {
    try {
      const name = basename(path);
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file && file.toString() !== name) return;
        this.dirty = true;
        this.wake?.();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      // No inotify (or the directory vanished): polling alone.
    }
  }

  async wait(signal?: AbortSignal): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      return;
    }
    if (signal?.aborted) return;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([
        this.clock.sleep(this.pollMs, ac.signal).catch(() => undefined),
        new Promise<void>((resolve) => (this.wake = resolve)),
      ]);
    } finally {
      this.wake = undefined;
      this.dirty = false;
      ac.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

async function openLog(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`failed to open log file "${path}": no such file or directory`, { cause: err });
    throw new LogReadError(`failed to open log file "${path}": ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Streams the log at `path` to `output` until done (end of file, limit reached, or — when
 * following — the container stopped and the file is drained). Resolves quietly when `signal`
 * aborts or the output closes. Rejects with `NotFoundError` when the file does not exist.
 */
export async function readLogs(opts: ReadLogsOptions): Promise<void> {
  const clock = opts.clock ?? realClock;
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const signal = opts.signal;
  const writer = new LimitedWriter(opts.output, opts.limitBytes, signal);
  const formatter = new Formatter(opts, opts.logger);
  let fh = await openLog(opts.path);
  let waiter: ChangeWaiter | undefined;
  try {
    const size = (await fh.stat()).size;
    let pos = opts.tailLines !== undefined ? await findTailStart(fh, size, opts.tailLines) : 0;
    let pending: Buffer = Buffer.alloc(0);
    let stopAfterDrain = false;
    let drainedBeforeSwitch = false;
    const buf = Buffer.allocUnsafe(chunkSize);
    for (;;) {
      if (signal?.aborted || writer.full()) return;
      const { bytesRead } = await fh.read(buf, 0, chunkSize, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        const data = pending.length ? Buffer.concat([pending, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
        const out: Buffer[] = [];
        let start = 0;
        for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
          formatter.format(data.subarray(start, nl), out);
          start = nl + 1;
        }
        pending = data.subarray(start);
        await writer.write(out);
        continue;
      }
      // End of file.
      if (!opts.follow) {
        // The last line may lack its newline; kubelet still shows it.
        const out: Buffer[] = [];
        formatter.format(pending, out);
        await writer.write(out);
        return;
      }
      if (stopAfterDrain) return;
      const rotated = await rotation(opts.path, fh, pos);
      if (rotated === 'rotated') {
        // One more pass over the old file for anything written just before the rotation.
        if (!drainedBeforeSwitch) {
          drainedBeforeSwitch = true;
          continue;
        }
        drainedBeforeSwitch = false;
        opts.logger?.debug({ path: opts.path }, 'log file rotated, following the new file');
        await fh.close();
        fh = await openLog(opts.path);
        pos = 0;
        pending = Buffer.alloc(0);
        continue;
      }
      if (rotated === 'truncated') {
        pos = 0;
        pending = Buffer.alloc(0);
        continue;
      }
      const running = opts.isRunning ? await opts.isRunning() : true;
      if (!running) {
        // Read whatever was written before the container stopped, then stop.
        stopAfterDrain = true;
        continue;
      }
      waiter ??= new ChangeWaiter(opts.path, clock, opts.pollIntervalMs ?? 1000);
      await waiter.wait(signal);
    }
  } catch (err) {
    if (err instanceof OutputClosed) return;
    throw err;
  } finally {
    waiter?.close();
    await fh.close().catch(() => undefined);
  }
}

/** At end of file while following: did the path move to a new file, or was the file truncated? */
async function rotation(path: string, fh: FileHandle, pos: number): Promise<'rotated' | 'truncated' | 'same'> {
  const cur = await fh.stat();
  if (cur.size < pos) return 'truncated';
  try {
    const now = await stat(path);
    if (now.ino !== cur.ino || now.dev !== cur.dev) return 'rotated';
  } catch {
    // Renamed away and not recreated yet: keep the old file until the new one appears.
  }
  return 'same';
}
