// Key generation whose RSA and EC keys share nothing with the job that made them. On Node 20 the
// KeyObjects generateKeyPairSync returns share a lock with its generation job; when garbage
// collection destroys the job while a call on one of its keys holds that lock and allocates
// (asymmetricKeyDetails of an RSA or EC key does: the exponent, the curve's name), the process
// deadlocks for good. Seen as `tctl auth init` hanging forever on its RSA TLS CA keys, and as a
// CI run stuck in ~KeyGenJob<EcKeyGenTraits> in the key soak (test/unit/keygen-soak.test.ts);
// reproduced with a small young generation (test/unit/keygen-deadlock.test.ts), where plain
// generateKeyPairSync hangs within a few thousand P-256 keys in most runs. RSA and EC keys are
// therefore asked for as DER and imported, which gives them a lock of their own (~0.4 ms a key,
// against ~50 ms to generate an RSA key and ~0.1 ms for P-256). Ed25519 keys have no details to
// allocate, and tctl never exports keys as JWK (which allocates under the lock): 120,000 of them
// under the same pressure never hung, so they skip the import, which costs 10x their generation.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type GenerateSpec = { type: 'ed25519' } | { type: 'ec'; namedCurve: 'P-256' | 'P-384' | 'P-521' } | { type: 'rsa'; modulusLength: number };

export function generateKey(spec: GenerateSpec): { privateKey: KeyObject; publicKey: KeyObject } {
  if (spec.type === 'ed25519') return generateKeyPairSync('ed25519');
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'der' } as const;
  const der =
    spec.type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: spec.namedCurve, publicKeyEncoding, privateKeyEncoding }).privateKey
      : generateKeyPairSync('rsa', { modulusLength: spec.modulusLength, publicExponent: 65537, publicKeyEncoding, privateKeyEncoding }).privateKey;
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
