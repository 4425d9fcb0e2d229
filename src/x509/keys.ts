// TLS key types: which key each CA and each leaf gets (Teleport's balanced-v1 suite), generation,
// PEM output, and the strength check every public key passes before it is certified.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { generateKey } from '../keys/generate.js';
import { TctlError, allowedValues } from '../errors.js';

export { CA_KEY_TYPES, TLS_CAS, X509_KEY_TYPES, type TlsCa, type X509KeyType } from './types.js';
import { type X509KeyType, X509_KEY_TYPES } from './types.js';

export { LEAF_PROFILES, type LeafProfile } from './types.js';
import type { LeafProfile } from './types.js';

/** Keys tctl generates for `auth sign`: databases get RSA-2048 (what each of them accepts), TLS users and hosts P-256. */
export const LEAF_KEY_TYPES: Record<LeafProfile, X509KeyType> = {
  'tls-user': 'ecdsa-p256',
  'tls-host': 'ecdsa-p256',
  'db-server': 'rsa-2048',
  'db-client': 'rsa-2048',
  'cockroachdb-node': 'rsa-2048',
};

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateX509Key(type: X509KeyType): KeyPair {
  switch (type) {
    case 'ecdsa-p256':
      return generateKey({ type: 'ec', namedCurve: 'P-256' });
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return generateKey({ type: 'rsa', modulusLength: Number(type.slice(4)) });
    case 'ed25519':
      return generateKey({ type: 'ed25519' });
    default:
      throw new TctlError(`unknown key type "${String(type)}"; allowed values: ${allowedValues(X509_KEY_TYPES)}`);
  }
}

/** PKCS#8 PEM (`BEGIN PRIVATE KEY`): read by OpenSSL, PostgreSQL, Go, Java and Node alike. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export { spkiDer } from './spki.js';

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const MAX_RSA_BITS = 16384;

/** Type and size in OpenSSL's words, e.g. `ECDSA P-256`, `RSA 2048`. */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA ${d.modulusLength ?? '?'}`;
    case 'ec':
      return `ECDSA ${CURVES[d.namedCurve ?? ''] ?? d.namedCurve ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/** Why a public key must not be certified, or undefined when it is fine. */
export function weakKeyReason(key: KeyObject): string | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = d.modulusLength ?? 0;
      if (bits < 2048) return `RSA key of ${bits} bits is too weak (at least 2048 bits)`;
      if (bits > MAX_RSA_BITS) return `RSA key of ${bits} bits is larger than ${MAX_RSA_BITS} bits`;
      const e = d.publicExponent ?? 0n;
      // An even or tiny exponent makes RSA insecure or broken (RFC 8017 §3.1: 3 <= e, e odd).
      if (e < 3n || e % 2n === 0n) return `RSA public exponent ${e} is invalid (it must be odd and at least 3)`;
      return undefined;
    }
    case 'ec':
      return CURVES[d.namedCurve ?? ''] ? undefined : `EC curve ${d.namedCurve ?? 'unknown'} is not allowed (P-256, P-384 or P-521)`;
    case 'ed25519':
      return undefined;
    default:
      return `${key.asymmetricKeyType ?? 'unknown'} keys cannot be certified for TLS (RSA, ECDSA or Ed25519)`;
  }
}

export function checkPublicKey(key: KeyObject, what = 'public key'): KeyObject {
  const reason = weakKeyReason(key);
  if (reason) throw new TctlError(`refusing ${what}: ${reason}`);
  return key;
}

/** A PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1), strength-checked. */
export function parsePublicKeyPem(text: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw new TctlError('not a PEM public key', { hint: 'give a PEM "PUBLIC KEY" or a PKCS#10 "CERTIFICATE REQUEST"' });
  }
  return checkPublicKey(key);
}
