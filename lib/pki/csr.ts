/** PKCS#10 certificate signing requests (RFC 2986), e.g. for a kubelet serving certificate. */
import type { KeyObject } from 'node:crypto';
import * as der from './der.js';
import { toPem } from './pem.js';
import { encodeName, encodeSubjectAltName, extension, OID, signStructure, spkiDer, type DistinguishedName } from './x509.js';

/** What goes into a CSR. */
export interface CsrTemplate {
  subject: DistinguishedName;
  /** Signs the request; its public key is the one requested. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** Builds a signed CSR; returns its DER. */
export function createCsr(t: CsrTemplate): Buffer {
  const attrs: Buffer[] = [];
  if (t.dnsNames?.length || t.ipAddresses?.length) {
    const exts = der.sequence(extension(OID.subjectAltName, encodeSubjectAltName(t.dnsNames, t.ipAddresses)));
    attrs.push(der.sequence(der.oid(OID.extensionRequest), der.set(exts)));
  }
  const info = der.sequence(der.integer(0), encodeName(t.subject), spkiDer(t.publicKey), der.implicitConstructed(0, ...attrs));
  return signStructure(info, t.privateKey);
}

/** {@link createCsr} as PEM (`CERTIFICATE REQUEST`). */
export function createCsrPem(t: CsrTemplate): string {
  return toPem('CERTIFICATE REQUEST', createCsr(t));
}
