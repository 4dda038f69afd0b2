/**
 * Container log lines as runtimes write them (kubelet's `kuberuntime/logs/logs.go`):
 *
 * - CRI: `<RFC3339Nano timestamp> <stdout|stderr> <tags> <message>`, where the first of the
 *   `:`-separated tags is `P` (partial: the line continues in the next entry) or `F` (full).
 *   Example: `2016-10-06T00:17:09.669794202Z stdout P log content 1`.
 * - Docker json-file: `{"log":"message\n","stream":"stdout","time":"2016-10-20T18:39:20.57606443Z"}`;
 *   a message without a trailing newline is partial.
 *
 * Everything works on Buffers: log content is bytes, not necessarily UTF-8.
 */
import { SkiffError } from '../../lib/errors.js';

/** A line could not be parsed. */
export class LogParseError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_LOG_PARSE', message, options);
  }
}

/** The stream a log entry came from. */
export type LogStream = 'stdout' | 'stderr';

/** A parsed log timestamp. */
export interface LogTime {
  /** Milliseconds since the epoch, with the sub-millisecond part as a fraction. */
  ms: number;
  /** The same instant as kubelet prints it (`RFC3339NanoFixed`: always nine fractional digits). */
  fixed: string;
}

/** One parsed entry. */
export interface LogMessage {
  time: LogTime;
  stream: LogStream;
  /** The content; ends with `\n` when the entry completes a line. */
  log: Buffer;
}

const TS_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');

/** Parses an RFC 3339 timestamp with up to nine fractional digits. */
export function parseLogTime(text: string): LogTime {
  const m = TS_RE.exec(text);
  if (!m) throw new LogParseError(`unexpected timestamp format ${JSON.stringify(text)}`);
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) throw new LogParseError(`invalid timestamp ${JSON.stringify(text)}`);
  const frac = m[2] ?? '';
  return { ms: whole + (frac ? Number(`0.${frac}`) * 1000 : 0), fixed: `${m[1]}.${frac.padEnd(9, '0')}${m[3]}` };
}

/** Parses a CRI-format line (without its trailing newline). */
export function parseCriLine(line: Buffer): LogMessage {
  const i1 = line.indexOf(SPACE);
  if (i1 < 0) throw new LogParseError('timestamp is not found');
  const time = parseLogTime(line.subarray(0, i1).toString('latin1'));
  const i2 = line.indexOf(SPACE, i1 + 1);
  if (i2 < 0) throw new LogParseError('stream type is not found');
  const stream = line.subarray(i1 + 1, i2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') throw new LogParseError(`unexpected stream type ${JSON.stringify(stream)}`);
  let i3 = line.indexOf(SPACE, i2 + 1);
  // Lenient: an entry with tags but no separator before an empty message.
  if (i3 < 0) i3 = line.length;
  const tags = line.subarray(i2 + 1, i3).toString('latin1').split(':');
  const content = i3 < line.length ? line.subarray(i3 + 1) : Buffer.alloc(0);
  const full = tags[0] !== 'P';
  return { time, stream, log: full ? Buffer.concat([content, NEWLINE]) : content };
}

/** Parses a Docker json-file line. */
export function parseDockerJsonLine(line: Buffer): LogMessage {
  let v: { log?: unknown; stream?: unknown; time?: unknown };
  try {
    v = JSON.parse(line.toString('utf8')) as typeof v;
  } catch (err) {
    throw new LogParseError('invalid JSON log line', { cause: err });
  }
  if (typeof v.log !== 'string' || typeof v.time !== 'string') throw new LogParseError('JSON log line lacks "log" or "time"');
  const stream = v.stream === 'stderr' ? 'stderr' : v.stream === 'stdout' ? 'stdout' : undefined;
  if (!stream) throw new LogParseError(`unexpected stream type ${JSON.stringify(v.stream)}`);
  return { time: parseLogTime(v.time), stream, log: Buffer.from(v.log, 'utf8') };
}

/** Parses a line in either format (JSON when it starts with `{`). */
export function parseLogLine(line: Buffer): LogMessage {
  return line[0] === 0x7b ? parseDockerJsonLine(line) : parseCriLine(line);
}

/** True when the entry completes a line (CRI tag `F`, or JSON content ending in `\n`); unparsable lines count as full. */
export function isFullLine(line: Buffer): boolean {
  if (line[0] === 0x7b) {
    try {
      return parseDockerJsonLine(line).log.at(-1) === 0x0a;
    } catch {
      return true;
    }
  }
  const i1 = line.indexOf(SPACE);
  const i2 = i1 < 0 ? -1 : line.indexOf(SPACE, i1 + 1);
  if (i2 < 0) return true;
  return line[i2 + 1] !== 0x50 /* P */ || (line[i2 + 2] !== SPACE && line[i2 + 2] !== 0x3a /* : */ && i2 + 2 < line.length);
}
