import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { createCA, issueCertificate } from '../../lib/pki/index.js';
import { loadServingCert } from './tls.js';

describe('serving certificate', () => {
  it('names the hostname and IPs, and regenerates an expired pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
    try {
      const clock = new FakeClock(Date.UTC(2026, 10, 22));
      const a = await loadServingCert({ certDir: dir, hostname: 'node-1', ips: ['10.0.0.5'], clock, logger: silentLogger() });
      expect(a.generated).toBe(true);
      const x = new X509Certificate(a.certPem);
      expect(x.subjectAltName).toBe('DNS:node-1, IP Address:10.0.0.5');
      expect(x.subject).toMatch(/CN=node-1@\d+/);
      expect(x.issuer).toMatch(/CN=node-1-ca@\d+/);
      expect((await loadServingCert({ certDir: dir, hostname: 'node-1', clock, logger: silentLogger() })).generated).toBe(false);
      await clock.advance(366 * 86_400_000);
      const b = await loadServingCert({ certDir: dir, hostname: 'node-1', clock, logger: silentLogger() });
      expect(b.generated).toBe(true);
      expect(readFileSync(join(dir, 'kubelet.crt'), 'utf8')).toBe(b.certPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses tlsCertFile/tlsPrivateKeyFile as given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
    try {
      const ca = createCA();
      const leaf = issueCertificate(ca, { commonName: 'kubelet', usages: ['serverAuth'] });
      writeFileSync(join(dir, 'c.pem'), leaf.certPem);
      writeFileSync(join(dir, 'k.pem'), leaf.keyPem);
      const r = await loadServingCert({ tlsCertFile: join(dir, 'c.pem'), tlsPrivateKeyFile: join(dir, 'k.pem'), certDir: join(dir, 'pki'), hostname: 'n', clock: new FakeClock(), logger: silentLogger() });
      expect(r).toMatchObject({ certPem: leaf.certPem, keyPem: leaf.keyPem, generated: false });
      await expect(loadServingCert({ tlsCertFile: join(dir, 'missing.pem'), tlsPrivateKeyFile: join(dir, 'k.pem'), certDir: dir, hostname: 'n', clock: new FakeClock(), logger: silentLogger() })).rejects.toMatchObject({ code: 'SKIFF_SERVING_CERT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
