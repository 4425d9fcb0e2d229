// SSH public-key blobs, signatures and the openssh-key-v1 private-key format, on node:crypto.
// Formats: RFC 4253 §6.6 (ssh-rsa), RFC 5656 §3.1 (ecdsa), RFC 8709 (ed25519),
// RFC 8332 (rsa-sha2-512), OpenSSH PROTOCOL.key (openssh-key-v1).
import { createHash, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { generateKey } from '../keys/generate.js';
import type { KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { DerError, DerReader, TAG, derElement, derUnsigned } from './der.js';
import { publicKeyValueProblem } from './key-values.js';
import { SshReader, SshWriter, WireFormatError } from './wire.js';

/** Key types this tool generates (CA keys and fresh client/host keys). */
export const KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** RSA keys we generate; OpenSSH's own default since 9.x is 3072. */
export const RSA_GENERATED_BITS = 3072;
export { RSA_MAX_BITS, RSA_MIN_BITS } from './key-values.js';

interface EcCurve {
  ssh: 'nistp256' | 'nistp384' | 'nistp521';
  hash: 'sha256' | 'sha384' | 'sha512';
  bytes: number;
  /** DER of the curve's OID (RFC 5480 §2.1.1.1) */
  oid: Buffer;
}
const EC_CURVES: readonly EcCurve[] = [
  { ssh: 'nistp256', hash: 'sha256', bytes: 32, oid: Buffer.from('06082a8648ce3d030107', 'hex') },
  { ssh: 'nistp384', hash: 'sha384', bytes: 48, oid: Buffer.from('06052b81040022', 'hex') },
  { ssh: 'nistp521', hash: 'sha512', bytes: 66, oid: Buffer.from('06052b81040023', 'hex') },
];
/** DER of the algorithm OIDs in SPKI / PKCS#8 (RFC 8410 §3, RFC 5480 §2.1.1). */
const OID_ED25519 = Buffer.from('06032b6570', 'hex');
const OID_EC_PUBLIC_KEY = Buffer.from('06072a8648ce3d0201', 'hex');

export class KeyFormatError extends Error {}

/** A public key as SSH sees it: its algorithm name and wire blob. */
export interface SshPublicKey {
  /** e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa */
  type: string;
  blob: Buffer;
  /** key size in bits, for messages and lints */
  bits: number;
}

const leftPad = (b: Buffer, n: number): Buffer =>
  b.length >= n ? b : Buffer.concat([Buffer.alloc(n - b.length), b]);
const ecBits = (curve: EcCurve): number => (curve.bytes === 66 ? 521 : curve.bytes * 8);

export function generatePrivateKey(type: KeyType): KeyObject {
  switch (type) {
    case 'ed25519':
      return generateKey({ type: 'ed25519' }).privateKey;
    case 'ecdsa':
      return generateKey({ type: 'ec', namedCurve: 'P-256' }).privateKey;
    case 'rsa':
      return generateKey({ type: 'rsa', modulusLength: RSA_GENERATED_BITS }).privateKey;
  }
}

/** SPKI (RFC 5280 §4.1): SEQUENCE { SEQUENCE { algorithm OID, parameters }, BIT STRING key }. */
function readSpki(der: Buffer): { algorithm: Buffer; parameters: Buffer | undefined; key: Buffer } {
  const outer = new DerReader(der);
  const spki = new DerReader(outer.element(TAG.SEQUENCE));
  outer.end();
  const alg = new DerReader(spki.element(TAG.SEQUENCE));
  const algorithm = derElement(TAG.OID, alg.element(TAG.OID));
  const parameters = alg.peek() === TAG.OID ? derElement(TAG.OID, alg.element(TAG.OID)) : undefined;
  const bits = spki.element(TAG.BIT_STRING);
  spki.end();
  if (bits[0] !== 0) throw new DerError('public key BIT STRING has unused bits');
  return { algorithm, parameters, key: bits.subarray(1) };
}

/** The SSH public key of a node:crypto key (public or private), from its DER export. */
export function sshPublicKey(key: KeyObject): SshPublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  try {
    if (pub.asymmetricKeyType === 'rsa') {
      const r = new DerReader(pub.export({ type: 'pkcs1', format: 'der' }));
      const seq = new DerReader(r.element(TAG.SEQUENCE));
      const n = seq.unsigned();
      const e = seq.unsigned();
      return { type: 'ssh-rsa', blob: new SshWriter().string('ssh-rsa').mpint(e).mpint(n).toBuffer(), bits: bitLength(n) };
    }
    const spki = readSpki(pub.export({ type: 'spki', format: 'der' }));
    if (spki.algorithm.equals(OID_ED25519) && spki.key.length === 32) {
      return { type: 'ssh-ed25519', blob: new SshWriter().string('ssh-ed25519').string(spki.key).toBuffer(), bits: 256 };
    }
    if (spki.algorithm.equals(OID_EC_PUBLIC_KEY)) {
      const curve = EC_CURVES.find((c) => spki.parameters?.equals(c.oid));
      if (!curve) throw new KeyFormatError('unsupported elliptic curve');
      const type = `ecdsa-sha2-${curve.ssh}`;
      return { type, blob: new SshWriter().string(type).string(curve.ssh).string(spki.key).toBuffer(), bits: ecBits(curve) };
    }
  } catch (err) {
    if (err instanceof DerError) throw new KeyFormatError(`unexpected key encoding from node:crypto: ${err.message}`);
    throw err;
  }
  throw new KeyFormatError(`unsupported key type ${String(pub.asymmetricKeyType)}`);
}

function bitLength(magnitude: Buffer): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  return (magnitude.length - i - 1) * 8 + (32 - Math.clz32(magnitude[i]!));
}

const spkiKeyObject = (algorithm: Buffer, key: Buffer): KeyObject =>
  createPublicKey({ key: derElement(TAG.SEQUENCE, Buffer.concat([algorithm, derElement(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), key]))])), format: 'der', type: 'spki' });

/**
 * Parses a public-key blob: its structure (known type and curve, lengths, an uncompressed point,
 * no trailing bytes), not its values, so that `auth inspect` can still show a certificate for a
 * worthless key; checkPublicKeyValue judges those. The KeyObject is built (from DER) only when
 * a signature is checked, and node:crypto then refuses an EC point off its curve on its own.
 */
export function parsePublicKeyBlob(blob: Buffer): { key: SshPublicKey; keyObject: KeyObject } {
  const r = new SshReader(blob);
  let type: string;
  try {
    type = r.text();
  } catch {
    throw new KeyFormatError('not an SSH public key');
  }
  try {
    let makeKeyObject: () => KeyObject;
    let key: SshPublicKey;
    if (type === 'ssh-ed25519') {
      const x = r.string();
      r.end();
      if (x.length !== 32) throw new KeyFormatError('ed25519 key is not 32 bytes');
      makeKeyObject = () => spkiKeyObject(derElement(TAG.SEQUENCE, OID_ED25519), x);
      key = { type, blob: new SshWriter().string(type).string(x).toBuffer(), bits: 256 };
    } else if (type.startsWith('ecdsa-sha2-')) {
      const curveName = r.text();
      const point = r.string();
      r.end();
      const curve = EC_CURVES.find((c) => `ecdsa-sha2-${c.ssh}` === type && c.ssh === curveName);
      if (!curve) throw new KeyFormatError(`unsupported ECDSA key ${type} (curve ${curveName}); allowed: nistp256, nistp384, nistp521`);
      if (point.length === 1 && point[0] === 0) throw new KeyFormatError('ECDSA key is the point at infinity: anyone could forge signatures for this key');
      if (point[0] === 2 || point[0] === 3) throw new KeyFormatError('ECDSA point is compressed; OpenSSH accepts only uncompressed points');
      if (point.length !== 1 + 2 * curve.bytes || point[0] !== 4) throw new KeyFormatError(`ECDSA point is not an uncompressed ${curve.ssh} point`);
      makeKeyObject = () => spkiKeyObject(derElement(TAG.SEQUENCE, Buffer.concat([OID_EC_PUBLIC_KEY, curve.oid])), point);
      key = { type, blob: new SshWriter().string(type).string(curve.ssh).string(point).toBuffer(), bits: ecBits(curve) };
    } else if (type === 'ssh-rsa') {
      const e = r.mpint();
      const n = r.mpint();
      r.end();
      makeKeyObject = () => createPublicKey({ key: derElement(TAG.SEQUENCE, Buffer.concat([derUnsigned(n), derUnsigned(e)])), format: 'der', type: 'pkcs1' });
      key = { type, blob: new SshWriter().string(type).mpint(e).mpint(n).toBuffer(), bits: bitLength(n) };
    } else {
      throw new KeyFormatError(`unsupported key type ${type}`);
    }
    let keyObject: KeyObject | undefined;
    // The blob is rebuilt from its parts so that what we embed is canonical (e.g. no padded mpints).
    return {
      key,
      get keyObject() {
        try {
          return (keyObject ??= makeKeyObject());
        } catch {
          throw new KeyFormatError(`invalid ${type} key`);
        }
      },
    };
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    if (err instanceof WireFormatError) throw new KeyFormatError(`malformed ${type} key: ${err.message}`);
    throw new KeyFormatError(`invalid ${type} key`);
  }
}

/**
 * Refuses a key whose numbers make it worthless or forgeable (RSA e = 1, an ed25519
 * small-order point, an ECDSA point off its curve, ...): call it wherever a key comes in
 * to be certified, revoked or trusted. The message says why, in one line.
 */
export function checkPublicKeyValue(key: SshPublicKey): void {
  const problem = publicKeyValueProblem(key.blob);
  if (problem !== undefined) throw new KeyFormatError(problem);
}

/** OpenSSH's fingerprint: SHA256:<unpadded base64 of the blob's SHA-256>. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** An authorized_keys-style line: `<type> <base64> [comment]`. */
export function publicKeyLine(type: string, blob: Buffer, comment?: string): string {
  return comment ? `${type} ${blob.toString('base64')} ${comment}` : `${type} ${blob.toString('base64')}`;
}

/** The SSH signature algorithm a CA key signs with; RSA is always rsa-sha2-512, never SHA-1. */
export function signatureAlgorithm(key: SshPublicKey): string {
  return key.type === 'ssh-rsa' ? 'rsa-sha2-512' : key.type;
}

/**
 * A CA key with its SSH public key worked out once (deriving it costs more than an ed25519
 * signature): an in-process private key, or a sign function for a key this process does not hold
 * (a PKCS#11 token). sign, when present, is used; it must return the full signature blob.
 */
export interface SshSigner {
  key?: KeyObject;
  publicKey: SshPublicKey;
  sign?(data: Buffer): Buffer;
}

export function sshSigner(key: KeyObject | SshSigner): SshSigner {
  return 'publicKey' in key ? key : { key, publicKey: sshPublicKey(key) };
}

/** An SSH signature blob (RFC 4253 §6.6 framing) over data. */
export function sshSign(signer: KeyObject | SshSigner, data: Buffer): Buffer {
  const s = sshSigner(signer);
  if (s.sign) return s.sign(data);
  const { key: privateKey, publicKey: pub } = s;
  if (!privateKey) throw new TctlError('internal error: an SSH signer has neither a key nor a sign function');
  if (pub.type === 'ssh-ed25519') {
    return new SshWriter().string('ssh-ed25519').string(sign(null, data, privateKey)).toBuffer();
  }
  if (pub.type === 'ssh-rsa') {
    return new SshWriter().string('rsa-sha2-512').string(sign('sha512', data, privateKey)).toBuffer();
  }
  const curve = EC_CURVES.find((c) => `ecdsa-sha2-${c.ssh}` === pub.type)!;
  // RFC 5656 §3.1.2: r and s as two mpints, not the DER that node:crypto emits by default.
  const rs = sign(curve.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const inner = new SshWriter().mpint(rs.subarray(0, curve.bytes)).mpint(rs.subarray(curve.bytes)).toBuffer();
  return new SshWriter().string(pub.type).string(inner).toBuffer();
}

/** Verifies an SSH signature blob made by sshSign (or by OpenSSH) with the given public key blob. */
export function sshVerify(publicBlob: Buffer, data: Buffer, signature: Buffer): { ok: boolean; algorithm: string } {
  const { key, keyObject } = parsePublicKeyBlob(publicBlob);
  const r = new SshReader(signature);
  const algorithm = r.text();
  const sig = r.string();
  r.end();
  if (key.type === 'ssh-ed25519') {
    return { ok: algorithm === 'ssh-ed25519' && verify(null, data, keyObject, sig), algorithm };
  }
  if (key.type === 'ssh-rsa') {
    const hash = { 'rsa-sha2-512': 'sha512', 'rsa-sha2-256': 'sha256', 'ssh-rsa': 'sha1' }[algorithm];
    return { ok: hash !== undefined && verify(hash, data, keyObject, sig), algorithm };
  }
  const curve = EC_CURVES.find((c) => `ecdsa-sha2-${c.ssh}` === key.type)!;
  if (algorithm !== key.type) return { ok: false, algorithm };
  const ir = new SshReader(sig);
  const rr = ir.mpint();
  const ss = ir.mpint();
  ir.end();
  if (rr.length > curve.bytes || ss.length > curve.bytes) return { ok: false, algorithm };
  const p1363 = Buffer.concat([leftPad(rr, curve.bytes), leftPad(ss, curve.bytes)]);
  return { ok: verify(curve.hash, data, { key: keyObject, dsaEncoding: 'ieee-p1363' }, p1363), algorithm };
}

/**
 * An unencrypted openssh-key-v1 private key (PROTOCOL.key), the format ssh and ssh-keygen
 * read; node:crypto cannot write it and OpenSSH cannot read Node's PKCS#8 ed25519.
 */
export function openSshPrivateKey(privateKey: KeyObject, comment: string, checkInt = randomBytes(4).readUInt32BE()): string {
  const pub = sshPublicKey(privateKey);
  const priv = new SshWriter().uint32(checkInt).uint32(checkInt);
  try {
    if (pub.type === 'ssh-ed25519') {
      // PKCS#8 (RFC 5208 §5, RFC 8410 §7): the private key is an OCTET STRING inside the OCTET STRING.
      const outer = new DerReader(privateKey.export({ type: 'pkcs8', format: 'der' }));
      const p8 = new DerReader(outer.element(TAG.SEQUENCE));
      p8.unsigned();
      p8.element(TAG.SEQUENCE);
      const seed = new DerReader(p8.element(TAG.OCTET_STRING)).element(TAG.OCTET_STRING);
      if (seed.length !== 32) throw new DerError('ed25519 private key is not 32 bytes');
      const x = new SshReader(pub.blob);
      x.string();
      const a = x.string();
      priv.string('ssh-ed25519').string(a).string(Buffer.concat([seed, a]));
    } else if (pub.type === 'ssh-rsa') {
      // RSAPrivateKey (RFC 8017 A.1.2): version, n, e, d, p, q, dP, dQ, qInv; OpenSSH wants n e d iqmp p q.
      const outer = new DerReader(privateKey.export({ type: 'pkcs1', format: 'der' }));
      const k = new DerReader(outer.element(TAG.SEQUENCE));
      const [, n, e, d, p, q, , , qi] = Array.from({ length: 9 }, () => k.unsigned());
      priv.string('ssh-rsa').mpint(n!).mpint(e!).mpint(d!).mpint(qi!).mpint(p!).mpint(q!);
    } else {
      // ECPrivateKey (RFC 5915 §3): version 1, then the scalar as an OCTET STRING.
      const outer = new DerReader(privateKey.export({ type: 'sec1', format: 'der' }));
      const k = new DerReader(outer.element(TAG.SEQUENCE));
      k.unsigned();
      const scalar = k.element(TAG.OCTET_STRING);
      const r = new SshReader(pub.blob);
      r.string();
      const curveName = r.string();
      const point = r.string();
      priv.string(pub.type).string(curveName).string(point).mpint(scalar);
    }
  } catch (err) {
    if (err instanceof DerError) throw new KeyFormatError(`unexpected private key encoding from node:crypto: ${err.message}`);
    throw err;
  }
  priv.string(comment);
  // Pad to the cipher block size ("none" uses 8) with 1, 2, 3, ...
  for (let i = 1; priv.length % 8 !== 0; i++) priv.byte(i);
  const body = new SshWriter()
    .raw(Buffer.from('openssh-key-v1\0', 'latin1'))
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(pub.blob)
    .string(priv.toBuffer())
    .toBuffer()
    .toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
