import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FOREVER, parseCertificate, signCertificate } from '../../src/ssh/certificate.js';
import type { CertificateBody } from '../../src/ssh/certificate.js';
import { KEY_TYPES, fingerprint, generatePrivateKey, openSshPrivateKey, publicKeyLine, sshPublicKey } from '../../src/ssh/keys.js';
import { openssh, tempDir } from '../helpers/run.js';

function body(overrides: Partial<CertificateBody> = {}): CertificateBody {
  return {
    key: sshPublicKey(generatePrivateKey('ed25519')),
    nonce: Buffer.alloc(32, 7),
    serial: 0x0123456789abcdefn,
    type: 'user',
    keyId: 'joe',
    principals: ['joe', 'ubuntu'],
    validAfter: 1_700_000_000n,
    validBefore: 1_700_003_600n,
    criticalOptions: [
      { name: 'source-address', value: '10.0.0.0/8' },
      { name: 'force-command', value: 'uptime' },
    ],
    extensions: [
      { name: 'permit-pty', value: '' },
      { name: 'permit-X11-forwarding', value: '' },
      { name: 'teleport-route-to-cluster', value: 'example.com' },
    ],
    ...overrides,
  };
}

for (const caType of KEY_TYPES) {
  for (const subjectType of KEY_TYPES) {
    test(`${subjectType} key signed by ${caType} CA round-trips every field`, () => {
      const ca = generatePrivateKey(caType);
      const b = body({ key: sshPublicKey(generatePrivateKey(subjectType)) });
      const cert = parseCertificate(signCertificate(b, ca));
      assert.equal(cert.certType, `${b.key.type}-cert-v01@openssh.com`);
      assert.deepEqual(cert.key.blob, b.key.blob);
      assert.deepEqual(cert.nonce, b.nonce);
      assert.equal(cert.serial, b.serial);
      assert.equal(cert.type, 'user');
      assert.equal(cert.keyId, 'joe');
      assert.deepEqual(cert.principals, ['joe', 'ubuntu']);
      assert.equal(cert.validAfter, b.validAfter);
      assert.equal(cert.validBefore, b.validBefore);
      // Emitted sorted by name, bytewise (uppercase X before lowercase).
      assert.deepEqual(cert.rawCriticalOptions.map((o) => o.name), ['force-command', 'source-address']);
      assert.deepEqual(cert.rawExtensions, [
        { name: 'permit-X11-forwarding', value: '' },
        { name: 'permit-pty', value: '' },
        { name: 'teleport-route-to-cluster', value: 'example.com' },
      ]);
      assert.deepEqual(cert.signatureKey, sshPublicKey(ca).blob);
    });
  }
}

test('a tampered certificate fails signature verification', () => {
  const blob = signCertificate(body(), generatePrivateKey('ed25519'));
  const i = blob.indexOf(Buffer.from('ubuntu'));
  blob[i] = 'U'.charCodeAt(0);
  assert.throws(() => parseCertificate(blob), /signature does not verify/);
});

test('duplicate extensions are refused at encode time', () => {
  const b = body({ extensions: [{ name: 'permit-pty', value: '' }, { name: 'permit-pty', value: '' }] });
  assert.throws(() => signCertificate(b, generatePrivateKey('ed25519')), /duplicate extension permit-pty/);
});

test('truncated certificates are refused, not misread', () => {
  const blob = signCertificate(body(), generatePrivateKey('ed25519'));
  for (const n of [0, 3, 40, blob.length - 1]) {
    assert.throws(() => parseCertificate(blob.subarray(0, n)), /malformed certificate|not an OpenSSH certificate|invalid|truncated/);
  }
});

for (const caType of KEY_TYPES) {
  test(`ssh-keygen -L reads a ${caType}-signed host certificate that never expires`, () => {
    const dir = tempDir();
    const ca = generatePrivateKey(caType);
    const b = body({ type: 'host', keyId: 'api.example.com', principals: ['api.example.com', '10.0.0.5'], validBefore: FOREVER, criticalOptions: [], extensions: [{ name: 'x-teleport-role', value: 'Node' }] });
    const file = path.join(dir, 'host-cert.pub');
    fs.writeFileSync(file, publicKeyLine(`${b.key.type}-cert-v01@openssh.com`, signCertificate(b, ca)) + '\n');
    const r = openssh('ssh-keygen', ['-L', '-f', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /host certificate/);
    assert.match(r.stdout, /Key ID: "api\.example\.com"/);
    assert.match(r.stdout, /Serial: 81985529216486895/);
    assert.match(r.stdout, /Valid: after /);
    assert.match(r.stdout, /api\.example\.com\n\s+10\.0\.0\.5/);
    assert.match(r.stdout, new RegExp(`Signing CA: .*${fingerprint(sshPublicKey(ca).blob).replace(/[+/]/g, '\\$&')} \\(using ${caType === 'rsa' ? 'rsa-sha2-512' : caType === 'ecdsa' ? 'ecdsa-sha2-nistp256' : 'ssh-ed25519'}\\)`));
  });

  test(`ssh-keygen -y reads our openssh-key-v1 ${caType} private key`, () => {
    const dir = tempDir();
    const key = generatePrivateKey(caType);
    const file = path.join(dir, 'id');
    fs.writeFileSync(file, openSshPrivateKey(key, 'comment'), { mode: 0o600 });
    const r = openssh('ssh-keygen', ['-y', '-f', file]);
    assert.equal(r.status, 0, r.stderr);
    const pub = sshPublicKey(key);
    assert.equal(r.stdout.trim().split(' ').slice(0, 2).join(' '), publicKeyLine(pub.type, pub.blob));
  });
}

test('we parse certificates ssh-keygen makes', () => {
  const dir = tempDir();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'ca')]).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', path.join(dir, 'user')]).status, 0);
  const s = openssh('ssh-keygen', ['-q', '-s', path.join(dir, 'ca'), '-I', 'kid', '-z', '42', '-n', 'a,b', '-O', 'force-command=ls', '-V', '+1h', path.join(dir, 'user.pub')]);
  assert.equal(s.status, 0, s.stderr);
  const line = fs.readFileSync(path.join(dir, 'user-cert.pub'), 'utf8').split(' ');
  const cert = parseCertificate(Buffer.from(line[1]!, 'base64'));
  assert.equal(cert.keyId, 'kid');
  assert.equal(cert.serial, 42n);
  assert.deepEqual(cert.principals, ['a', 'b']);
  assert.deepEqual(cert.criticalOptions, [{ name: 'force-command', value: 'ls' }]);
  assert.ok(cert.extensions.some((e) => e.name === 'permit-pty'));
});
