// Key generation whose keys share nothing with the job that made them. On Node 20 the KeyObjects
// generateKeyPairSync returns share a lock with its generation job; when garbage collection
// destroys that job while the lock is held by a call that allocates under it (asymmetricKeyDetails
// of an RSA or EC key, a JWK export), the process deadlocks for good: seen as `tctl auth init`
// hanging forever on an RSA key. RSA and EC keys are therefore asked for as DER and imported,
// which gives them a lock of their own (~0.3 ms, against 50 ms for an RSA key and once per
// command for an EC one). Ed25519 keys have no details to read and tctl never exports keys as
// JWK; 100,000 of them generated and exported in one process is the soak test that says so.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type GenerateSpec = { type: 'ed25519' } | { type: 'ec'; namedCurve: 'P-256' | 'P-384' | 'P-521' } | { type: 'rsa'; modulusLength: number };

export function generateKey(spec: GenerateSpec): { privateKey: KeyObject; publicKey: KeyObject } {
  if (spec.type === 'ed25519') return generateKeyPairSync('ed25519');
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKey =
    spec.type === 'ec'
      ? createPrivateKey({
          key: generateKeyPairSync('ec', { namedCurve: spec.namedCurve, publicKeyEncoding, privateKeyEncoding: { type: 'sec1', format: 'der' } }).privateKey,
          format: 'der',
          type: 'sec1',
        })
      : createPrivateKey({
          key: generateKeyPairSync('rsa', { modulusLength: spec.modulusLength, publicExponent: 65537, publicKeyEncoding, privateKeyEncoding: { type: 'pkcs1', format: 'der' } }).privateKey,
          format: 'der',
          type: 'pkcs1',
        });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
