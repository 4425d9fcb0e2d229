import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { p1363ToDer, toSshSigner, toX509Signer } from '../../src/keys/adapters.js';
import { type CaKeyType, type CaSigner, inProcessSigner } from '../../src/keys/signer.js';
import { FOREVER, parseCertificate, signCertificate, type CertificateBody } from '../../src/ssh/certificate.js';
import { generatePrivateKey, sshPublicKey, sshSign, sshVerify } from '../../src/ssh/keys.js';
import { signerFromKeyObject } from '../../src/x509/signer.js';
import { openssh, tempDir } from '../helpers/run.js';

const KEYS: Record<CaKeyType, () => KeyObject> = {
  ed25519: () => generateKey({ type: 'ed25519' }).privateKey,
  'ecdsa-p256': () => generateKey({ type: 'ec', namedCurve: 'P-256' }).privateKey,
  'ecdsa-p384': () => generateKey({ type: 'ec', namedCurve: 'P-384' }).privateKey,
  rsa: () => generateKey({ type: 'rsa', modulusLength: 2048 }).privateKey,
};
const rsaKey = KEYS.rsa();
const keyOf = (t: CaKeyType) => (t === 'rsa' ? rsaKey : KEYS[t]());

/** A signer that hides its KeyObject, as a PKCS#11 key does: only signRaw reaches the key. */
function opaque(s: CaSigner): CaSigner {
  return { publicKey: s.publicKey, keyType: s.keyType, location: { kind: 'memory' }, signRaw: (a, d) => s.signRaw(a, d) };
}

export function certBody(key = sshPublicKey(generatePrivateKey('ed25519'))): CertificateBody {
  return {
    key,
    nonce: randomBytes(32),
    serial: 42n,
    type: 'user',
    keyId: 'joe',
    principals: ['joe', 'root'],
    validAfter: 0n,
    validBefore: FOREVER,
    criticalOptions: [{ name: 'source-address', value: '10.0.0.0/8' }],
    extensions: [{ name: 'permit-pty', value: '' }],
  };
}

test('deterministic keys: the SSH and X.509 adapters give byte for byte what src/ssh and src/x509 give', () => {
  for (const type of ['ed25519', 'rsa'] as const) {
    const key = keyOf(type);
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(i * 37);
      for (const s of [inProcessSigner(key), opaque(inProcessSigner(key))]) {
        assert.deepEqual(toSshSigner(s).sign(data), sshSign(key, data), `${type} SSH`);
        assert.deepEqual(toX509Signer(s).sign(data), signerFromKeyObject(key).sign(data), `${type} X.509`);
        assert.equal(toX509Signer(s).algorithm, signerFromKeyObject(key).algorithm);
      }
    }
  }
});

test('ECDSA: r||s from the signer becomes SSH mpints and X.509 DER that verify, for many signatures', () => {
  for (const type of ['ecdsa-p256', 'ecdsa-p384'] as const) {
    const key = keyOf(type);
    const s = opaque(inProcessSigner(key));
    const blob = sshPublicKey(key).blob;
    for (let i = 0; i < 200; i++) {
      const data = randomBytes(64);
      const r = sshVerify(blob, data, toSshSigner(s).sign(data));
      assert.deepEqual(r, { ok: true, algorithm: sshPublicKey(key).type });
      if (type === 'ecdsa-p256') {
        // OpenSSL re-encodes the parsed DER and compares, so a non-minimal INTEGER would fail here.
        assert.ok(verify('sha256', data, { key: s.publicKey, dsaEncoding: 'der' }, toX509Signer(s).sign(data)));
      }
    }
  }
  assert.throws(() => toX509Signer(inProcessSigner(keyOf('ecdsa-p384'))), /unsupported CA key for X\.509: EC key on curve secp384r1/);
});

test('p1363ToDer keeps INTEGERs minimal and positive at the edges (leading zeros, top bit set)', () => {
  const edge = [Buffer.alloc(32), Buffer.alloc(32, 0xff), Buffer.concat([Buffer.alloc(31), Buffer.from([1])]), Buffer.concat([Buffer.from([0x80]), Buffer.alloc(31)])];
  for (const r of edge) {
    for (const s of edge) {
      const der = p1363ToDer(Buffer.concat([r, s]), 32);
      assert.equal(der[0], 0x30);
      for (const [i, v] of [r, s].entries()) {
        const ints: Buffer[] = [];
        let at = 2;
        for (let k = 0; k < 2; k++) {
          assert.equal(der[at], 0x02);
          const len = der[at + 1]!;
          ints.push(der.subarray(at + 2, at + 2 + len));
          at += 2 + len;
        }
        const n = ints[i]!;
        assert.ok(n.length >= 1 && (n[0]! & 0x80) === 0, 'positive');
        assert.ok(n.length === 1 || n[0] !== 0 || (n[1]! & 0x80) !== 0, 'minimal');
        assert.equal(BigInt('0x' + n.toString('hex')), BigInt('0x' + (v.toString('hex') || '0')));
      }
    }
  }
  assert.throws(() => p1363ToDer(Buffer.alloc(63), 32), /ECDSA signature of 63 bytes, expected 64/);
});

test('signCertificate takes a signer without a KeyObject (its sign function): certificates equal the KeyObject path\'s (Ed25519) and parse (all types)', () => {
  for (const type of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa'] as const) {
    const key = keyOf(type);
    for (let i = 0; i < 10; i++) {
      const b = certBody();
      const cert = signCertificate(b, toSshSigner(opaque(inProcessSigner(key))));
      if (type === 'ed25519' || type === 'rsa') assert.deepEqual(cert, signCertificate(b, key));
      const parsed = parseCertificate(cert);
      assert.deepEqual(parsed.signatureKey, sshPublicKey(key).blob);
      assert.deepEqual(parsed.principals, ['joe', 'root']);
    }
  }
});

test('ssh-keygen -L reads certificates signed through the adapter by every CA key type', () => {
  const dir = tempDir();
  for (const type of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa'] as const) {
    const key = keyOf(type);
    const ca = toSshSigner(opaque(inProcessSigner(key)));
    const cert = signCertificate(certBody(), ca);
    const file = path.join(dir, `${type}-cert.pub`);
    fs.writeFileSync(file, `ssh-ed25519-cert-v01@openssh.com ${cert.toString('base64')}\n`);
    const r = openssh('ssh-keygen', ['-L', '-f', file]);
    assert.equal(r.status, 0, r.stderr);
    const alg = type === 'rsa' ? 'rsa-sha2-512' : ca.publicKey.type;
    assert.match(r.stdout, new RegExp(`Signing CA: \\S+ SHA256:\\S+ \\(using ${alg}\\)`));
  }
});

test('signRaw refuses an algorithm the key type cannot make', () => {
  assert.throws(() => inProcessSigner(keyOf('ed25519')).signRaw('rsa-pkcs1-sha512', Buffer.alloc(1)), /a ed25519 key cannot sign with rsa-pkcs1-sha512/);
  assert.throws(() => inProcessSigner(generateKey({ type: 'rsa', modulusLength: 1024 }).privateKey), /RSA CA key of 1024 bits is too weak/);
  // Imported from DER, as src/keys/generate.ts does: a generated EC key read under GC can deadlock.
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1', privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey;
  assert.throws(() => inProcessSigner(createPrivateKey({ key: k1, format: 'der', type: 'pkcs8' })), /unsupported CA key: EC key on curve secp256k1/);
});
