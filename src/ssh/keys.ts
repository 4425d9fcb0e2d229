// SSH public-key blobs, signatures and the openssh-key-v1 private-key format, on node:crypto.
// Formats: RFC 4253 §6.6 (ssh-rsa), RFC 5656 §3.1 (ecdsa), RFC 8709 (ed25519),
// RFC 8332 (rsa-sha2-512), OpenSSH PROTOCOL.key (openssh-key-v1).
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SshReader, SshWriter, WireFormatError } from './wire.js';

/** Key types this tool generates (CA keys and fresh client/host keys). */
export const KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** RSA keys we generate; OpenSSH's own default since 9.x is 3072. */
export const RSA_GENERATED_BITS = 3072;
/** Smallest RSA key we sign; OpenSSH refuses < 1024 and NIST deprecated < 2048. */
export const RSA_MIN_BITS = 2048;

interface EcCurve {
  jwk: 'P-256' | 'P-384' | 'P-521';
  ssh: 'nistp256' | 'nistp384' | 'nistp521';
  hash: 'sha256' | 'sha384' | 'sha512';
  bytes: number;
}
const EC_CURVES: readonly EcCurve[] = [
  { jwk: 'P-256', ssh: 'nistp256', hash: 'sha256', bytes: 32 },
  { jwk: 'P-384', ssh: 'nistp384', hash: 'sha384', bytes: 48 },
  { jwk: 'P-521', ssh: 'nistp521', hash: 'sha512', bytes: 66 },
];

export class KeyFormatError extends Error {}

/** A public key as SSH sees it: its algorithm name and wire blob. */
export interface SshPublicKey {
  /** e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa */
  type: string;
  blob: Buffer;
  /** key size in bits, for messages and lints */
  bits: number;
}

const b64u = (s: string | undefined): Buffer => {
  if (s === undefined) throw new KeyFormatError('key is missing a component');
  return Buffer.from(s, 'base64url');
};
const leftPad = (b: Buffer, n: number): Buffer =>
  b.length >= n ? b : Buffer.concat([Buffer.alloc(n - b.length), b]);

export function generatePrivateKey(type: KeyType): KeyObject {
  switch (type) {
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'ecdsa':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: RSA_GENERATED_BITS }).privateKey;
  }
}

/** The SSH public key of a node:crypto key (public or private). */
export function sshPublicKey(key: KeyObject): SshPublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return { type: 'ssh-ed25519', blob: new SshWriter().string('ssh-ed25519').string(b64u(jwk.x)).toBuffer(), bits: 256 };
  }
  if (jwk.kty === 'EC') {
    const curve = EC_CURVES.find((c) => c.jwk === jwk.crv);
    if (!curve) throw new KeyFormatError(`unsupported elliptic curve ${String(jwk.crv)}`);
    const type = `ecdsa-sha2-${curve.ssh}`;
    const point = Buffer.concat([Buffer.from([4]), leftPad(b64u(jwk.x), curve.bytes), leftPad(b64u(jwk.y), curve.bytes)]);
    return { type, blob: new SshWriter().string(type).string(curve.ssh).string(point).toBuffer(), bits: curve.bytes === 66 ? 521 : curve.bytes * 8 };
  }
  if (jwk.kty === 'RSA') {
    const n = b64u(jwk.n);
    return { type: 'ssh-rsa', blob: new SshWriter().string('ssh-rsa').mpint(b64u(jwk.e)).mpint(n).toBuffer(), bits: bitLength(n) };
  }
  throw new KeyFormatError(`unsupported key type ${String(jwk.kty)}`);
}

function bitLength(magnitude: Buffer): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  return (magnitude.length - i - 1) * 8 + (32 - Math.clz32(magnitude[i]!));
}

/**
 * Parses and validates a public-key blob by loading it into node:crypto, so a point not on
 * its curve or a malformed RSA modulus is refused before we sign anything over it.
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
    let keyObject: KeyObject | undefined;
    let makeKeyObject = (): KeyObject => keyObject!;
    let key: SshPublicKey;
    if (type === 'ssh-ed25519') {
      const x = r.string();
      r.end();
      if (x.length !== 32) throw new KeyFormatError('ed25519 key is not 32 bytes');
      // Any 32 bytes is an ed25519 key to OpenSSH too; the KeyObject is built only if a signature is checked.
      makeKeyObject = () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') }, format: 'jwk' });
      key = { type, blob: new SshWriter().string(type).string(x).toBuffer(), bits: 256 };
    } else if (type.startsWith('ecdsa-sha2-')) {
      const curveName = r.text();
      const point = r.string();
      r.end();
      const curve = EC_CURVES.find((c) => `ecdsa-sha2-${c.ssh}` === type && c.ssh === curveName);
      if (!curve) throw new KeyFormatError(`unsupported ECDSA key ${type}`);
      if (point.length !== 1 + 2 * curve.bytes || point[0] !== 4) throw new KeyFormatError('ECDSA point is not an uncompressed point');
      keyObject = createPublicKey({
        key: {
          kty: 'EC',
          crv: curve.jwk,
          x: point.subarray(1, 1 + curve.bytes).toString('base64url'),
          y: point.subarray(1 + curve.bytes).toString('base64url'),
        },
        format: 'jwk',
      });
      key = { type, blob: new SshWriter().string(type).string(curve.ssh).string(point).toBuffer(), bits: curve.bytes === 66 ? 521 : curve.bytes * 8 };
    } else if (type === 'ssh-rsa') {
      const e = r.mpint();
      const n = r.mpint();
      r.end();
      keyObject = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
      key = { type, blob: new SshWriter().string(type).mpint(e).mpint(n).toBuffer(), bits: bitLength(n) };
    } else {
      throw new KeyFormatError(`unsupported key type ${type}`);
    }
    // The blob is rebuilt from its parts so that what we embed is canonical (e.g. no padded mpints).
    return {
      key,
      get keyObject() {
        return (keyObject ??= makeKeyObject());
      },
    };
  } catch (err) {
    if (err instanceof KeyFormatError) throw err;
    if (err instanceof WireFormatError) throw new KeyFormatError(`malformed ${type} key: ${err.message}`);
    throw new KeyFormatError(`invalid ${type} key`);
  }
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

/** A private key with its SSH public key worked out once (deriving it costs more than an ed25519 signature). */
export interface SshSigner {
  key: KeyObject;
  publicKey: SshPublicKey;
}

export function sshSigner(key: KeyObject | SshSigner): SshSigner {
  return 'publicKey' in key ? key : { key, publicKey: sshPublicKey(key) };
}

/** An SSH signature blob (RFC 4253 §6.6 framing) over data. */
export function sshSign(signer: KeyObject | SshSigner, data: Buffer): Buffer {
  const { key: privateKey, publicKey: pub } = sshSigner(signer);
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
  const jwk = privateKey.export({ format: 'jwk' });
  const priv = new SshWriter().uint32(checkInt).uint32(checkInt);
  if (pub.type === 'ssh-ed25519') {
    const x = b64u(jwk.x);
    priv.string('ssh-ed25519').string(x).string(Buffer.concat([b64u(jwk.d), x]));
  } else if (pub.type === 'ssh-rsa') {
    priv
      .string('ssh-rsa')
      .mpint(b64u(jwk.n))
      .mpint(b64u(jwk.e))
      .mpint(b64u(jwk.d))
      .mpint(b64u(jwk.qi))
      .mpint(b64u(jwk.p))
      .mpint(b64u(jwk.q));
  } else {
    const r = new SshReader(pub.blob);
    r.string();
    const curveName = r.string();
    const point = r.string();
    priv.string(pub.type).string(curveName).string(point).mpint(b64u(jwk.d));
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
