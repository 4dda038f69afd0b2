/**
 * Go formatting helpers, so that messages and file contents match kubelet's byte for byte:
 * `strconv.Quote` (`%q`) and the `%v` rendering of a string slice.
 */

const SHORT: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };

function isPrintable(cp: number): boolean {
  // Close to Go's unicode.IsPrint: control characters, surrogates, separators other than
  // ASCII space, and the non-characters are escaped.
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp >= 0x80 && cp < 0xa0) return false;
  if (cp === 0xad) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  if (cp === 0xfffe || cp === 0xffff) return false;
  if (cp === 0x2028 || cp === 0x2029) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go's `strconv.Quote` of a string (or of bytes read as UTF-8, invalid bytes as `\xNN`). */
export function goQuote(input: string | Buffer): string {
  let out = '"';
  if (Buffer.isBuffer(input)) {
    const text = input.toString('utf8');
    // Invalid UTF-8 shows up as U+FFFD; re-encode to find which bytes were invalid.
    if (Buffer.from(text, 'utf8').equals(input)) return goQuote(text);
    for (const b of input) {
      if (SHORT[b]) out += SHORT[b];
      else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += `\\x${hex(b, 2)}`;
    }
    return out + '"';
  }
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (SHORT[cp]) out += SHORT[cp];
    else if (isPrintable(cp)) out += ch;
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + '"';
}

/** Go's `%v` of a `[]string`: `[sh -c echo hi]`. */
export function goStringSlice(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}
