// The CA keys of a data dir as records and files: creating an SSH CA key, loading one to sign, and
// which keys the rotation phase has sign and trust (for SSH and TLS records alike).
import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { PHASE_TABLE } from '../rotation/phases.js';
import { fingerprint, generatePrivateKey, sshPublicKey } from '../ssh/keys.js';
import type { KeyType } from '../ssh/keys.js';
import { MAX_DATA_FILE_BYTES, fileError, readFileCapped, writeFileAtomic } from '../store/files.js';
import { CA_TYPES, KEYS_DIR, statePath } from '../store/state.js';
import type { AuthorityOf, CaKeyRecord, CaType, State } from '../store/state.js';

/** Creates a new CA key, writes its private half (0600) and returns its record. */
export function createCaKey(dataDir: string, caType: CaType, keyType: KeyType, now: Date): CaKeyRecord {
  const key = generatePrivateKey(keyType);
  const pub = sshPublicKey(key);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.join(KEYS_DIR, `${caType}-ca-${stamp}-${fingerprint(pub.blob).slice(7, 15).replace(/[/+]/g, '_')}.pem`);
  const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileAtomic(path.join(dataDir, file), pem, { mode: 0o600, overwrite: false });
  return { keyType, publicKey: pub.blob.toString('base64'), fingerprint: fingerprint(pub.blob), file, createdAt: now.toISOString() };
}

/** Loads a CA private key and checks it is the key state.json says it is. */
export function loadCaKey(dataDir: string, record: CaKeyRecord): KeyObject {
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
  if (fingerprint(sshPublicKey(key).blob) !== record.fingerprint) {
    throw new TctlError(`CA key ${file} does not match ${statePath(dataDir)} (expected ${record.fingerprint})`, {
      hint: 'restore the data dir from a backup',
    });
  }
  return key;
}

/**
 * Checks that every trusted CA key of these types still has a readable private key that matches
 * its record, so nothing is exported from a data dir that could no longer sign.
 */
export function checkTrustedKeys(dataDir: string, state: State, types: readonly CaType[] = CA_TYPES): void {
  for (const t of types) for (const record of trustedKeyRecords(state.authorities[t])) loadCaKey(dataDir, record);
}

/** The key that signs new certificates of this type in the current rotation phase. */
export function signingKeyRecord<K>(auth: AuthorityOf<K>): K {
  return auth[PHASE_TABLE[auth.rotation.phase].signer]!;
}

/** The keys OpenSSH must trust for this CA type now (what exports list), signer first. */
export function trustedKeyRecords<K>(auth: AuthorityOf<K>): K[] {
  return PHASE_TABLE[auth.rotation.phase].trusted.map((slot) => auth[slot]).filter((k): k is K => k !== undefined);
}

