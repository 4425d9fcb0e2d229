// The one way X.509 code gets a signature: a Signer over the to-be-signed DER, like Go's
// crypto.Signer behind x509.CreateCertificate. An in-process key implements it here; a PKCS#11
// key can implement the same three members (its private key never enters this process).
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { type Asn1, nullValue, oid, seq } from './forge.js';

export const SIGNATURE_ALGORITHMS = ['ecdsa-p256-sha256', 'rsa-pkcs1-sha256', 'ed25519'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export interface X509Signer {
  /** The CA's public key: goes into the CA certificate and its key identifiers. */
  readonly publicKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  /** Signs the DER bytes as they are (hashing is part of the algorithm): ECDSA returns a DER Ecdsa-Sig-Value, RSA a PKCS#1 v1.5 signature. */
  sign(tbs: Buffer): Buffer;
}

export const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  md5WithRSA: '1.2.840.113549.1.1.4',
  ed25519: '1.3.101.112',
} as const;

/** What the DER signatureAlgorithm says, mapped to how node:crypto verifies it; SHA-1/MD5 are known but refused. */
const VERIFIABLE: Record<string, { name: string; hash: string | null; kind: 'rsa' | 'ec' | 'ed25519' }> = {
  [OID.ecdsaWithSHA256]: { name: 'ecdsa-with-SHA256', hash: 'sha256', kind: 'ec' },
  [OID.ecdsaWithSHA384]: { name: 'ecdsa-with-SHA384', hash: 'sha384', kind: 'ec' },
  [OID.ecdsaWithSHA512]: { name: 'ecdsa-with-SHA512', hash: 'sha512', kind: 'ec' },
  [OID.sha256WithRSA]: { name: 'sha256WithRSAEncryption', hash: 'sha256', kind: 'rsa' },
  [OID.sha384WithRSA]: { name: 'sha384WithRSAEncryption', hash: 'sha384', kind: 'rsa' },
  [OID.sha512WithRSA]: { name: 'sha512WithRSAEncryption', hash: 'sha512', kind: 'rsa' },
  [OID.ed25519]: { name: 'ED25519', hash: null, kind: 'ed25519' },
};

const WEAK: Record<string, string> = {
  [OID.sha1WithRSA]: 'sha1WithRSAEncryption',
  [OID.ecdsaWithSHA1]: 'ecdsa-with-SHA1',
  [OID.md5WithRSA]: 'md5WithRSAEncryption',
};

/** The name OpenSSL prints for a signature algorithm OID, or the OID itself. */
export function signatureAlgorithmName(algOid: string): string {
  return VERIFIABLE[algOid]?.name ?? WEAK[algOid] ?? algOid;
}

export function isWeakSignatureAlgorithm(algOid: string): boolean {
  return algOid in WEAK;
}

/**
 * AlgorithmIdentifier for a signature (RFC 5758 §3.2 for ECDSA and RFC 8410 §3 for Ed25519: no
 * parameters; RFC 4055 §5: RSA carries an explicit NULL).
 */
export function algorithmIdentifier(algorithm: SignatureAlgorithm): Asn1 {
  switch (algorithm) {
    case 'ecdsa-p256-sha256':
      return seq([oid(OID.ecdsaWithSHA256)]);
    case 'rsa-pkcs1-sha256':
      return seq([oid(OID.sha256WithRSA), nullValue()]);
    case 'ed25519':
      return seq([oid(OID.ed25519)]);
  }
}

/** The signature algorithm a CA key signs with, or an error naming what is supported. */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new TctlError(`RSA CA key of ${bits} bits is too weak: at least 2048 bits are required`);
    return 'rsa-pkcs1-sha256';
  }
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256-sha256';
  const what = type === 'ec' ? `EC key on curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}` : `${type ?? 'unknown'} key`;
  throw new TctlError(`unsupported CA key for X.509: ${what}`, { hint: 'TLS CA keys are ECDSA P-256, RSA (2048 bits or more) or Ed25519' });
}

function nodeHash(algorithm: SignatureAlgorithm): string | null {
  return algorithm === 'ed25519' ? null : 'sha256';
}

/** A Signer over a private key held by this process (node:crypto does the signing). */
export function signerFromKeyObject(privateKey: KeyObject): X509Signer {
  if (privateKey.type !== 'private') throw new TctlError('a CA signer needs a private key');
  const algorithm = algorithmForKey(privateKey);
  const hash = nodeHash(algorithm);
  const publicKey = createPublicKey(privateKey);
  // dsaEncoding 'der': X.509 ECDSA signatures are the DER Ecdsa-Sig-Value (RFC 5480), not raw r||s.
  return { publicKey, algorithm, sign: (tbs) => cryptoSign(hash, tbs, { key: privateKey, dsaEncoding: 'der' }) };
}

/**
 * Checks a signature found in a certificate, CSR or CRL. Refuses (throws) SHA-1/MD5 and unknown
 * algorithms; returns false only when the signature does not verify.
 */
export function verifySignature(algOid: string, publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (WEAK[algOid]) throw new TctlError(`signature algorithm ${WEAK[algOid]} is too weak`, { hint: 'sign with SHA-256 or better' });
  const alg = VERIFIABLE[algOid];
  if (!alg) throw new TctlError(`unsupported signature algorithm ${algOid}`);
  const keyKind = publicKey.asymmetricKeyType;
  if (keyKind !== alg.kind) throw new TctlError(`signature algorithm ${alg.name} does not match the ${keyKind ?? 'unknown'} key`);
  try {
    return cryptoVerify(alg.hash, data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
