/**
 * `tailLines`: where in a log file the last N lines begin, found by reading the file backwards
 * in blocks (kubelet's `tail.FindTailLineStartIndex`), so a tail of a 10 GiB file reads only
 * its end.
 *
 * Deviation (deliberate): kubelet counts raw file lines, so a long line that the runtime split
 * into `P` fragments counts several times and `--tail=1` can print half a line. Skiff counts
 * logical lines: a line starts after an entry that completes one (CRI `F`, or JSON content
 * ending in a newline).
 */
import type { FileHandle } from 'node:fs/promises';
import { isFullLine } from './parse.js';

const BLOCK = 64 * 1024;
const NEWLINE = 0x0a;

/** One raw line, yielded from the end of the file backwards. */
interface RawLine {
  /** Offset of the first byte. */
  start: number;
  /** The bytes, without the newline. */
  content: Buffer;
  /** False for a last line that has no newline yet. */
  terminated: boolean;
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Raw lines of the first `size` bytes of a file, last first. */
export async function* reverseLines(fh: FileHandle, size: number, blockSize = BLOCK): AsyncGenerator<RawLine> {
  let pos = size;
  // Bytes [pos, carryEnd) of a line whose beginning is not read yet; carryEnd is its newline
  // (or `size` for an unterminated last line).
  let carry = Buffer.alloc(0);
  let carryEnd = size;
  while (pos > 0) {
    const len = Math.min(blockSize, pos);
    const base = pos - len;
    let buf = Buffer.concat([await readAt(fh, base, len), carry]);
    for (;;) {
      const nl = buf.lastIndexOf(NEWLINE);
      if (nl < 0) break;
      const content = buf.subarray(nl + 1);
      const terminated = carryEnd < size;
      if (terminated || content.length > 0) yield { start: base + nl + 1, content, terminated };
      buf = buf.subarray(0, nl);
      carryEnd = base + nl;
    }
    carry = buf;
    pos = base;
  }
  if (carryEnd < size || carry.length > 0) yield { start: 0, content: carry, terminated: carryEnd < size };
}

/**
 * The offset where the last `lines` logical lines of the file's first `size` bytes begin:
 * `size` for 0 lines, 0 when the file has fewer lines.
 */
export async function findTailStart(fh: FileHandle, size: number, lines: number, blockSize = BLOCK): Promise<number> {
  if (lines <= 0) return size;
  let count = 0;
  for await (const l of reverseLines(fh, size, blockSize)) {
    if (!l.terminated) continue;
    const next = l.start + l.content.length + 1;
    if (next >= size) continue;
    if (!isFullLine(l.content)) continue;
    if (++count === lines) return next;
  }
  return 0;
}
