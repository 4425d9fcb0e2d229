// The value check for public keys against independent oracles: a textbook RFC 8032 decoder with
// real point doubling for ed25519, node:crypto for ECDSA, hand-built RSA blobs at every bound.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, randomInt } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { lintCertificate } from '../../src/ca/lint.js';
import { parseCertificate, signCertificate } from '../../src/ssh/certificate.js';
import { DerError, DerReader, TAG, derElement, derUnsigned } from '../../src/ssh/der.js';
import { D25519 as SRC_D25519, publicKeyValueProblem } from '../../src/ssh/key-values.js';
import { KeyFormatError, checkPublicKeyValue, generatePrivateKey, openSshPrivateKey, parsePublicKeyBlob, sshPublicKey } from '../../src/ssh/keys.js';
import type { KeyType } from '../../src/ssh/keys.js';
import { D25519, EC_CURVES, P25519, SMALL_ORDER_ED25519, ecdsaBlob, ed25519Blob, le32, modPow, oddOfBits, offCurvePoint, realModulus, rsaBlob, smallOrderEncoding, yOf } from '../helpers/bad-keys.js';
import { openssh, tempDir } from '../helpers/run.js';

const p = P25519;
const mod = (a: bigint) => ((a % p) + p) % p;

/** Textbook RFC 8032 §5.1.3 decoding (computes x) and three doublings (§5.1.4): the oracle. */
function oracle(enc: Buffer): 'ok' | 'non-canonical' | 'off-curve' | 'x0-sign' | 'small-order' {
  const sign = enc[31]! >> 7;
  const y = yOf(enc);
  if (y >= p) return 'non-canonical';
  const u = mod(y * y - 1n);
  const v = mod(D25519 * y * y + 1n);
  let x = mod(u * modPow(v, 3n, p) * modPow(mod(u * modPow(v, 7n, p)), (p - 5n) / 8n, p));
  const vxx = mod(v * x * x);
  if (vxx === mod(-u)) x = mod(x * modPow(2n, (p - 1n) / 4n, p));
  else if (vxx !== u) return 'off-curve';
  if (x === 0n && sign === 1) return 'x0-sign';
  if (Number(x & 1n) !== sign) x = p - x;
  // Extended coordinates (X, Y, Z, T) with the complete addition law, P + P three times.
  const add = (a: bigint[], b: bigint[]) => {
    const [x1, y1, z1, t1] = a as [bigint, bigint, bigint, bigint];
    const [x2, y2, z2, t2] = b as [bigint, bigint, bigint, bigint];
    const A = mod((y1 - x1) * (y2 - x2));
    const B = mod((y1 + x1) * (y2 + x2));
    const C = mod(2n * t1 * t2 * D25519);
    const D = mod(2n * z1 * z2);
    const [E, F, G, H] = [B - A, D - C, D + C, B + A];
    return [mod(E * F), mod(G * H), mod(F * G), mod(E * H)];
  };
  let P = [x, y, 1n, mod(x * y)];
  for (let i = 0; i < 3; i++) P = add(P, P);
  return P[0] === 0n && P[1] === P[2] ? 'small-order' : 'ok';
}

const verdict = (enc: Buffer): string => {
  const problem = publicKeyValueProblem(ed25519Blob(enc));
  if (problem === undefined) return 'ok';
  if (/small-order/.test(problem)) return 'small-order';
  if (/not reduced/.test(problem)) return 'non-canonical';
  if (/sign bit/.test(problem)) return 'x0-sign';
  if (/not a point on the curve/.test(problem)) return 'off-curve';
  return problem;
};

test('ed25519: the eight small-order points, and every other encoding of them, are refused', () => {
  for (const enc of SMALL_ORDER_ED25519) {
    assert.equal(oracle(enc), 'small-order', 'the oracle agrees with the published list');
    assert.equal(verdict(enc), 'small-order', enc.toString('hex'));
    assert.throws(() => checkPublicKeyValue(parsePublicKeyBlob(ed25519Blob(enc)).key), /small-order point: .*anyone could forge/);
  }
  for (let i = 0; i < 2000; i++) {
    const enc = smallOrderEncoding();
    assert.notEqual(verdict(enc), 'ok', enc.toString('hex'));
    assert.equal(verdict(enc), oracle(enc), enc.toString('hex'));
  }
});

test('ed25519: agrees with the textbook decoder on random, edge and mixed encodings; node keys pass', () => {
  const edges = [0n, 1n, 2n, p - 2n, p - 1n, p, p + 1n, p + 18n, 2n ** 255n - 1n].flatMap((y) => [le32(y), Buffer.from([...le32(y).subarray(0, 31), le32(y)[31]! | 0x80])]);
  const random = Array.from({ length: 3000 }, () => randomBytes(32));
  const seen = new Set<string>();
  for (const enc of [...edges, ...random]) {
    const want = oracle(enc);
    seen.add(want);
    assert.equal(verdict(enc), want, enc.toString('hex'));
  }
  assert.deepEqual([...seen].sort(), ['non-canonical', 'off-curve', 'ok', 'small-order', 'x0-sign']);
  for (let i = 0; i < 500; i++) {
    const key = sshPublicKey(generateKey({ type: 'ed25519' }).publicKey);
    assert.equal(publicKeyValueProblem(key.blob), undefined);
  }
});

test('ecdsa: points off the curve are refused, by us and (confirmed) by node:crypto; node keys pass', () => {
  for (const curve of EC_CURVES) {
    for (let i = 0; i < 200; i++) {
      const point = offCurvePoint(curve);
      const parsed = parsePublicKeyBlob(ecdsaBlob(curve.name, point));
      assert.throws(() => checkPublicKeyValue(parsed.key), new RegExp(`ECDSA key is not a point on the ${curve.name} curve`));
      assert.throws(() => parsed.keyObject, KeyFormatError, 'node:crypto refuses the point too');
    }
    const pBytes = Buffer.alloc(curve.bytes, 0xff);
    assert.match(publicKeyValueProblem(ecdsaBlob(curve.name, Buffer.concat([Buffer.from([4]), pBytes, pBytes])))!, /not a point/, 'coordinates >= p');
    assert.match(publicKeyValueProblem(ecdsaBlob(curve.name, Buffer.alloc(1 + 2 * curve.bytes, 0).fill(4, 0, 1)))!, /not a point/, '(0, 0)');
    assert.throws(() => parsePublicKeyBlob(ecdsaBlob(curve.name, Buffer.from([0]))), /point at infinity: anyone could forge/);
    assert.throws(() => parsePublicKeyBlob(ecdsaBlob(curve.name, Buffer.alloc(1 + curve.bytes, 2))), /compressed/);
    assert.throws(() => parsePublicKeyBlob(ecdsaBlob(curve.name, Buffer.alloc(2 * curve.bytes, 4))), /not an uncompressed/);
    for (let i = 0; i < 50; i++) {
      const key = sshPublicKey(generateKey({ type: 'ec', namedCurve: curve.node }).publicKey);
      assert.equal(publicKeyValueProblem(key.blob), undefined);
      assert.ok(parsePublicKeyBlob(key.blob).keyObject.asymmetricKeyType === 'ec');
    }
  }
  for (const other of ['nistp192', 'nistp224', 'secp256k1', 'brainpoolP256r1']) {
    assert.throws(() => parsePublicKeyBlob(ecdsaBlob(other, Buffer.alloc(65, 4))), /unsupported ECDSA key/);
  }
});

test('rsa: exponent and modulus bounds, hand-built at and around each limit', () => {
  const n = realModulus();
  const cases: Array<[bigint, bigint, RegExp | undefined]> = [
    [0n, n, /exponent 0 is not allowed .*anyone could forge/],
    [1n, n, /exponent 1 is not allowed \(must be odd, 3\.\.2\^32\): anyone could forge signatures for this key/],
    [2n, n, /exponent 2 is not allowed/],
    [3n, n, undefined],
    [65537n, n, undefined],
    [2n ** 32n - 1n, n, undefined],
    [2n ** 32n, n, /exponent 4294967296 is not allowed/],
    [2n ** 32n + 1n, n, /exponent 4294967297 is not allowed .*Go x\/crypto\/ssh/],
    [2n ** 600n + 1n, n, /exponent of 601 bits is not allowed/],
    [65537n, n - 1n, /modulus is even/],
    [65537n, 0n, /modulus is even/],
    [65537n, oddOfBits(2047), /2047 bits is too small/],
    [65537n, oddOfBits(2048), undefined],
    [65537n, oddOfBits(16384), undefined],
    [65537n, oddOfBits(16385), /16385 bits is too large .*OpenSSH refuses/],
  ];
  for (let i = 0; i < 200; i++) {
    cases.push([2n * BigInt(randomInt(2 ** 47)), n, /is not allowed/]);
    cases.push([2n ** 32n + 1n + 2n * BigInt(randomInt(2 ** 47)), n, /is not allowed/]);
    cases.push([2n * BigInt(randomInt(1, 2 ** 31)) + 1n, n, undefined]);
    cases.push([65537n, oddOfBits(randomInt(1, 2048)), /too small/]);
  }
  for (const [e, modulus, want] of cases) {
    const { key } = parsePublicKeyBlob(rsaBlob(e, modulus));
    if (want === undefined) assert.doesNotThrow(() => checkPublicKeyValue(key), `e=${e}`);
    else assert.throws(() => checkPublicKeyValue(key), (err: Error) => err instanceof KeyFormatError && want.test(err.message) && !err.message.includes('\n'), `e=${e} bits=${modulus.toString(2).length}`);
  }
});

test('OpenSSH itself calls a certificate for an RSA key over 16384 bits invalid, as the check says', () => {
  const dir = tempDir();
  const { key } = parsePublicKeyBlob(rsaBlob(65537n, oddOfBits(16392)));
  const cert = signCertificate({ key, nonce: Buffer.alloc(32), serial: 1n, type: 'user', keyId: 'big', principals: ['u'], validAfter: 0n, validBefore: 2n ** 40n, criticalOptions: [], extensions: [] }, generatePrivateKey('ed25519'));
  fs.writeFileSync(path.join(dir, 'big-cert.pub'), `ssh-rsa-cert-v01@openssh.com ${cert.toString('base64')}\n`);
  const r = openssh('ssh-keygen', ['-L', '-f', path.join(dir, 'big-cert.pub')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /invalid format/);
  assert.match(lintCertificate(parseCertificate(cert), { now: new Date() }).map((f) => `${f.level} ${f.code} ${f.message}`).join('\n'), /^error invalid-key the certified key is refused: RSA key of 16392 bits is too large/m);
});

test('lint: a certificate "signed" by an RSA CA key with e = 1 needs no private key, and is an invalid-ca-key error', () => {
  // With e = 1 the signature is the padded digest itself (RFC 8017 §8.2.1, §9.2): anyone can make one.
  const n = realModulus();
  const caBlob = rsaBlob(1n, n);
  const subject = sshPublicKey(generatePrivateKey('ed25519'));
  const throwaway = generatePrivateKey('ed25519');
  const real = signCertificate({ key: subject, nonce: Buffer.alloc(32), serial: 1n, type: 'user', keyId: 'root', principals: ['root'], validAfter: 0n, validBefore: 2n ** 40n, criticalOptions: [], extensions: [] }, throwaway);
  const tbs = Buffer.concat([real.subarray(0, real.lastIndexOf(lengthPrefixed(sshPublicKey(throwaway).blob))), lengthPrefixed(caBlob)]);
  const digestInfo = Buffer.concat([Buffer.from('3051300d060960864801650304020305000440', 'hex'), createHash('sha512').update(tbs).digest()]);
  const k = Math.ceil(n.toString(2).length / 8);
  const em = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(k - digestInfo.length - 3, 0xff), Buffer.from([0]), digestInfo]);
  const cert = Buffer.concat([tbs, lengthPrefixed(Buffer.concat([lengthPrefixed(Buffer.from('rsa-sha2-512')), lengthPrefixed(em)]))]);
  // node:crypto verifies the forgery (OpenSSL does not refuse e = 1), so only the lint stands in the way.
  const parsed = parseCertificate(cert);
  const findings = lintCertificate(parsed, { now: new Date() });
  assert.ok(findings.some((f) => f.level === 'error' && f.code === 'invalid-ca-key' && /exponent 1 .*anyone could forge/.test(f.message)), JSON.stringify(findings));
});

const lengthPrefixed = (b: Buffer): Buffer => {
  const l = Buffer.alloc(4);
  l.writeUInt32BE(b.length);
  return Buffer.concat([l, b]);
};

test('the key path never exports JWK: every type is generated, exported, parsed and verified through DER', () => {
  const proto = Object.getPrototypeOf(generateKey({ type: 'ed25519' }).publicKey) as { export: (o?: { format?: string }) => unknown };
  const original = proto.export;
  proto.export = function (this: unknown, o?: { format?: string }) {
    if (o?.format === 'jwk') throw new Error('JWK export on the key path');
    return original.call(this, o);
  };
  try {
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as KeyType[]) {
      const key = generatePrivateKey(type);
      const pub = sshPublicKey(key);
      assert.match(openSshPrivateKey(key, 'c'), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      const cert = signCertificate({ key: pub, nonce: Buffer.alloc(32), serial: 1n, type: 'host', keyId: 'h', principals: ['h'], validAfter: 0n, validBefore: 2n ** 40n, criticalOptions: [], extensions: [] }, key);
      assert.equal(parseCertificate(cert).key.blob.toString('base64'), pub.blob.toString('base64'));
    }
  } finally {
    proto.export = original;
  }
});

test('DER: the reader refuses what is not definite-length DER; the writer round-trips integers', () => {
  const bad = ['', '30', '3081', '308000', '30850000000001', '300201', '0201ff', '020100ff'];
  for (const hex of bad) {
    assert.throws(() => {
      const r = new DerReader(Buffer.from(hex, 'hex'));
      const tag = Buffer.from(hex, 'hex')[0];
      if (tag === TAG.INTEGER) r.unsigned();
      else new DerReader(r.element(TAG.SEQUENCE)).unsigned();
      r.end();
    }, DerError, hex);
  }
  for (let i = 0; i < 500; i++) {
    const v = randomBytes(randomInt(0, 600));
    const r = new DerReader(derElement(TAG.SEQUENCE, Buffer.concat([derUnsigned(v), derUnsigned(Buffer.from([0x80]))])));
    const seq = new DerReader(r.element(TAG.SEQUENCE));
    const got = seq.unsigned();
    const want = v.subarray(v.findIndex((b) => b !== 0) < 0 ? Math.max(v.length - 1, 0) : v.findIndex((b) => b !== 0));
    assert.equal(got.toString('hex'), want.length === 0 ? '00' : want.toString('hex'));
    assert.equal(seq.unsigned().toString('hex'), '80');
    seq.end();
    r.end();
  }
  const rsa = generateKey({ type: 'rsa', modulusLength: 2048 }).publicKey;
  const der = rsa.export({ type: 'pkcs1', format: 'der' });
  const seq = new DerReader(new DerReader(der).element(TAG.SEQUENCE));
  const [n, e] = [seq.unsigned(), seq.unsigned()];
  const rebuilt = derElement(TAG.SEQUENCE, Buffer.concat([derUnsigned(n), derUnsigned(e)]));
  assert.ok(createPublicKey({ key: rebuilt, format: 'der', type: 'pkcs1' }).equals(rsa));
});

test("the written-out Ed25519 d is -121665/121666 mod p (RFC 8032 §5.1)", () => {
  assert.equal(SRC_D25519, D25519);
  assert.equal((SRC_D25519 * 121666n + 121665n) % P25519, 0n);
});
