// The X.509 v3 extensions tctl writes (RFC 5280 §4.2) and the key identifier they share.
import { createHash } from 'node:crypto';
import { type Asn1, bitStringBytes, bool, children, fromDer, implicitPrimitive, namedBits, octets, oid, seq, toDer, uint } from './forge.js';
import { type AltNames, generalNames } from './names.js';

export const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  cRLReason: '2.5.29.21',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;
export type ExtendedKeyUsage = keyof typeof EKU;

/** keyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;
export type KeyUsage = keyof typeof KEY_USAGE_BITS;

function extension(extnId: string, critical: boolean, value: Asn1): Asn1 {
  // DEFAULT FALSE is omitted in DER (X.690 §11.5).
  return seq([oid(extnId), ...(critical ? [bool(true)] : []), octets(toDer(value))]);
}

/** Critical, as RFC 5280 §4.2.1.9 requires for CA certificates; leaves get an empty SEQUENCE (cA FALSE). */
export function basicConstraints(isCa: boolean): Asn1 {
  return extension(EXT.basicConstraints, true, seq(isCa ? [bool(true)] : []));
}

export function keyUsage(usages: KeyUsage[]): Asn1 {
  return extension(EXT.keyUsage, true, namedBits(usages.map((u) => KEY_USAGE_BITS[u])));
}

export function extKeyUsage(usages: ExtendedKeyUsage[]): Asn1 {
  return extension(EXT.extKeyUsage, false, seq(usages.map((u) => oid(EKU[u]))));
}

/** Critical when the subject is empty (RFC 5280 §4.2.1.6); ours always has a CN, so not critical. */
export function subjectAltName(names: AltNames): Asn1 {
  return extension(EXT.subjectAltName, false, generalNames(names));
}

export function subjectKeyIdentifier(keyId: Buffer): Asn1 {
  return extension(EXT.subjectKeyIdentifier, false, octets(keyId));
}

/** keyIdentifier only ([0] IMPLICIT), the form OpenSSL and Go both match against the issuer's SKI. */
export function authorityKeyIdentifier(keyId: Buffer): Asn1 {
  return extension(EXT.authorityKeyIdentifier, false, seq([implicitPrimitive(0, keyId)]));
}

export function crlNumber(n: bigint): Asn1 {
  return extension(EXT.cRLNumber, false, uint(n));
}

/**
 * RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits. Same
 * length as RFC 5280's SHA-1 method, without SHA-1 (unavailable in FIPS builds).
 */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, subjectPublicKey] = children(fromDer(spki, 'public key'), 'SubjectPublicKeyInfo');
  if (!subjectPublicKey) throw new Error('SubjectPublicKeyInfo without a key');
  return createHash('sha256').update(bitStringBytes(subjectPublicKey)).digest().subarray(0, 20);
}
