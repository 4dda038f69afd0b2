/**
 * A certificate authority in files, the way kubeadm lays one out: `ca.crt`/`ca.key`, and
 * leaf pairs `<name>.crt`/`<name>.key` signed by it. Keys are PKCS#8 PEM, written mode 0600.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toPem } from './pem.js';
import { createCertificate, generateKeyPair, type DistinguishedName, type ExtKeyUsage } from './x509.js';

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

const DAY = 86_400_000;

/** Options of {@link createCA}. */
export interface CAOptions {
  commonName?: string;
  organization?: string[];
  /** Default 10 years, as kubeadm's CA. */
  validityDays?: number;
  now?: Date;
}

/** A self-signed ECDSA P-256 CA (keyCertSign, cRLSign, digitalSignature). */
export function createCA(opts: CAOptions = {}): CertKeyPair {
  const { privateKey, publicKey } = generateKeyPair();
  const now = opts.now ?? new Date();
  const der = createCertificate({
    subject: { commonName: opts.commonName ?? 'kubernetes', organization: opts.organization },
    publicKey,
    signingKey: privateKey,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? 3650) * DAY),
    isCA: true,
    keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign'],
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** What a leaf certificate says. */
export interface LeafOptions {
  commonName: string;
  /** O= entries: Kubernetes groups for client certificates. */
  organization?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  /** serverAuth, clientAuth or both. */
  usages: ExtKeyUsage[];
  /** Default 1 year. */
  validityDays?: number;
  now?: Date;
}

/** Issues a leaf certificate with a fresh ECDSA P-256 key, signed by `ca`. */
export function issueCertificate(ca: CertKeyPair, opts: LeafOptions): CertKeyPair {
  const { privateKey, publicKey } = generateKeyPair();
  const now = opts.now ?? new Date();
  const subject: DistinguishedName = { commonName: opts.commonName, organization: opts.organization };
  const der = createCertificate({
    subject,
    publicKey,
    signingKey: createPrivateKey(ca.keyPem),
    issuerCert: ca.certPem,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? 365) * DAY),
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: opts.usages,
    dnsNames: opts.dnsNames,
    ipAddresses: opts.ipAddresses,
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Writes `<dir>/<name>.crt` (0644) and `<dir>/<name>.key` (0600), each atomically. */
export function writeCertKeyPair(dir: string, name: string, pair: CertKeyPair): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(join(dir, `${name}.key`), pair.keyPem, 0o600);
  writeAtomic(join(dir, `${name}.crt`), pair.certPem, 0o644);
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** Reads a pair written by {@link writeCertKeyPair}, or undefined when either file is missing. */
export function readCertKeyPair(dir: string, name: string): CertKeyPair | undefined {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(crt) || !existsSync(key)) return undefined;
  return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

/** True when the pair's key matches its certificate and the certificate is valid at `now` for `minDays` more. */
export function isUsable(pair: CertKeyPair, now = new Date(), minDays = 1): boolean {
  try {
    const x = new X509Certificate(pair.certPem);
    const pub = createPublicKey(pair.keyPem).export({ type: 'spki', format: 'der' });
    if (!x.publicKey.export({ type: 'spki', format: 'der' }).equals(pub)) return false;
    return new Date(x.validTo).getTime() - now.getTime() > minDays * DAY && new Date(x.validFrom).getTime() <= now.getTime() + 60_000;
  } catch {
    return false;
  }
}

/** True when `cert` was signed by `ca` (checks the signature, not dates). */
export function isSignedBy(certPem: string, caPem: string): boolean {
  try {
    return new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
