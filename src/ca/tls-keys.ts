// The TLS CA keys of a data dir: creating one (key file, then its CA certificate), loading one to
// sign, and the CA certificates a rotation phase trusts. Loaded only by TLS paths (it pulls in
// src/x509); the SSH side passes makeTlsKey into authority.ts where a rotation needs it.
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { MAX_DATA_FILE_BYTES, fileError, readFileCapped, writeFileAtomic } from '../store/files.js';
import { KEYS_DIR, statePath } from '../store/state.js';
import type { AuthorityOf, Retired, TlsKeyRecord } from '../store/state.js';
import {
  createCaCertificate, decodeCertificates, generateX509Key, issuerFromCertificate, privateKeyPem, signerFromKeyObject, spkiDer,
  type DecodedCertificate, type Issuer,
} from '../x509/index.js';
import { trustedKeyRecords, type TlsKeyMaker } from './authority.js';

/** Teleport's CA pin: "sha256:" and the hex SHA-256 of the SubjectPublicKeyInfo DER. */
export function caPin(spki: Buffer): string {
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export const makeTlsKey: TlsKeyMaker = (dataDir, clusterName, ca, keyType, now) => {
  if (keyType === 'ed25519') {
    throw new TctlError(`refusing an Ed25519 key for the TLS ${ca} CA: not every TLS stack accepts Ed25519 certificates`, {
      hint: 'use --ca-key-type=ecdsa or --ca-key-type=rsa',
    });
  }
  const key = generateX509Key(keyType);
  const signer = signerFromKeyObject(key.privateKey);
  const pin = caPin(spkiDer(signer.publicKey));
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.join(KEYS_DIR, `tls-${ca}-ca-${stamp}-${pin.slice(7, 15)}.pem`);
  writeFileAtomic(path.join(dataDir, file), privateKeyPem(key.privateKey), { mode: 0o600, overwrite: false });
  const cert = createCaCertificate({ clusterName, signer, now });
  return { keyType, certificate: cert.pem, fingerprint: pin, file, createdAt: now.toISOString() };
};

/** The CA certificate of a record, checked to be the key its pin names (state.json is only checked by shape on load). */
export function caCertificate(dataDir: string, record: TlsKeyRecord | Retired<TlsKeyRecord>): DecodedCertificate {
  const certs = decodeCertificates(record.certificate, 'a CA certificate in state.json');
  const cert = certs[0];
  if (certs.length !== 1 || !cert || !cert.isCA || caPin(cert.spki) !== record.fingerprint) {
    throw new TctlError(`${statePath(dataDir)} is damaged: the TLS CA certificate of ${record.fingerprint} does not match its pin`, {
      hint: 'restore the data dir from a backup',
    });
  }
  return cert;
}

/** Loads a TLS CA private key and binds it to its CA certificate, refusing a key that is not the one state.json names. */
export function loadTlsIssuer(dataDir: string, record: TlsKeyRecord): Issuer {
  if (!record.file) throw new TctlError(`the TLS CA key ${record.fingerprint} is retired and cannot sign`);
  const file = path.join(dataDir, record.file);
  let pem: string;
  try {
    pem = readFileCapped(file, MAX_DATA_FILE_BYTES).toString('utf8');
  } catch (err) {
    throw fileError('cannot read CA key', file, err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new TctlError(`CA key ${file} is damaged: not a readable private key`, { hint: 'restore the data dir from a backup' });
  }
  const cert = caCertificate(dataDir, record);
  const signer = signerFromKeyObject(key);
  if (caPin(spkiDer(signer.publicKey)) !== record.fingerprint) {
    throw new TctlError(`CA key ${file} does not match ${statePath(dataDir)} (expected ${record.fingerprint})`, { hint: 'restore the data dir from a backup' });
  }
  return issuerFromCertificate(cert.der, signer);
}

/** The PEM of every CA certificate this CA's phase trusts, signer first: what exports and `.cas` files carry. */
export function trustedCaPems(dataDir: string, auth: AuthorityOf<TlsKeyRecord>): string[] {
  return trustedKeyRecords(auth).map((r) => {
    caCertificate(dataDir, r);
    return r.certificate;
  });
}
