// How one command reaches the CA private keys: PEM in the store's keys/ (plain or passphrase-encrypted)
// or a PKCS#11 token. The CLI configures it once per command (the passphrase read or asked once,
// the token settings resolved) and closes it when the command ends; the core opens records' keys
// and stores new ones through it, so signing, rotation and checks never care where a key lives.
//
// One PKCS#11 session per command: opened on first use, closed by closeCaKeyAccess (the CLI calls
// it in a finally). Decrypted keys are kept for the command too, so a batch pays scrypt once.
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { decryptPrivateKeyPem, encryptPrivateKeyPem, encryptedKeyParams, isEncryptedPem } from '../keys/encrypted.js';
import type { Pkcs11Config } from '../keys/pkcs11-config.js';
import type { Pkcs11Token } from '../keys/pkcs11.js';
import { type CaKeyType, type CaSigner, inProcessSigner } from '../keys/signer.js';
import { statePath } from '../store/state.js';
import type { Pkcs11Ref, StoredKey } from '../store/state.js';
import type { CaStore } from '../store/ca-store.js';

/** Where a CA key is kept: a plain PEM file, a passphrase-encrypted PEM file, or a PKCS#11 token. */
export const KEY_STORAGES = ['file', 'encrypted', 'pkcs11'] as const;
export type KeyStorage = (typeof KEY_STORAGES)[number];

export interface CaKeyAccessSettings {
  /** opens encrypted key files and encrypts new ones */
  passphrase?: Buffer;
  /** the token, when PKCS#11 is configured */
  pkcs11?: Pkcs11Config;
  /** how the keys of a new data dir are stored (auth init); rotations follow the key they replace */
  newKeys?: KeyStorage;
}

let settings: CaKeyAccessSettings = {};
let token: Pkcs11Token | undefined;
const decrypted = new Map<string, KeyObject>();
let openToken: ((config: Pkcs11Config) => Pkcs11Token) | undefined;

/**
 * Sets how this command reaches the CA keys. openTokenFn is src/keys/pkcs11.ts Pkcs11Token.open,
 * passed in by the caller so commands without PKCS#11 never load that module.
 */
export function configureCaKeyAccess(s: CaKeyAccessSettings, openTokenFn?: (config: Pkcs11Config) => Pkcs11Token): void {
  closeCaKeyAccess();
  settings = s;
  openToken = openTokenFn;
}

/** Closes the token session and forgets the passphrase and decrypted keys. Safe to call twice. */
export function closeCaKeyAccess(): void {
  const t = token;
  token = undefined;
  decrypted.clear();
  settings.passphrase?.fill(0);
  settings = {};
  t?.close();
}

export function newKeyStorage(): KeyStorage {
  return settings.newKeys ?? 'file';
}

export function hasPassphrase(): boolean {
  return settings.passphrase !== undefined;
}

/** How a key record is stored (state.json records it; a file's own header is checked on load). */
export function storageOf(record: StoredKey): KeyStorage {
  return record.pkcs11 ? 'pkcs11' : record.encrypted ? 'encrypted' : 'file';
}

/** The open token session, opened on first use. */
export function tokenSession(why: string): Pkcs11Token {
  if (token) return token;
  if (!settings.pkcs11 || !openToken) {
    throw new TctlError(`${why} needs the PKCS#11 token, and PKCS#11 is not configured`, {
      hint: 'set auth_service.ca_key_params.pkcs11 in teleport.yaml (--config) or TCTL_PKCS11_MODULE, TCTL_PKCS11_TOKEN_LABEL and TCTL_PKCS11_PIN_FILE',
    });
  }
  token = openToken(settings.pkcs11);
  return token;
}

function needPassphrase(file: string): Buffer {
  if (!settings.passphrase) {
    throw new TctlError(`CA key ${file} is passphrase-protected and no passphrase was given`, {
      hint: 'pass --passphrase-file FILE or set TCTL_CA_PASSPHRASE_FILE=FILE (on a terminal tctl asks)',
    });
  }
  return settings.passphrase;
}

/** How the caller names a key in its record: the SSH fingerprint or the TLS pin of a public key. */
export type FingerprintOf = (publicKey: KeyObject) => string;

/** Teleport's CA pin of a public key (sha256 of its SubjectPublicKeyInfo DER): how TLS records name their key. */
export const tlsFingerprintOf: FingerprintOf = (publicKey) => `sha256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex')}`;

function mismatch(where: string, record: StoredKey, stateWhere: string): TctlError {
  return new TctlError(`CA key ${where} does not match ${stateWhere} (expected ${record.fingerprint})`, { hint: 'restore the CA from a backup' });
}

/**
 * A signer for the key a record names, checked to be that key. Encrypted files need the
 * passphrase; a file state.json calls encrypted must be encrypted (a plain one in its place is a
 * swapped file), while an encrypted file in a plain record is accepted: `auth protect` encrypts
 * the files before it saves the state that says so.
 */
export function openCaKey(store: CaStore, record: StoredKey, fingerprintOf: FingerprintOf): CaSigner {
  if (record.pkcs11) {
    const ref = record.pkcs11;
    const signer = tokenSession(`CA key "${ref.label}"`).findKey(ref.id);
    if (fingerprintOf(signer.publicKey) !== record.fingerprint) throw mismatch(`"${ref.id}" in PKCS#11 ${ref.token}`, record, statePath(store));
    return signer;
  }
  if (!record.file) throw new TctlError(`the CA key ${record.fingerprint} is retired and cannot sign`);
  return fileSigner(store.locate(record.file), store.getKey(record.file), record, fingerprintOf, statePath(store));
}

/** The signer of a key file already read, matched to its record; decrypted keys are kept for the command. */
function fileSigner(file: string, pem: string, record: StoredKey, fingerprintOf: FingerprintOf, stateWhere: string): CaSigner {
  const encrypted = isEncryptedPem(pem);
  if (record.encrypted && !encrypted) {
    throw new TctlError(`CA key ${file} is not encrypted, but ${stateWhere} says it is`, { hint: 'the file was replaced: restore the CA from a backup' });
  }
  let key = decrypted.get(file);
  if (!key) {
    if (encrypted) {
      key = decryptPrivateKeyPem(pem, needPassphrase(file), `CA key ${file}`);
    } else {
      try {
        key = createPrivateKey(pem);
      } catch {
        throw new TctlError(`CA key ${file} is damaged: not a readable private key`, { hint: 'restore the CA from a backup' });
      }
    }
  }
  const signer = inProcessSigner(key, { kind: 'file', encrypted });
  if (fingerprintOf(signer.publicKey) !== record.fingerprint) throw mismatch(file, record, stateWhere);
  if (encrypted) decrypted.set(file, key);
  return signer;
}

/**
 * What `tctl status` and exports can say of a key without the passphrase: the file is there and
 * its encryption header is sound. With the passphrase (or for plain files and token keys) the key
 * is opened and matched to its record.
 */
export function checkCaKey(store: CaStore, record: StoredKey, fingerprintOf: FingerprintOf): { storage: KeyStorage; checked: boolean } {
  const storage = storageOf(record);
  let signer: CaSigner;
  if (record.file && !record.pkcs11) {
    // One read serves both the header check and the key itself.
    const file = store.locate(record.file);
    const pem = store.getKey(record.file);
    if (!settings.passphrase && isEncryptedPem(pem)) {
      encryptedKeyParams(pem, `CA key ${file}`);
      return { storage: 'encrypted', checked: false };
    }
    signer = fileSigner(file, pem, record, fingerprintOf, statePath(store));
  } else {
    signer = openCaKey(store, record, fingerprintOf);
  }
  return { storage: signer.location.kind === 'pkcs11' ? 'pkcs11' : signer.location.kind === 'file' && signer.location.encrypted ? 'encrypted' : storage, checked: true };
}

/** Where a CA key lives, for `tctl status` (text and JSON); the key is checked as checkCaKey does. */
export interface KeyWhere {
  storage: KeyStorage;
  file?: string;
  token?: string;
  id?: string;
  label?: string;
  /** false for an encrypted file checked without the passphrase (its header only) */
  checked: boolean;
  text: string;
}

export function keyWhere(store: CaStore, record: StoredKey, fingerprintOf: FingerprintOf): KeyWhere {
  const { storage, checked } = checkCaKey(store, record, fingerprintOf);
  if (record.pkcs11) {
    const { token: t, id, label } = record.pkcs11;
    return { storage, token: t, id, label, checked, text: `PKCS#11 ${t}, label "${label}"` };
  }
  const text = storage === 'encrypted' ? `encrypted file ${record.file}${checked ? '' : ' (not opened: no passphrase given)'}` : `file ${record.file}`;
  return { storage, file: record.file, checked, text };
}

export interface NewKeySpec {
  storage: KeyStorage;
  keyType: CaKeyType;
  rsaBits?: number;
  /** generates the key in this process (file and encrypted storage) */
  generate: () => KeyObject;
  clusterName: string;
  /** names the key in the token: "user", "host", "tls-db", ... */
  caName: string;
  /** the file name (relative to the data dir) for a key held in a file, from its public key */
  fileName: (publicKey: KeyObject) => string;
}

/**
 * Creates a CA key where spec.storage says and writes its private half (0600, never over an
 * existing file) before any state names it. Returns a signer and the record's storage fields.
 */
export function createStoredKey(store: CaStore, spec: NewKeySpec): { signer: CaSigner; stored: { file?: string; encrypted?: true; pkcs11?: Pkcs11Ref } } {
  if (spec.storage === 'pkcs11') {
    const signer = tokenSession(`a new ${spec.caName} CA key`).generateKey(spec.keyType, { clusterName: spec.clusterName, caType: spec.caName, rsaBits: spec.rsaBits });
    return { signer, stored: { pkcs11: { token: signer.ref.token, id: signer.ref.id, label: signer.ref.label } } };
  }
  const key = spec.generate();
  const signer = inProcessSigner(key, { kind: 'file', encrypted: spec.storage === 'encrypted' });
  const file = spec.fileName(signer.publicKey);
  const pem = spec.storage === 'encrypted' ? encryptPrivateKeyPem(key, needPassphrase(file)) : (key.export({ type: 'pkcs8', format: 'pem' }) as string);
  store.putKey(file, pem, { overwrite: false });
  if (spec.storage === 'encrypted') decrypted.set(store.locate(file), key);
  return { signer, stored: spec.storage === 'encrypted' ? { file, encrypted: true } : { file } };
}

/**
 * How a rotation stores the key that replaces `current`: the same way. For an encrypted key the
 * passphrase is checked on the current key first, so the new key is never locked with a typo.
 */
export function storageLike(store: CaStore, current: StoredKey, fingerprintOf: FingerprintOf): KeyStorage {
  const storage = storageOf(current);
  if (storage === 'encrypted') openCaKey(store, current, fingerprintOf);
  return storage;
}

/** Puts a decrypted key in the cache under its file (auth protect re-encrypts what it just read). */
export function rememberKey(file: string, key: KeyObject): void {
  decrypted.set(file, key);
}
