/**
 * X.509 v3 certificates (RFC 5280) built with the DER encoder, signed with Node's crypto:
 * ECDSA P-256 by default (RSA and Ed25519 keys are accepted too). Node can read and verify
 * certificates (`crypto.X509Certificate`) but not make them, hence this module.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '../errors.js';
import * as der from './der.js';

/** OIDs used in certificates. */
export const OID = Object.freeze({
  commonName: '2.5.4.3',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
});

/** A distinguished name, in the fields Kubernetes uses (CN = user, O = groups). */
export interface DistinguishedName {
  commonName?: string;
  organization?: readonly string[];
  organizationalUnit?: readonly string[];
  country?: readonly string[];
  province?: readonly string[];
  locality?: readonly string[];
}

/** Key usages (RFC 5280 §4.2.1.3), by bit name. */
export type KeyUsage =
  | 'digitalSignature'
  | 'contentCommitment'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

const KEY_USAGE_BITS: Record<KeyUsage, number> = {
  digitalSignature: 0,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

/** Extended key usages. */
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** Generates an ECDSA P-256 key pair. */
export function generateKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** Encodes a Name (RDNSequence) in Go's pkix order: C, ST, L, O, OU, CN. */
export function encodeName(dn: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  const add = (o: string, values: readonly string[] | undefined, printable = false): void => {
    for (const v of values ?? []) rdns.push(der.set(der.sequence(der.oid(o), printable ? der.printableString(v) : der.utf8String(v))));
  };
  add(OID.countryName, dn.country, true);
  add(OID.stateOrProvinceName, dn.province);
  add(OID.localityName, dn.locality);
  add(OID.organizationName, dn.organization);
  add(OID.organizationalUnitName, dn.organizationalUnit);
  add(OID.commonName, dn.commonName !== undefined ? [dn.commonName] : undefined);
  return der.sequence(...rdns);
}

/** The DER SubjectPublicKeyInfo of a key. */
export function spkiDer(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** SubjectKeyIdentifier method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
export function subjectKeyId(publicKey: KeyObject): Buffer {
  const spki = der.readTlv(spkiDer(publicKey));
  const bits = der.children(spki)[1];
  return createHash('sha1').update(bits.content.subarray(1)).digest();
}

/** The AlgorithmIdentifier and the `crypto.sign` digest for signing with `key`. */
export function signatureAlgorithm(key: KeyObject): { algId: Buffer; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return { algId: der.sequence(der.oid(OID.ecdsaWithSHA256)), digest: 'sha256' };
    case 'rsa':
      return { algId: der.sequence(der.oid(OID.sha256WithRSAEncryption), der.nullValue()), digest: 'sha256' };
    case 'ed25519':
      return { algId: der.sequence(der.oid(OID.ed25519)), digest: null };
    default:
      throw new InvalidInputError(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

/** Signs `tbs` and wraps it as a SEQUENCE { tbs, algorithm, BIT STRING signature }. */
export function signStructure(tbs: Buffer, key: KeyObject): Buffer {
  const { algId, digest } = signatureAlgorithm(key);
  const sig = sign(digest, tbs, key);
  return der.sequence(tbs, algId, der.bitString(sig));
}

/** The 4- or 16-byte form of an IP address. */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new InvalidInputError(`invalid IP address ${JSON.stringify(ip)}`);
  let s = ip.replace(/%.*$/, '');
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[2].split('.').map(Number);
    s = `${v4[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const hex = (part: string): number[] => (part ? part.split(':').map((x) => parseInt(x, 16)) : []);
  let words: number[];
  if (s.includes('::')) {
    const [head, tail] = s.split('::');
    const h = hex(head);
    const t = hex(tail);
    words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  } else words = hex(s);
  const out = Buffer.alloc(16);
  words.slice(0, 8).forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** SubjectAltName extension value (GeneralNames). */
export function encodeSubjectAltName(dnsNames: readonly string[] = [], ipAddresses: readonly string[] = []): Buffer {
  return der.sequence(
    ...dnsNames.map((d) => der.implicitPrimitive(2, Buffer.from(d, 'ascii'))),
    ...ipAddresses.map((ip) => der.implicitPrimitive(7, ipBytes(ip))),
  );
}

/** One extension: SEQUENCE { extnID, critical?, OCTET STRING value }. */
export function extension(id: string, value: Buffer, critical = false): Buffer {
  return critical ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(id), der.octetString(value));
}

/** What goes into a certificate. */
export interface CertificateTemplate {
  subject: DistinguishedName;
  /** The certified public key. */
  publicKey: KeyObject;
  /** The key that signs (the issuer's private key, or the subject's own for self-signed). */
  signingKey: KeyObject;
  /** The issuer certificate (PEM or DER); absent for a self-signed certificate. */
  issuerCert?: string | Buffer;
  serialNumber?: Buffer;
  notBefore?: Date;
  notAfter?: Date;
  /** A CA certificate: basicConstraints cA=TRUE (critical). */
  isCA?: boolean;
  pathLen?: number;
  keyUsage?: readonly KeyUsage[];
  extKeyUsage?: readonly ExtKeyUsage[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** Builds and signs a certificate; returns its DER. */
export function createCertificate(t: CertificateTemplate): Buffer {
  const now = new Date();
  const notBefore = t.notBefore ?? new Date(now.getTime() - 5 * 60_000);
  const notAfter = t.notAfter ?? new Date(now.getTime() + 365 * 86_400_000);
  const serial = t.serialNumber ?? (() => {
    const b = randomBytes(16);
    b[0] &= 0x7f;
    if (b[0] === 0) b[0] = 1;
    return b;
  })();
  const subjectName = encodeName(t.subject);
  let issuerName = subjectName;
  let authorityKeyId: Buffer | undefined;
  if (t.issuerCert !== undefined) {
    const x = new X509Certificate(t.issuerCert);
    issuerName = certificateSubjectDer(x.raw);
    authorityKeyId = subjectKeyId(x.publicKey);
  }
  const ski = subjectKeyId(t.publicKey);
  const exts: Buffer[] = [];
  if (t.keyUsage?.length) exts.push(extension(OID.keyUsage, der.namedBits(t.keyUsage.map((k) => KEY_USAGE_BITS[k])), true));
  if (t.extKeyUsage?.length) exts.push(extension(OID.extKeyUsage, der.sequence(...t.extKeyUsage.map((e) => der.oid(OID[e])))));
  if (t.isCA) {
    const bc = t.pathLen !== undefined ? der.sequence(der.boolean(true), der.integer(t.pathLen)) : der.sequence(der.boolean(true));
    exts.push(extension(OID.basicConstraints, bc, true));
  } else {
    exts.push(extension(OID.basicConstraints, der.sequence(), true));
  }
  exts.push(extension(OID.subjectKeyIdentifier, der.octetString(ski)));
  if (authorityKeyId) exts.push(extension(OID.authorityKeyIdentifier, der.sequence(der.implicitPrimitive(0, authorityKeyId))));
  if (t.dnsNames?.length || t.ipAddresses?.length) exts.push(extension(OID.subjectAltName, encodeSubjectAltName(t.dnsNames, t.ipAddresses)));
  const { algId } = signatureAlgorithm(t.signingKey);
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(serial),
    algId,
    issuerName,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    subjectName,
    spkiDer(t.publicKey),
    der.explicit(3, der.sequence(...exts)),
  );
  return signStructure(tbs, t.signingKey);
}

/** The raw subject Name of a DER certificate (to copy as a child's issuer). */
export function certificateSubjectDer(cert: Buffer): Buffer {
  const tbs = der.children(der.readTlv(cert))[0];
  const fields = der.children(tbs);
  // version [0] is present in v3 certificates; skip it when there.
  const base = fields[0].tag === 0xa0 ? 1 : 0;
  return fields[base + 4].raw;
}
