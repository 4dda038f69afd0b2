/**
 * The kubelet API's serving certificate: `tlsCertFile`/`tlsPrivateKeyFile` when configured;
 * otherwise `<certDir>/kubelet.crt` and `kubelet.key`, generated once as kubelet does
 * (`certutil.GenerateSelfSignedCertKey`: a throw-away CA `<host>-ca@<unix time>` signing a
 * serving certificate `<host>@<unix time>`, both valid one year; the .crt holds the leaf and
 * the CA) and reused across restarts.
 *
 * Deviations: the certificate also names the node's IPs (kubelet: the hostname only), keys
 * are ECDSA P-256 (kubelet: RSA 2048), and a self-signed pair that is unreadable, mismatched
 * or expired is regenerated (kubelet reuses any pair it can read).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Clock } from '../../lib/clock.js';
import { SkiffError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { createCA, isUsable, issueCertificate, readCertKeyPair, writeCertKeyPair } from '../../lib/pki/index.js';

/** The serving certificate could not be loaded or created. */
export class ServingCertError extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SKIFF_SERVING_CERT', message, options);
  }
}

/** A certificate (chain) and key in PEM. */
export interface ServingCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** True when this call generated it. */
  generated: boolean;
}

/** Options of {@link loadServingCert}. */
export interface ServingCertOptions {
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  certDir: string;
  /** The node's hostname (DNS SAN, or IP SAN when it is an address). */
  hostname: string;
  /** The node's IPs (IP SANs). */
  ips?: readonly string[];
  clock: Clock;
  logger: Logger;
}

/** Loads (or generates) the serving certificate. Throws {@link ServingCertError}. */
export async function loadServingCert(opts: ServingCertOptions): Promise<ServingCert> {
  if (opts.tlsCertFile || opts.tlsPrivateKeyFile) {
    if (!opts.tlsCertFile || !opts.tlsPrivateKeyFile) throw new ServingCertError('tlsCertFile and tlsPrivateKeyFile must be set together');
    try {
      const [certPem, keyPem] = await Promise.all([readFile(opts.tlsCertFile, 'utf8'), readFile(opts.tlsPrivateKeyFile, 'utf8')]);
      return { certPem, keyPem, certFile: opts.tlsCertFile, keyFile: opts.tlsPrivateKeyFile, generated: false };
    } catch (err) {
      throw new ServingCertError(`cannot read the serving certificate: ${(err as Error).message}`, { cause: err });
    }
  }
  const certFile = `${opts.certDir}/kubelet.crt`;
  const keyFile = `${opts.certDir}/kubelet.key`;
  const now = new Date(opts.clock.now());
  let existing;
  try {
    existing = readCertKeyPair(opts.certDir, 'kubelet');
  } catch (err) {
    opts.logger.warn({ err: (err as Error).message, certFile }, 'cannot read the self-signed serving certificate; generating a new one');
  }
  if (existing && isUsable(existing, now, 0)) return { ...existing, certFile, keyFile, generated: false };
  if (existing) opts.logger.warn({ certFile }, 'self-signed serving certificate is unusable (expired or mismatched); generating a new one');

  const unix = Math.floor(now.getTime() / 1000);
  const ca = createCA({ commonName: `${opts.hostname}-ca@${unix}`, validityDays: 365, now });
  const dnsNames = isIP(opts.hostname) ? [] : [opts.hostname];
  const ips = [...new Set([...(isIP(opts.hostname) ? [opts.hostname] : []), ...(opts.ips ?? [])])];
  const leaf = issueCertificate(ca, { commonName: `${opts.hostname}@${unix}`, dnsNames, ipAddresses: ips, usages: ['serverAuth'], validityDays: 365, now });
  const pair = { certPem: `${leaf.certPem.trimEnd()}\n${ca.certPem.trimEnd()}\n`, keyPem: leaf.keyPem };
  try {
    writeCertKeyPair(opts.certDir, 'kubelet', pair);
  } catch (err) {
    throw new ServingCertError(`cannot write the self-signed serving certificate to ${opts.certDir}: ${(err as Error).message}`, { cause: err });
  }
  opts.logger.info({ certFile, subject: new X509Certificate(leaf.certPem).subject.replace(/\n/g, ',') }, 'generated a self-signed serving certificate');
  return { ...pair, certFile, keyFile, generated: true };
}
