import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  decryptPrivateKeyPem, encryptedKeyParams, encryptedKeySigner, encryptPrivateKeyPem, isEncryptedPem, SCRYPT_N, SCRYPT_P, SCRYPT_R,
  WrongPassphraseError,
} from '../../src/keys/encrypted.js';
import { choosePassphraseSource, passphraseOnce, readSecretFile } from '../../src/keys/secrets.js';
import { TctlError } from '../../src/errors.js';
import { type Asn1, nullValue, octets, oid, seq, toDer, uint } from '../../src/x509/forge.js';
import { tempDir } from '../helpers/run.js';

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const SCRYPT = '1.3.6.1.4.1.11591.4.11';
const HMAC_SHA256 = '1.2.840.113549.2.9';
const AES256 = '2.16.840.1.101.3.4.1.42';

function openssl(args: string[], input = '') {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const spki = (k: KeyObject) => (k.type === 'public' ? k : createPublicKey(k)).export({ type: 'spki', format: 'der' });
const KEYS = {
  ed25519: () => generateKey({ type: 'ed25519' }).privateKey,
  'ecdsa-p256': () => generateKey({ type: 'ec', namedCurve: 'P-256' }).privateKey,
  'ecdsa-p384': () => generateKey({ type: 'ec', namedCurve: 'P-384' }).privateKey,
  rsa: () => generateKey({ type: 'rsa', modulusLength: 3072 }).privateKey,
};

test('encrypted key files: scrypt + AES-256-CBC that openssl reads with the passphrase and not without', () => {
  const dir = tempDir();
  const passFile = path.join(dir, 'pass');
  fs.writeFileSync(passFile, 'correct horse battery staple\n');
  const pass = readSecretFile(passFile, 'passphrase');
  for (const [type, make] of Object.entries(KEYS)) {
    const key = make();
    const pem = encryptPrivateKeyPem(key, pass);
    assert.ok(isEncryptedPem(pem));
    assert.deepEqual(encryptedKeyParams(pem), { kdf: 'scrypt', N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, cipherKeyBytes: 32 });
    // Round trip through our reader.
    assert.deepEqual(spki(decryptPrivateKeyPem(pem, pass)), spki(key), type);
    const file = path.join(dir, `${type}.key`);
    fs.writeFileSync(file, pem, { mode: 0o600 });
    const asn1 = openssl(['asn1parse', '-in', file]);
    assert.match(asn1.stdout, /:PBES2\n[\s\S]*:scrypt\n[\s\S]*:aes-256-cbc\n/);
    // openssl decrypts it with the passphrase file (openssl, like us, reads its first line).
    const ok = openssl(['pkey', '-in', file, '-passin', `file:${passFile}`, '-pubout', '-outform', 'DER']);
    assert.equal(ok.status, 0, ok.stderr);
    const pub = openssl(['pkey', '-in', file, '-passin', `file:${passFile}`, '-pubout']);
    assert.deepEqual(createPublicKey(pub.stdout).export({ type: 'spki', format: 'der' }), spki(key));
    // Without the passphrase (no terminal to ask on) and with a wrong one, it does not parse.
    assert.notEqual(openssl(['pkey', '-in', file, '-noout']).status, 0);
    const wrong = openssl(['pkey', '-in', file, '-passin', 'pass:correct horse battery stapler', '-noout']);
    assert.notEqual(wrong.status, 0);
    // Usually "bad decrypt"; about 1 time in 256 a wrong key still ends in valid CBC padding and
    // the decoder then fails on the garbage instead.
    assert.match(wrong.stderr, /bad decrypt|Could not read key/);
    // And the private key bytes are nowhere in the file.
    const der = key.export({ type: 'pkcs8', format: 'der' });
    assert.ok(!Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').includes(der.subarray(-32)));
  }
});

test('a wrong passphrase is one typed error, whatever the passphrase (many tries)', () => {
  const key = KEYS.ed25519();
  const pem = encryptPrivateKeyPem(key, 'right');
  for (let i = 0; i < 12; i++) {
    const guess = randomBytes(1 + (i % 40));
    assert.throws(() => decryptPrivateKeyPem(pem, guess, 'CA key user.key'), (err: unknown) => {
      assert.ok(err instanceof WrongPassphraseError);
      assert.ok(err instanceof TctlError && err.kind === 'failure');
      assert.equal(err.message, 'wrong passphrase for CA key user.key');
      return true;
    });
  }
  assert.throws(() => decryptPrivateKeyPem(pem, ''), /the passphrase is empty/);
  assert.throws(() => encryptPrivateKeyPem(key, ''), /the passphrase is empty/);
  assert.throws(() => encryptPrivateKeyPem(key, 'x'.repeat(1025)), /longer than 1024 bytes/);
  assert.throws(() => encryptPrivateKeyPem(createPublicKey(key), 'x'), /only a private key can be encrypted/);
});

test('keys encrypted by openssl (scrypt, PBKDF2-SHA256) are read; weak or hostile headers are refused before any work', () => {
  const dir = tempDir();
  const plain = path.join(dir, 'plain.key');
  fs.writeFileSync(plain, KEYS['ecdsa-p256']().export({ type: 'pkcs8', format: 'pem' }));
  const make = (name: string, args: string[]) => {
    const out = path.join(dir, name);
    const r = openssl(['pkcs8', '-topk8', '-in', plain, '-passout', 'pass:hunter2', '-out', out, ...args]);
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(out, 'utf8');
  };
  const expected = spki(createPublicKey(fs.readFileSync(plain, 'utf8')));
  for (const args of [['-scrypt'], ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA256', '-iter', '100000'], ['-v2', 'aes-128-cbc']]) {
    assert.deepEqual(spki(decryptPrivateKeyPem(make('ok.pem', args), 'hunter2')), expected, args.join(' '));
  }
  const refused: [string[], RegExp][] = [
    [['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1'], /PBKDF2 hash is not SHA-256/],
    [['-v2', 'des3'], /the cipher is not AES-CBC/],
    [['-v1', 'PBE-SHA1-3DES'], /not PBES2 encryption/],
  ];
  for (const [args, message] of refused) assert.throws(() => decryptPrivateKeyPem(make('bad.pem', args), 'hunter2', 'k'), message, args.join(' '));
  // Headers that would cost hours or gigabytes (a file nobody could make cheaply, so built here).
  const hostile: [Asn1, RegExp][] = [
    [seq([oid(PBKDF2), seq([octets(randomBytes(16)), uint(2_000_000_000n), seq([oid(HMAC_SHA256), nullValue()])])]), /PBKDF2 iteration count 2000000000 is out of range/],
    [seq([oid(SCRYPT), seq([octets(randomBytes(16)), uint(1n << 20n), uint(8n), uint(1n)])]), /scrypt parameters need more than 32 MiB/],
    [seq([oid(SCRYPT), seq([octets(randomBytes(16)), uint(1n << 14n), uint(8n), uint(1_000_000n)])]), /scrypt p 1000000 is out of range/],
    [seq([oid(SCRYPT), seq([octets(randomBytes(16)), uint(12345n), uint(8n), uint(1n)])]), /scrypt N 12345 is not a power of two/],
    [seq([oid(SCRYPT), seq([octets(randomBytes(4)), uint(1n << 14n), uint(8n), uint(1n)])]), /salt is shorter than 8 bytes/],
  ];
  for (const [kdf, message] of hostile) {
    const der = toDer(seq([seq([oid(PBES2), seq([kdf, seq([oid(AES256), octets(randomBytes(16))])])]), octets(randomBytes(48))]));
    const pem = `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
    const t = Date.now();
    assert.throws(() => decryptPrivateKeyPem(pem, 'hunter2', 'k'), message);
    assert.ok(Date.now() - t < 1000, 'refused from the header alone');
  }
  assert.throws(() => decryptPrivateKeyPem(fs.readFileSync(plain, 'utf8'), 'x'), /not an encrypted PKCS#8 PEM/);
  assert.equal(isEncryptedPem(fs.readFileSync(plain, 'utf8')), false);
  assert.throws(() => decryptPrivateKeyPem('-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n', 'x'), TctlError);
});

test('an encrypted key file becomes a signer that says where its key lives', () => {
  const key = KEYS.ed25519();
  const signer = encryptedKeySigner(encryptPrivateKeyPem(key, 'pw'), 'pw');
  assert.deepEqual(signer.location, { kind: 'file', encrypted: true });
  assert.equal(signer.keyType, 'ed25519');
  assert.deepEqual(spki(signer.publicKey), spki(key));
});

test('passphrase files: one trailing newline stripped, the rest kept, empty and oversized refused', () => {
  const dir = tempDir();
  const write = (name: string, content: string | Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    return f;
  };
  assert.equal(readSecretFile(write('a', 'pw\n'), 'passphrase').toString(), 'pw');
  assert.equal(readSecretFile(write('b', 'pw\r\n'), 'passphrase').toString(), 'pw');
  assert.equal(readSecretFile(write('c', 'pw\n\n'), 'passphrase').toString(), 'pw\n');
  assert.equal(readSecretFile(write('d', ' pw '), 'passphrase').toString(), ' pw ');
  assert.throws(() => readSecretFile(write('e', '\n'), 'passphrase'), /passphrase file .*e is empty/);
  assert.throws(() => readSecretFile(write('f', ''), 'passphrase'), /is empty/);
  assert.equal(readSecretFile(write('g', 'x'.repeat(1024) + '\n'), 'passphrase').length, 1024);
  assert.throws(() => readSecretFile(write('h', 'x'.repeat(1025)), 'passphrase'), /longer than 1024 bytes/);
  assert.throws(() => readSecretFile(write('i', Buffer.alloc(10 * 1024 * 1024)), 'passphrase'), TctlError);
  assert.throws(() => readSecretFile(path.join(dir, 'missing'), 'passphrase'), /cannot read passphrase file .*no such file/);
  assert.throws(() => readSecretFile(dir, 'passphrase'), /is a directory/);
});

test('passphrase source: flag, then TCTL_CA_PASSPHRASE_FILE, then a prompt on a terminal only; asked once', async () => {
  const env = { TCTL_CA_PASSPHRASE_FILE: '/env/file' };
  assert.deepEqual(choosePassphraseSource({ flagFile: '/flag', env, interactive: true }), { kind: 'file', path: '/flag', from: '--passphrase-file' });
  assert.deepEqual(choosePassphraseSource({ env, interactive: false }), { kind: 'file', path: '/env/file', from: 'TCTL_CA_PASSPHRASE_FILE' });
  assert.deepEqual(choosePassphraseSource({ env: {}, interactive: true }), { kind: 'prompt' });
  assert.throws(() => choosePassphraseSource({ env: { TCTL_CA_PASSPHRASE_FILE: '' }, interactive: false }), (err: unknown) => {
    assert.ok(err instanceof TctlError);
    assert.equal(err.message, 'the CA keys are passphrase-protected and no passphrase was given');
    assert.match(err.hint!, /--passphrase-file FILE or set TCTL_CA_PASSPHRASE_FILE=FILE/);
    return true;
  });
  assert.throws(() => choosePassphraseSource({ flagFile: '', env, interactive: true }), /--passphrase-file is empty/);
  let asked = 0;
  const get = passphraseOnce({ kind: 'prompt' }, async () => Buffer.from(`pw${++asked}`));
  const answers = await Promise.all([get(), get(), get()]);
  assert.deepEqual(answers.map(String), ['pw1', 'pw1', 'pw1']);
  assert.equal(asked, 1);
});
