// A CaSigner seen by the SSH code and by the X.509 code. Each adapter frames the raw signature the
// way its format wants, byte for byte what src/ssh/keys.ts sshSign and src/x509/signer.ts
// signerFromKeyObject produce from an in-process key:
//   SSH  (RFC 4253 §6.6 framing): ssh-ed25519; rsa-sha2-512 (RFC 8332); ecdsa r and s as two mpints (RFC 5656 §3.1.2).
//   X.509: Ed25519 (RFC 8410); RSA PKCS#1 v1.5 with SHA-256; ECDSA as a DER Ecdsa-Sig-Value (RFC 5480).
import type { KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { type SshPublicKey, type SshSigner, sshPublicKey } from '../ssh/keys.js';
import { SshWriter } from '../ssh/wire.js';
import { seq, toDer, uint } from '../x509/forge.js';
import type { X509Signer } from '../x509/signer.js';
import { type CaSigner, ecdsaScalarBytes } from './signer.js';

/**
 * A CA key as the SSH code needs it: its SSH public key (worked out once) and a signature-blob
 * maker. It is a src/ssh SshSigner, so signCertificate takes it as it is, token keys included.
 */
export interface SshCaSigner extends SshSigner {
  readonly publicKey: SshPublicKey;
  /** The full SSH signature blob (string algorithm, string signature) over data. */
  sign(data: Buffer): Buffer;
  /** Present for in-process keys (what a worker thread can be handed). */
  readonly key?: KeyObject;
}

/** The SSH signature blob of a CaSigner over data; the same bytes sshSign makes for deterministic keys. */
export function sshSignature(ca: CaSigner, publicKey: SshPublicKey, data: Buffer): Buffer {
  switch (ca.keyType) {
    case 'ed25519':
      return new SshWriter().string('ssh-ed25519').string(ca.signRaw('ed25519', data)).toBuffer();
    case 'rsa':
      return new SshWriter().string('rsa-sha2-512').string(ca.signRaw('rsa-pkcs1-sha512', data)).toBuffer();
    case 'ecdsa-p256':
    case 'ecdsa-p384': {
      const n = ecdsaScalarBytes(ca.keyType);
      const rs = ca.signRaw(ca.keyType === 'ecdsa-p256' ? 'ecdsa-sha256' : 'ecdsa-sha384', data);
      if (rs.length !== 2 * n) throw new TctlError(`the CA key returned an ECDSA signature of ${rs.length} bytes, expected ${2 * n}`);
      const inner = new SshWriter().mpint(rs.subarray(0, n)).mpint(rs.subarray(n)).toBuffer();
      return new SshWriter().string(publicKey.type).string(inner).toBuffer();
    }
  }
}

export function toSshSigner(ca: CaSigner): SshCaSigner {
  const publicKey = sshPublicKey(ca.publicKey);
  const sign = (data: Buffer): Buffer => sshSignature(ca, publicKey, data);
  return ca.privateKey ? { publicKey, sign, key: ca.privateKey } : { publicKey, sign };
}

/** The X.509 signature algorithm of a CaSigner; P-384 has no X.509 profile here (src/x509 signs P-256, RSA, Ed25519). */
export function toX509Signer(ca: CaSigner): X509Signer {
  switch (ca.keyType) {
    case 'ed25519':
      return { publicKey: ca.publicKey, algorithm: 'ed25519', sign: (tbs) => ca.signRaw('ed25519', tbs) };
    case 'rsa':
      return { publicKey: ca.publicKey, algorithm: 'rsa-pkcs1-sha256', sign: (tbs) => ca.signRaw('rsa-pkcs1-sha256', tbs) };
    case 'ecdsa-p256':
      return { publicKey: ca.publicKey, algorithm: 'ecdsa-p256-sha256', sign: (tbs) => p1363ToDer(ca.signRaw('ecdsa-sha256', tbs), 32) };
    case 'ecdsa-p384':
      throw new TctlError('unsupported CA key for X.509: EC key on curve secp384r1', { hint: 'TLS CA keys are ECDSA P-256, RSA (2048 bits or more) or Ed25519' });
  }
}

/** r||s (each n bytes) as the DER SEQUENCE { r INTEGER, s INTEGER } that X.509 carries. */
export function p1363ToDer(rs: Buffer, n: number): Buffer {
  if (rs.length !== 2 * n) throw new TctlError(`the CA key returned an ECDSA signature of ${rs.length} bytes, expected ${2 * n}`);
  const int = (b: Buffer) => uint(BigInt('0x' + b.toString('hex')));
  return toDer(seq([int(rs.subarray(0, n)), int(rs.subarray(n))]));
}
