// The TLS CA keys of a store: creating one (key file, then its CA certificate), loading one to
// sign, and the CA certificates a rotation phase trusts. Loaded only by TLS paths (it pulls in
// src/x509); the SSH side passes makeTlsKey into authority.ts where a rotation needs it.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { toX509Signer } from '../keys/adapters.js';
import type { CaKeyType, CaSigner } from '../keys/signer.js';
import { KEYS_DIR, statePath } from '../store/state.js';
import type { AuthorityOf, Retired, TlsKeyRecord } from '../store/state.js';
import {
  createCaCertificate, decodeCertificates, generateX509Key, issuerFromCertificate, signerFromKeyObject,
  type DecodedCertificate, type Issuer, type X509Signer,
} from '../x509/index.js';
import type { X509KeyType } from '../x509/types.js';
import { createStoredKey, openCaKey, tlsFingerprintOf } from './key-access.js';
import { trustedKeyRecords, type TlsKeyMaker } from './authority.js';
import type { CaStore } from '../store/ca-store.js';

/** Teleport's CA pin: "sha256:" and the hex SHA-256 of the SubjectPublicKeyInfo DER. */
export function caPin(spki: Buffer): string {
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const TLS_CA_KEY_TYPES: Record<X509KeyType, CaKeyType> = { 'ecdsa-p256': 'ecdsa-p256', 'rsa-2048': 'rsa', 'rsa-3072': 'rsa', 'rsa-4096': 'rsa', ed25519: 'ed25519' };

/** The X.509 signer of a CA key: node:crypto's own for in-process keys, the raw-signature adapter for token keys. */
const x509SignerOf = (signer: CaSigner): X509Signer => (signer.privateKey ? signerFromKeyObject(signer.privateKey) : toX509Signer(signer));

export const makeTlsKey: TlsKeyMaker = (store, clusterName, ca, keyType, now, storage) => {
  if (keyType === 'ed25519') {
    throw new TctlError(`refusing an Ed25519 key for the TLS ${ca} CA: not every TLS stack accepts Ed25519 certificates`, {
      hint: 'use --ca-key-type=ecdsa or --ca-key-type=rsa',
    });
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const created = createStoredKey(store, {
    storage,
    keyType: TLS_CA_KEY_TYPES[keyType],
    rsaBits: keyType.startsWith('rsa-') ? Number(keyType.slice(4)) : undefined,
    generate: () => generateX509Key(keyType).privateKey,
    clusterName,
    caName: `tls-${ca.replace('_', '-')}`,
    fileName: (pub) => path.join(KEYS_DIR, `tls-${ca}-ca-${stamp}-${tlsFingerprintOf(pub).slice(7, 15)}.pem`),
  });
  const signer = created.signer;
  const x509 = x509SignerOf(signer);
  const cert = createCaCertificate({ clusterName, signer: x509, now });
  return { keyType, certificate: cert.pem, fingerprint: tlsFingerprintOf(signer.publicKey), ...created.stored, createdAt: now.toISOString() };
};
/** The CA certificate of a record, checked to be the key its pin names (state.json is only checked by shape on load). */
export function caCertificate(store: CaStore, record: TlsKeyRecord | Retired<TlsKeyRecord>): DecodedCertificate {
  const certs = decodeCertificates(record.certificate, 'a CA certificate in state.json');
  const cert = certs[0];
  if (certs.length !== 1 || !cert || !cert.isCA || caPin(cert.spki) !== record.fingerprint) {
    throw new TctlError(`${statePath(store)} is damaged: the TLS CA certificate of ${record.fingerprint} does not match its pin`, {
      hint: 'restore the CA from a backup',
    });
  }
  return cert;
}

/** Opens a TLS CA key (file, encrypted file or token) and binds it to its CA certificate, refusing a key that is not the one state.json names. */
export function loadTlsIssuer(store: CaStore, record: TlsKeyRecord): Issuer {
  const cert = caCertificate(store, record);
  const signer = openCaKey(store, record, tlsFingerprintOf);
  return issuerFromCertificate(cert.der, x509SignerOf(signer));
}

/** The PEM of every CA certificate this CA's phase trusts, signer first: what exports and `.cas` files carry. */
export function trustedCaPems(store: CaStore, auth: AuthorityOf<TlsKeyRecord>): string[] {
  return trustedKeyRecords(auth).map((r) => {
    caCertificate(store, r);
    return r.certificate;
  });
}
