/**
 * The query of `GET /containerLogs/{ns}/{pod}/{container}` as kubelet decodes it: a
 * `v1.PodLogOptions` (`follow`, `previous`, `timestamps`, `tailLines`, `limitBytes`,
 * `sinceSeconds`, `sinceTime`, and the legacy `tail`, where `all` means no limit), validated
 * like `ValidatePodLogOptions`. Errors carry kubelet's exact response texts.
 */
import { SkiffError } from '../../lib/errors.js';
import type { LogReadOptions } from './reader.js';

/** A log request was malformed: `statusCode` 400 (cannot decode) or 422 (invalid). */
export class LogOptionsError extends SkiffError {
  readonly statusCode: 400 | 422;
  constructor(statusCode: 400 | 422, message: string, options?: { cause?: unknown; detail?: string }) {
    super(statusCode === 400 ? 'SKIFF_LOG_OPTIONS_DECODE' : 'SKIFF_LOG_OPTIONS_INVALID', message, options);
    this.statusCode = statusCode;
  }
}

/** `v1.PodLogOptions`, decoded. */
export interface PodLogOptions {
  container?: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  sinceSeconds?: number;
  /** ms since the epoch. */
  sinceTime?: number;
}

const DECODE_ERROR = '{"message": "Unable to decode query."}';
const INVALID_ERROR = '{"message": "Invalid request."}';

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(v)) return false;
  throw new LogOptionsError(400, DECODE_ERROR, { detail: `invalid boolean ${JSON.stringify(v)}` });
}

function parseInt64(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw new LogOptionsError(400, DECODE_ERROR, { detail: `invalid integer ${JSON.stringify(v)}` });
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new LogOptionsError(400, DECODE_ERROR, { detail: `integer out of range ${JSON.stringify(v)}` });
  return n;
}

/** Decodes and validates the query. Throws {@link LogOptionsError}. */
export function parsePodLogOptions(query: URLSearchParams): PodLogOptions {
  const q = new URLSearchParams(query);
  // Backwards compatibility: `tail` is `tailLines`, and `all` means no limit.
  const tail = q.get('tail');
  if (tail) {
    if (tail === 'all') q.delete('tailLines');
    else q.set('tailLines', tail);
  }
  const first = (k: string): string | undefined => q.get(k) ?? undefined;
  const opts: PodLogOptions = {
    follow: first('follow') !== undefined ? parseBool(first('follow')!) : false,
    previous: first('previous') !== undefined ? parseBool(first('previous')!) : false,
    timestamps: first('timestamps') !== undefined ? parseBool(first('timestamps')!) : false,
  };
  const container = first('container');
  if (container) opts.container = container;
  const tl = first('tailLines');
  if (tl !== undefined && tl !== '') opts.tailLines = parseInt64(tl);
  const lb = first('limitBytes');
  if (lb !== undefined && lb !== '') opts.limitBytes = parseInt64(lb);
  const ss = first('sinceSeconds');
  if (ss !== undefined && ss !== '') opts.sinceSeconds = parseInt64(ss);
  const st = first('sinceTime');
  if (st !== undefined && st !== '') {
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(st) ? Date.parse(st) : NaN;
    if (Number.isNaN(ms)) throw new LogOptionsError(400, DECODE_ERROR, { detail: `invalid sinceTime ${JSON.stringify(st)}` });
    // metav1.Time has whole seconds.
    opts.sinceTime = Math.floor(ms / 1000) * 1000;
  }
  if (opts.tailLines !== undefined && opts.tailLines < 0) throw new LogOptionsError(422, INVALID_ERROR, { detail: 'tailLines: must be greater than or equal to 0' });
  if (opts.limitBytes !== undefined && opts.limitBytes < 1) throw new LogOptionsError(422, INVALID_ERROR, { detail: 'limitBytes: must be greater than 0' });
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined) throw new LogOptionsError(422, INVALID_ERROR, { detail: 'at most one of `sinceTime` or `sinceSeconds` may be specified' });
  if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1) throw new LogOptionsError(422, INVALID_ERROR, { detail: 'sinceSeconds: must be greater than 0' });
  return opts;
}

/** The reader options for a request made at `now` (kubelet's `NewLogOptions`). */
export function toReadOptions(o: PodLogOptions, now: number): LogReadOptions {
  let since: number | undefined;
  if (o.sinceSeconds !== undefined) since = now - o.sinceSeconds * 1000;
  if (o.sinceTime !== undefined && (since === undefined || o.sinceTime > since)) since = o.sinceTime;
  return { follow: o.follow, tailLines: o.tailLines, since, timestamps: o.timestamps, limitBytes: o.limitBytes };
}
