// The CA keys of a store as records and key files: creating an SSH CA key, loading one to sign, and
// which keys the rotation phase has sign and trust (for SSH and TLS records alike).
import type { KeyObject } from 'node:crypto';
import * as path from 'node:path';
import type { CaKeyType, CaSigner } from '../keys/signer.js';
import { PHASE_TABLE } from '../rotation/phases.js';
import { RSA_GENERATED_BITS, fingerprint, generatePrivateKey, sshPublicKey } from '../ssh/keys.js';
import type { KeyType } from '../ssh/keys.js';
import { CA_TYPES, KEYS_DIR } from '../store/state.js';
import { type KeyStorage, checkCaKey, createStoredKey, openCaKey } from './key-access.js';
import type { AuthorityOf, CaKeyRecord, CaType, State } from '../store/state.js';
import type { CaStore } from '../store/ca-store.js';

const SSH_CA_KEY_TYPES: Record<KeyType, CaKeyType> = { ed25519: 'ed25519', ecdsa: 'ecdsa-p256', rsa: 'rsa' };

/** The SSH fingerprint of a CA public key (how SSH records name their key). */
export const sshFingerprintOf = (publicKey: KeyObject): string => fingerprint(sshPublicKey(publicKey).blob);

/**
 * Creates a new CA key where `storage` says (a file, an encrypted file, the token), its private
 * half stored before any state names it, and returns its record.
 */
export function createCaKey(store: CaStore, caType: CaType, keyType: KeyType, now: Date, where: { storage: KeyStorage; clusterName: string }): CaKeyRecord {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const { signer, stored } = createStoredKey(store, {
    storage: where.storage,
    keyType: SSH_CA_KEY_TYPES[keyType],
    rsaBits: keyType === 'rsa' ? RSA_GENERATED_BITS : undefined,
    generate: () => generatePrivateKey(keyType),
    clusterName: where.clusterName,
    caName: caType,
    fileName: (pub) => path.join(KEYS_DIR, `${caType}-ca-${stamp}-${sshFingerprintOf(pub).slice(7, 15).replace(/[/+]/g, '_')}.pem`),
  });
  const pub = sshPublicKey(signer.publicKey);
  return { keyType, publicKey: pub.blob.toString('base64'), fingerprint: fingerprint(pub.blob), ...stored, createdAt: now.toISOString() };
}

/** A signer for a CA key, checked to be the key state.json says it is (a file, an encrypted file or a token key). */
export function loadCaKey(store: CaStore, record: CaKeyRecord): CaSigner {
  return openCaKey(store, record, sshFingerprintOf);
}

/**
 * Checks that every trusted CA key of these types still has a readable private key that matches
 * its record, so nothing is exported from a CA that could no longer sign.
 */
export function checkTrustedKeys(store: CaStore, state: State, types: readonly CaType[] = CA_TYPES): void {
  for (const t of types) for (const record of trustedKeyRecords(state.authorities[t])) checkCaKey(store, record, sshFingerprintOf);
}

/** The key that signs new certificates of this type in the current rotation phase. */
export function signingKeyRecord<K>(auth: AuthorityOf<K>): K {
  return auth[PHASE_TABLE[auth.rotation.phase].signer]!;
}

/** The keys OpenSSH must trust for this CA type now (what exports list), signer first. */
export function trustedKeyRecords<K>(auth: AuthorityOf<K>): K[] {
  return PHASE_TABLE[auth.rotation.phase].trusted.map((slot) => auth[slot]).filter((k): k is K => k !== undefined);
}

