/**
 * A terminated container's message, as kubelet's runtime manager reads it: the file mounted
 * at the container's `terminationMessagePath` (its last 4096 bytes); with
 * `FallbackToLogsOnError` and a failed container whose file is empty or missing, the tail of
 * its log (last 80 lines, at most 2048 bytes).
 */
import { open } from 'node:fs/promises';
import type { Mount } from '../runtime/index.js';

/** kubelet's `MaxContainerTerminationMessageLength`. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
/** kubelet's `MaxContainerTerminationMessageLogLines` and `…LogLength`. */
export const MAX_TERMINATION_LOG_LINES = 80;
/** Most bytes of log tail used as a termination message. */
export const MAX_TERMINATION_LOG_BYTES = 2048;

/** Reads the last `max` bytes of `path`; undefined when the file does not exist. */
export async function readAtMost(path: string, max: number): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    if (len > 0) await fh.read(buf, 0, len, size - len);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * The message content of the last lines of a CRI-format log (`<ts> <stream> <tag> <msg>`),
 * joining partial (`P`) fragments; Docker JSON lines are understood too.
 */
export function tailLogMessages(text: string, maxLines: number): string {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  let partial = '';
  for (const line of lines) {
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line) as { log?: string };
        out.push(j.log ?? '');
        continue;
      } catch {
        // not JSON: fall through
      }
    }
    const m = /^\S+ (?:stdout|stderr) (\S+) ?(.*)$/s.exec(line);
    if (!m) {
      out.push(`${line}\n`);
      continue;
    }
    const tags = m[1].split(':');
    if (tags[0] === 'P') {
      partial += m[2];
      continue;
    }
    out.push(`${partial}${m[2]}\n`);
    partial = '';
  }
  if (partial) out.push(partial);
  return out.slice(-maxLines).join('');
}

/** Inputs of {@link terminationMessage}. */
export interface TerminationMessageInput {
  terminationMessagePath: string;
  terminationMessagePolicy: string;
  exitCode: number;
  reason: string;
  mounts: readonly Mount[];
  logPath: string;
}

/** The termination message of an exited container ('' when none). */
export async function terminationMessage(i: TerminationMessageInput): Promise<string> {
  const fallbackToLogs = i.terminationMessagePolicy === 'FallbackToLogsOnError' && i.exitCode !== 0 && i.reason !== 'ContainerCannotRun';
  let checkLogs = fallbackToLogs;
  let message = '';
  if (i.terminationMessagePath) {
    const mount = i.mounts.find((m) => m.containerPath === i.terminationMessagePath);
    if (mount) {
      try {
        const data = await readAtMost(mount.hostPath, MAX_TERMINATION_MESSAGE_BYTES);
        if (data) {
          message = data.toString('utf8');
          checkLogs = fallbackToLogs && data.length === 0;
        }
      } catch (err) {
        return `Error on reading termination log ${mount.hostPath}: ${(err as Error).message}`;
      }
    }
  }
  if (checkLogs && i.logPath) {
    try {
      // Read a generous window: CRI lines carry ~40 bytes of prefix each.
      const data = await readAtMost(i.logPath, MAX_TERMINATION_LOG_BYTES * 4 + MAX_TERMINATION_LOG_LINES * 64);
      if (data) {
        const text = tailLogMessages(data.toString('utf8'), MAX_TERMINATION_LOG_LINES);
        const buf = Buffer.from(text, 'utf8');
        message = buf.length > MAX_TERMINATION_LOG_BYTES ? buf.subarray(buf.length - MAX_TERMINATION_LOG_BYTES).toString('utf8') : text;
      }
    } catch {
      // No logs: no message, as kubelet.
    }
  }
  return message;
}
