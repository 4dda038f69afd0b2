/**
 * Go `time.Duration` strings (`10s`, `1m30s`, `2h0m0s`, `500ms`), as Kubernetes config files
 * write them (`metav1.Duration`).
 */
import { InvalidInputError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration into milliseconds. Throws `InvalidInputError` naming `field`. */
export function parseDuration(text: string, field = 'duration'): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let neg = false;
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    i = 1;
  }
  if (i >= s.length) throw new InvalidInputError(`${field}: invalid duration ${JSON.stringify(text)}`, { field });
  re.lastIndex = i;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) throw new InvalidInputError(`${field}: invalid duration ${JSON.stringify(text)}`, { field });
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
  }
  return neg ? -total : total;
}

/** Formats milliseconds as Go does (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  const neg = ms < 0;
  let rest = Math.abs(ms) / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Number(rest.toFixed(3));
  const out = h ? `${h}h${m}m${sec}s` : m ? `${m}m${sec}s` : `${sec}s`;
  return neg ? `-${out}` : out;
}
