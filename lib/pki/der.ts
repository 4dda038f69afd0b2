/**
 * A small DER (ASN.1 Distinguished Encoding Rules) encoder and reader: enough to build
 * X.509 certificates and PKCS#10 requests, and to pick fields out of DER that Node's
 * crypto produces (a SubjectPublicKeyInfo). Encoders return `Buffer`s; composite values
 * take already-encoded children.
 */
import { InvalidInputError } from '../errors.js';

/** Universal tag numbers used here. */
export const Tag = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
});

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with an arbitrary (single-byte) tag. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

/** SEQUENCE of encoded children. */
export function sequence(...children: Buffer[]): Buffer {
  return tlv(Tag.SEQUENCE, Buffer.concat(children));
}

/** SET OF encoded children, sorted as DER requires. */
export function set(...children: Buffer[]): Buffer {
  return tlv(Tag.SET, Buffer.concat([...children].sort(Buffer.compare)));
}

/** INTEGER from a number, bigint or unsigned big-endian bytes. */
export function integer(v: number | bigint | Buffer): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(v)) {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    bytes = v.subarray(i);
    if (bytes.length === 0) bytes = Buffer.from([0]);
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  } else {
    let n = BigInt(v);
    if (n < 0n) throw new InvalidInputError('negative INTEGERs are not supported');
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    if (out[0] & 0x80) out.unshift(0);
    bytes = Buffer.from(out);
  }
  return tlv(Tag.INTEGER, bytes);
}

/** BOOLEAN. */
export function boolean(v: boolean): Buffer {
  return tlv(Tag.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
}

/** NULL. */
export function nullValue(): Buffer {
  return Buffer.from([Tag.NULL, 0]);
}

/** OCTET STRING. */
export function octetString(b: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, b);
}

/** BIT STRING of whole bytes (`unusedBits` in the last byte). */
export function bitString(b: Buffer, unusedBits = 0): Buffer {
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), b]));
}

/** A named-bit BIT STRING (e.g. KeyUsage): bit 0 is the most significant bit; trailing zeros dropped. */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const max = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)] |= 0x80 >> b % 8;
  const unused = 7 - (max % 8);
  return bitString(bytes, unused);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidInputError(`invalid OID ${dotted}`);
    return BigInt(p);
  });
  if (parts.length < 2) throw new InvalidInputError(`invalid OID ${dotted}`);
  const out: number[] = [];
  const enc = (n: bigint): void => {
    const chunk: number[] = [Number(n & 0x7fn)];
    for (n >>= 7n; n > 0n; n >>= 7n) chunk.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  enc(parts[0] * 40n + parts[1]);
  for (const p of parts.slice(2)) enc(p);
  return tlv(Tag.OID, Buffer.from(out));
}

/** UTF8String. */
export function utf8String(s: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(s, 'utf8'));
}

/** PrintableString (caller guarantees the character set). */
export function printableString(s: string): Buffer {
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(s, 'ascii'));
}

/** IA5String. */
export function ia5String(s: string): Buffer {
  return tlv(Tag.IA5_STRING, Buffer.from(s, 'ascii'));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(Tag.UTC_TIME, Buffer.from(`${pad(y % 100)}${rest}`, 'ascii'));
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(`${pad(y, 4)}${rest}`, 'ascii'));
}

/** `[n] EXPLICIT` wrapping of an encoded value. */
export function explicit(n: number, inner: Buffer): Buffer {
  return tlv(0xa0 | n, inner);
}

/** `[n] IMPLICIT` primitive value (raw content bytes). */
export function implicitPrimitive(n: number, content: Buffer): Buffer {
  return tlv(0x80 | n, content);
}

/** `[n] IMPLICIT` constructed value (concatenated encoded children). */
export function implicitConstructed(n: number, ...children: Buffer[]): Buffer {
  return tlv(0xa0 | n, Buffer.concat(children));
}

/** One decoded TLV. */
export interface DerNode {
  tag: number;
  /** Offset of the tag byte in the input. */
  start: number;
  /** Offset of the content. */
  contentStart: number;
  /** Offset just after the content. */
  end: number;
  content: Buffer;
  /** The whole TLV. */
  raw: Buffer;
}

/** Reads the TLV at `offset`. */
export function readTlv(buf: Buffer, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new InvalidInputError('truncated DER');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new InvalidInputError('multi-byte DER tags are not supported');
  let len = buf[offset + 1];
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) throw new InvalidInputError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (p + len > buf.length) throw new InvalidInputError('truncated DER');
  return { tag, start: offset, contentStart: p, end: p + len, content: buf.subarray(p, p + len), raw: buf.subarray(offset, p + len) };
}

/** The children of a constructed TLV. */
export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let p = 0; p < node.content.length; ) {
    const c = readTlv(node.content, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(content: Buffer): string {
  const out: bigint[] = [];
  let n = 0n;
  for (const b of content) {
    n = (n << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      if (out.length === 0) {
        const first = n < 80n ? n / 40n : 2n;
        out.push(first, n - first * 40n);
      } else out.push(n);
      n = 0n;
    }
  }
  return out.join('.');
}
