/**
 * A small PKI: a DER encoder/reader, an X.509 v3 certificate builder, PKCS#10 requests, and
 * a file-backed CA (kubeadm's layout). ECDSA P-256 keys by default. No dependency beyond
 * node:crypto, which can verify certificates but not create them.
 */
export * as der from './der.js';
export { toPem, fromPem } from './pem.js';
export {
  OID,
  createCertificate,
  generateKeyPair,
  encodeName,
  encodeSubjectAltName,
  extension,
  subjectKeyId,
  spkiDer,
  signStructure,
  ipBytes,
  certificateSubjectDer,
  type CertificateTemplate,
  type DistinguishedName,
  type KeyUsage,
  type ExtKeyUsage,
} from './x509.js';
export { createCsr, createCsrPem, type CsrTemplate } from './csr.js';
export {
  createCA,
  issueCertificate,
  writeCertKeyPair,
  readCertKeyPair,
  isUsable,
  isSignedBy,
  type CertKeyPair,
  type CAOptions,
  type LeafOptions,
} from './ca.js';
