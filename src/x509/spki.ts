// SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7) of a key, computed once per KeyObject. No JWK
// export: on Node 20.20 a JWK export right after generateKeyPairSync can hang forever (the key
// generation job's destructor runs under GC inside the export). OpenSSL 3's SPKI encoder costs
// ~0.12 ms a call here, so the result is cached (a CA key's SPKI is encoded once per session, a
// leaf's once), and RSA keys skip it: their PKCS#1 export (~6 µs) is exactly the RSAPublicKey that
// RFC 3279 §2.3.1 puts inside the SPKI's BIT STRING.
import type { KeyObject } from 'node:crypto';
import { bitsFromBytes, nullValue, oid, seq, toDer } from './forge.js';

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const cache = new WeakMap<KeyObject, Buffer>();

export function spkiDer(key: KeyObject): Buffer {
  let der = cache.get(key);
  if (!der) {
    der =
      key.asymmetricKeyType === 'rsa'
        ? toDer(seq([seq([oid(RSA_ENCRYPTION), nullValue()]), bitsFromBytes(key.export({ type: 'pkcs1', format: 'der' }))]))
        : key.export({ type: 'spki', format: 'der' });
    cache.set(key, der);
  }
  return der;
}
