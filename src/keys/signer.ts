// One signer for every CA key, wherever the key lives (this process, an encrypted file, a PKCS#11
// token), in the spirit of Go's crypto.Signer: the SSH and X.509 code ask it for a raw signature
// and do their own framing (see adapters.ts), so a token key needs no format code of its own.
import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { TctlError, allowedValues } from '../errors.js';

export const CA_KEY_TYPES = ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa'] as const;
export type CaKeyType = (typeof CA_KEY_TYPES)[number];

/**
 * What signRaw is asked for. ECDSA answers in IEEE P1363 form (r||s, each left-padded to the
 * curve size), which is what PKCS#11's CKM_ECDSA returns; the adapters re-encode it as SSH
 * mpints (RFC 5656 §3.1.2) or a DER Ecdsa-Sig-Value (RFC 5480 §2.2 / RFC 3279 §2.2.3).
 */
export const RAW_SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-sha256', 'ecdsa-sha384', 'rsa-pkcs1-sha256', 'rsa-pkcs1-sha512'] as const;
export type RawSignatureAlgorithm = (typeof RAW_SIGNATURE_ALGORITHMS)[number];

/** Where a CA key lives, for `tctl status` and the audit log. */
export type KeyLocation =
  | { kind: 'memory' }
  | { kind: 'file'; encrypted: boolean }
  | { kind: 'pkcs11'; token: string; id: string; label: string };

export interface CaSigner {
  /** the CA's public key (never the private one) */
  readonly publicKey: KeyObject;
  readonly keyType: CaKeyType;
  readonly location: KeyLocation;
  /** A signature over data (hashing is part of the algorithm); throws TctlError if the key cannot make it. */
  signRaw(algorithm: RawSignatureAlgorithm, data: Buffer): Buffer;
  /** The in-process private key, when there is one: lets today's KeyObject-only code paths use it unchanged. */
  readonly privateKey?: KeyObject;
}

/** The curve size in bytes of an ECDSA key type (the length of r and of s in P1363 form). */
export function ecdsaScalarBytes(keyType: CaKeyType): number {
  if (keyType === 'ecdsa-p256') return 32;
  if (keyType === 'ecdsa-p384') return 48;
  throw new TctlError(`${keyType} is not an ECDSA key type`);
}

/** The algorithms each key type can sign with; anything else is refused before the key is touched. */
export const ALGORITHMS_FOR_KEY: Record<CaKeyType, readonly RawSignatureAlgorithm[]> = {
  ed25519: ['ed25519'],
  'ecdsa-p256': ['ecdsa-sha256'],
  'ecdsa-p384': ['ecdsa-sha384'],
  rsa: ['rsa-pkcs1-sha256', 'rsa-pkcs1-sha512'],
};

export function checkAlgorithm(keyType: CaKeyType, algorithm: RawSignatureAlgorithm): void {
  if (!ALGORITHMS_FOR_KEY[keyType].includes(algorithm)) {
    throw new TctlError(`a ${keyType} key cannot sign with ${algorithm}; allowed: ${allowedValues(ALGORITHMS_FOR_KEY[keyType])}`);
  }
}

/** Smallest RSA CA key accepted anywhere (same floor as src/ssh and src/x509). */
export const RSA_MIN_BITS = 2048;

/** The CaKeyType of a node:crypto key (public or private), or an error naming what is supported. */
export function caKeyTypeOf(key: KeyObject): CaKeyType {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS) throw new TctlError(`RSA CA key of ${bits} bits is too weak: at least ${RSA_MIN_BITS} bits are required`);
    return 'rsa';
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256';
    if (curve === 'secp384r1') return 'ecdsa-p384';
    throw new TctlError(`unsupported CA key: EC key on curve ${curve ?? 'unknown'}`, { hint: `CA keys are ${allowedValues(CA_KEY_TYPES)}` });
  }
  throw new TctlError(`unsupported CA key: ${type ?? 'unknown'} key`, { hint: `CA keys are ${allowedValues(CA_KEY_TYPES)}` });
}

/** node:crypto's digest name for an algorithm (null: Ed25519 hashes internally). */
export function digestOf(algorithm: RawSignatureAlgorithm): 'sha256' | 'sha384' | 'sha512' | null {
  switch (algorithm) {
    case 'ed25519':
      return null;
    case 'ecdsa-sha256':
    case 'rsa-pkcs1-sha256':
      return 'sha256';
    case 'ecdsa-sha384':
      return 'sha384';
    case 'rsa-pkcs1-sha512':
      return 'sha512';
  }
}

/** A CA key held by this process; node:crypto signs. */
export function inProcessSigner(privateKey: KeyObject, location: KeyLocation = { kind: 'memory' }): CaSigner {
  if (privateKey.type !== 'private') throw new TctlError('a CA signer needs a private key');
  const keyType = caKeyTypeOf(privateKey);
  const publicKey = createPublicKey(privateKey);
  return {
    publicKey,
    keyType,
    location,
    privateKey,
    signRaw(algorithm, data) {
      checkAlgorithm(keyType, algorithm);
      return cryptoSign(digestOf(algorithm), data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    },
  };
}
