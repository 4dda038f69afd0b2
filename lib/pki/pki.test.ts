import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createCA,
  createCsrPem,
  der,
  generateKeyPair,
  ipBytes,
  isSignedBy,
  isUsable,
  issueCertificate,
  readCertKeyPair,
  writeCertKeyPair,
} from './index.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

describe('DER encoder', () => {
  it('encodes the basics as DER', () => {
    expect(der.integer(0).toString('hex')).toBe('020100');
    expect(der.integer(128).toString('hex')).toBe('02020080');
    expect(der.integer(Buffer.from([0x00, 0x00, 0xff])).toString('hex')).toBe('020200ff');
    expect(der.oid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302');
    expect(der.boolean(true).toString('hex')).toBe('0101ff');
    expect(der.namedBits([0, 2, 5]).toString('hex')).toBe('030202a4');
    expect(der.namedBits([5]).toString('hex')).toBe('03020204');
    expect(der.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))).toString('ascii').slice(2)).toBe('260102030405Z');
    expect(der.time(new Date(Date.UTC(2051, 0, 2, 3, 4, 5)))[0]).toBe(0x18);
    const long = der.octetString(Buffer.alloc(300));
    expect(long.subarray(0, 4).toString('hex')).toBe('0482012c');
    expect(der.decodeOid(der.readTlv(der.oid('2.5.29.17')).content)).toBe('2.5.29.17');
  });

  it('encodes IPv4 and IPv6 addresses', () => {
    expect(ipBytes('10.96.0.1').toString('hex')).toBe('0a600001');
    expect(ipBytes('::1').toString('hex')).toBe('00000000000000000000000000000001');
    expect(ipBytes('fd00:10:96::1').toString('hex')).toBe('fd000010009600000000000000000001');
    expect(ipBytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
  });
});

describe('certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ca = createCA({ commonName: 'skiff-ca' });
  const server = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '10.96.0.1', '::1'],
    usages: ['serverAuth'],
  });
  const client = issueCertificate(ca, { commonName: 'kubernetes-admin', organization: ['system:masters', 'devs'], usages: ['clientAuth'] });

  it('reads back with Node: subject, SANs, CA flag, chain', () => {
    const x = new X509Certificate(server.certPem);
    expect(x.subject).toBe('CN=kube-apiserver');
    expect(x.issuer).toBe('CN=skiff-ca');
    expect(x.subjectAltName).toContain('DNS:kubernetes.default.svc.cluster.local');
    expect(x.subjectAltName).toContain('IP Address:10.96.0.1');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.ca).toBe(false);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(isSignedBy(server.certPem, ca.certPem)).toBe(true);
    expect(isSignedBy(server.certPem, createCA().certPem)).toBe(false);
    expect(isUsable(server)).toBe(true);
    expect(isUsable({ certPem: server.certPem, keyPem: client.keyPem })).toBe(false);
    const c = new X509Certificate(client.certPem);
    expect(c.subject.split('\n')).toEqual(['O=system:masters', 'O=devs', 'CN=kubernetes-admin']);
  });

  it('writes keys 0600 and reads pairs back', () => {
    writeCertKeyPair(dir, 'apiserver', server);
    expect(statSync(join(dir, 'apiserver.key')).mode & 0o777).toBe(0o600);
    expect(readCertKeyPair(dir, 'apiserver')).toEqual(server);
    expect(readCertKeyPair(dir, 'missing')).toBeUndefined();
  });

  it.skipIf(!hasOpenssl)('openssl verifies the chain and prints the extensions', () => {
    writeCertKeyPair(dir, 'ca', ca);
    writeCertKeyPair(dir, 'server', server);
    writeCertKeyPair(dir, 'client', client);
    const verify = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), '-purpose', 'sslserver', join(dir, 'server.crt')]).toString();
    expect(verify).toContain('server.crt: OK');
    const verifyClient = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), '-purpose', 'sslclient', join(dir, 'client.crt')]).toString();
    expect(verifyClient).toContain('OK');
    const text = execFileSync('openssl', ['x509', '-text', '-noout', '-in', join(dir, 'server.crt')]).toString();
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain('ecdsa-with-SHA256');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(text).toContain('DNS:localhost, DNS:kubernetes, DNS:kubernetes.default.svc.cluster.local, IP Address:127.0.0.1, IP Address:10.96.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');
    const caText = execFileSync('openssl', ['x509', '-text', '-noout', '-in', join(dir, 'ca.crt')]).toString();
    expect(caText).toMatch(/CA:TRUE/);
    expect(caText).toMatch(/Certificate Sign/);
    // the key is a valid EC key
    expect(execFileSync('openssl', ['pkey', '-in', join(dir, 'server.key'), '-noout', '-text']).toString()).toContain('prime256v1');
  });

  it.skipIf(!hasOpenssl)('builds PKCS#10 requests openssl accepts', () => {
    const { privateKey, publicKey } = generateKeyPair();
    const pem = createCsrPem({
      subject: { commonName: 'system:node:n1', organization: ['system:nodes'] },
      privateKey,
      publicKey,
      dnsNames: ['n1'],
      ipAddresses: ['192.0.2.7'],
    });
    const f = join(dir, 'n1.csr');
    writeFileSync(f, pem);
    const out = execFileSync('openssl', ['req', '-in', f, '-noout', '-verify', '-text'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(out).toMatch(/Subject: O\s*=\s*system:nodes, CN\s*=\s*system:node:n1/);
    expect(out).toContain('DNS:n1, IP Address:192.0.2.7');
  });

  it('completes a mutual TLS handshake with Node', async () => {
    const srv = createServer({ key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      const peer = s.getPeerCertificate();
      s.end(`hello ${String(peer.subject.CN)} ${JSON.stringify(peer.subject.O)}`);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const sock: TLSSocket = connect({ host: '127.0.0.1', port, ca: ca.certPem, key: client.keyPem, cert: client.certPem, servername: 'localhost' }, () => {
          let data = '';
          sock.on('data', (d: Buffer) => (data += d.toString()));
          sock.on('end', () => resolve(data));
        });
        sock.on('error', reject);
      });
      expect(reply).toBe('hello kubernetes-admin ["system:masters","devs"]');
    } finally {
      srv.close();
    }
  });
});
