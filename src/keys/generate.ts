// Key generation whose RSA keys share nothing with the job that made them. On Node 20 the
// KeyObjects generateKeyPairSync returns share a lock with its generation job; when garbage
// collection destroys the job of an RSA key while asymmetricKeyDetails holds that lock and
// allocates, the process deadlocks for good: seen as `tctl auth init` hanging forever on its
// RSA TLS CA keys, and reproduced in a few hundred keys with a small young generation
// (test/unit/keygen-deadlock.test.ts). RSA keys are therefore asked for as DER and imported,
// which gives them a lock of their own (~0.3 ms, against ~50 ms to generate one). EC and Ed25519
// keys pass the same test as they come (and tctl never exports keys as JWK, which also
// allocates under the lock), so they skip the import, which costs 10x their generation.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type GenerateSpec = { type: 'ed25519' } | { type: 'ec'; namedCurve: 'P-256' | 'P-384' | 'P-521' } | { type: 'rsa'; modulusLength: number };

export function generateKey(spec: GenerateSpec): { privateKey: KeyObject; publicKey: KeyObject } {
  if (spec.type === 'ed25519') return generateKeyPairSync('ed25519');
  if (spec.type === 'ec') return generateKeyPairSync('ec', { namedCurve: spec.namedCurve });
  const der = generateKeyPairSync('rsa', {
    modulusLength: spec.modulusLength,
    publicExponent: 65537,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs1', format: 'der' },
  }).privateKey;
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
