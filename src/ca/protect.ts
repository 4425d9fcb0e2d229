// auth protect / auth unprotect: encrypt a store's CA key files under a passphrase, or decrypt
// them back, under the lock and audited. Each file is replaced atomically (temp file, fsync,
// rename). The order keeps every crash readable: protect encrypts the files before state.json
// says they are, unprotect says they are not before it decrypts them. Either way a crash leaves
// encrypted files in plain records, which every command opens with the passphrase (the CLI
// asks for it when it finds an encrypted file), and rerunning the command finishes the job.
import { TctlError } from '../errors.js';
import { encryptPrivateKeyPem } from '../keys/encrypted.js';
import { audited } from '../store/audit.js';
import { CA_TYPES, loadState, saveState } from '../store/state.js';
import type { State, StoredKey } from '../store/state.js';
import { TLS_CAS } from '../x509/types.js';
import { sshFingerprintOf } from './ca-keys.js';
import { type FingerprintOf, openCaKey, tlsFingerprintOf } from './key-access.js';
import type { CaStore } from '../store/ca-store.js';

interface LiveKey {
  record: StoredKey;
  fingerprintOf: FingerprintOf;
  /** replaces the record's storage fields in a state copy */
  set: (s: State, fields: { encrypted?: true }) => void;
}

/** The keys that can still sign (current and next of every CA) and are held in files. */
function liveFileKeys(state: State): LiveKey[] {
  const out: LiveKey[] = [];
  const slots = ['current', 'next'] as const;
  for (const t of CA_TYPES) {
    for (const slot of slots) {
      const record = state.authorities[t][slot];
      if (!record?.file) continue;
      out.push({
        record,
        fingerprintOf: sshFingerprintOf,
        set: (s, fields) => {
          const { encrypted: _e, ...rest } = s.authorities[t][slot]!;
          s.authorities[t] = { ...s.authorities[t], [slot]: { ...rest, ...fields } };
        },
      });
    }
  }
  for (const t of TLS_CAS) {
    for (const slot of slots) {
      const record = state.tls?.[t]?.[slot];
      if (!record?.file) continue;
      out.push({
        record,
        fingerprintOf: tlsFingerprintOf,
        set: (s, fields) => {
          const a = s.tls![t]!;
          const { encrypted: _e, ...rest } = a[slot]!;
          s.tls = { ...s.tls, [t]: { ...a, [slot]: { ...rest, ...fields } } };
        },
      });
    }
  }
  return out;
}

const copy = (s: State): State => ({ ...s, authorities: { ...s.authorities }, ...(s.tls ? { tls: { ...s.tls } } : {}) });

export interface ProtectResult {
  /** fingerprints of the keys this call changed */
  changed: string[];
  /** fingerprints of the keys that were already as asked */
  unchanged: string[];
}

/**
 * Encrypts (protect) or decrypts (unprotect) every live CA key file. Every key is opened first
 * (the key access must hold the passphrase whenever any file is encrypted), so a wrong
 * passphrase or a damaged key stops the command before anything is written.
 */
export function setKeyProtection(store: CaStore, mode: 'protect' | 'unprotect', passphrase: Buffer | undefined): ProtectResult {
  return store.withLock(() =>
    audited(store, mode === 'protect' ? 'auth protect' : 'auth unprotect', () => {
      const state = loadState(store, { allowDamagedSchedule: true });
      const keys = liveFileKeys(state);
      if (keys.length === 0) {
        throw new TctlError('there is no CA key file to change: the CA keys are in a PKCS#11 token', { hint: 'a token protects its keys itself' });
      }
      const opened = keys.map((k) => ({ ...k, signer: openCaKey(store, k.record, k.fingerprintOf) }));
      const want = mode === 'protect';
      const isEncrypted = (o: (typeof opened)[number]) => o.signer.location.kind === 'file' && o.signer.location.encrypted;
      const todo = opened.filter((o) => isEncrypted(o) !== want);
      const stateTodo = opened.filter((o) => (o.record.encrypted === true) !== want);
      const after = copy(state);
      for (const o of opened) o.set(after, want ? { encrypted: true } : {});
      const rewrite = () => {
        for (const o of todo) {
          const key = o.signer.privateKey!;
          const content = want ? encryptPrivateKeyPem(key, passphrase!) : (key.export({ type: 'pkcs8', format: 'pem' }) as string);
          store.putKey(o.record.file!, content, { overwrite: true });
        }
      };
      if (want && !passphrase) throw new Error('setKeyProtection: protect needs a passphrase');
      if (want) {
        rewrite();
        if (stateTodo.length > 0) saveState(store, after);
      } else {
        if (stateTodo.length > 0) saveState(store, after);
        rewrite();
      }
      const changed = opened.filter((o) => todo.includes(o) || stateTodo.includes(o)).map((o) => o.record.fingerprint);
      const unchanged = opened.map((o) => o.record.fingerprint).filter((f) => !changed.includes(f));
      return {
        result: { changed, unchanged },
        what: {
          ...(want ? { encryption: 'PBES2 scrypt (N=16384, r=8, p=5) AES-256-CBC' } : {}),
          changed,
          unchanged,
        },
      };
    }),
  );
}
