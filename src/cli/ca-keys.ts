// Before a command touches CA private keys: find out where they are (state.json and the key files'
// own headers), get the passphrase once if any file is encrypted (file, env, or a masked prompt on
// a terminal), check it on one key before anything is written, and hand the PKCS#11 settings to the
// core. After the command: close the token session (main.ts calls closeCaKeys in a finally).
import { sshFingerprintOf } from '../ca/ca-keys.js';
import { closeCaKeyAccess, configureCaKeyAccess, type KeyStorage, openCaKey, tlsFingerprintOf } from '../ca/key-access.js';
import { UsageError } from '../errors.js';
import { isEncryptedPem } from '../keys/encrypted.js';
import { type Pkcs11Config, pkcs11FromEnv, resolvePkcs11Config } from '../keys/pkcs11-config.js';
import { choosePassphraseSource, type PassphraseSource, PASSPHRASE_FILE_ENV, readSecretFile } from '../keys/secrets.js';
import { CA_TYPES, loadState } from '../store/state.js';
import type { State, StoredKey } from '../store/state.js';
import { type GlobalOptions, resolveContext } from './context.js';
import type { CaStore } from '../store/ca-store.js';

/**
 * What a command does with the CA keys:
 *   sign    opens a key to sign or rotate: the passphrase is required (asked on a terminal)
 *   check   only checks keys (status, export): a passphrase file is used when given, never asked
 *   init    creates a data dir's keys (--protect: encrypted; PKCS#11 configured: in the token)
 *   protect auth protect / unprotect (their command asks for the passphrase itself)
 */
export type KeyUse = 'sign' | 'check' | 'init' | 'protect';

export interface CaKeyOptions extends GlobalOptions {
  protect?: boolean;
}

const TLS_NAMES = ['host', 'user', 'db', 'db_client'] as const;

/** The live key records of a state with the way each fingerprints its public key. */
export function liveKeys(state: State): Array<{ record: StoredKey; fingerprintOf: typeof sshFingerprintOf }> {
  const out: Array<{ record: StoredKey; fingerprintOf: typeof sshFingerprintOf }> = [];
  for (const t of CA_TYPES) for (const r of [state.authorities[t].current, state.authorities[t].next]) if (r) out.push({ record: r, fingerprintOf: sshFingerprintOf });
  for (const t of TLS_NAMES) for (const r of [state.tls?.[t]?.current, state.tls?.[t]?.next]) if (r) out.push({ record: r, fingerprintOf: tlsFingerprintOf });
  return out;
}

/** Whether a key file's own header says it is encrypted; false for one that cannot be read (the command's own load reports that). */
export function fileIsEncrypted(store: CaStore, file: string): boolean {
  try {
    return isEncryptedPem(store.getKey(file).slice(0, 64));
  } catch {
    return false;
  }
}

/** Where the live keys are: the state's word, and each file's own header (a crashed `auth protect` leaves encrypted files in plain records). */
function storages(store: CaStore, state: State): Set<KeyStorage> {
  const out = new Set<KeyStorage>();
  for (const { record } of liveKeys(state)) {
    if (record.pkcs11) out.add('pkcs11');
    else if (record.encrypted) out.add('encrypted');
    else if (record.file) out.add(fileIsEncrypted(store, record.file) ? 'encrypted' : 'file');
  }
  return out;
}

const interactive = () => process.stdin.isTTY === true && process.stderr.isTTY === true;

/** The passphrase from its source: a file is read, a prompt asks (twice for a new passphrase). */
export async function readPassphrase(source: PassphraseSource, fresh: boolean): Promise<Buffer> {
  if (source.kind === 'file') return readSecretFile(source.path, 'passphrase');
  const { promptNewPassphrase, promptPassphrase } = await import('./passphrase-prompt.js');
  return fresh ? promptNewPassphrase() : promptPassphrase();
}

export function passphraseSource(opts: GlobalOptions): PassphraseSource {
  return choosePassphraseSource({ flagFile: opts.passphraseFile, env: process.env, interactive: interactive() });
}

/** The effective PKCS#11 settings (teleport.yaml, overridden by TCTL_PKCS11_*), or undefined. */
export async function pkcs11Settings(opts: GlobalOptions): Promise<Pkcs11Config | undefined> {
  const { config } = await resolveContext(opts);
  return resolvePkcs11Config(config.pkcs11, pkcs11FromEnv(process.env));
}

/** Sets up the key access for this command; see KeyUse. */
export async function openCaKeys(opts: CaKeyOptions, use: KeyUse): Promise<void> {
  const { store } = await resolveContext(opts);
  const pkcs11 = await pkcs11Settings(opts);
  let state: State | undefined;
  try {
    if (store.isInitialised()) state = loadState(store, { allowDamagedSchedule: true });
  } catch {
    // a damaged state.json: the command itself reports it, with its own wording
  }
  const openToken = async () => (await import('../keys/pkcs11.js')).Pkcs11Token.open;

  if (use === 'init' && !state) {
    if (opts.protect) {
      if (pkcs11) throw new UsageError('--protect encrypts key files; with PKCS#11 configured the keys go into the token instead', 'drop --protect, or the PKCS#11 settings');
      const passphrase = await readPassphrase(passphraseSource(opts), true);
      configureCaKeyAccess({ passphrase, newKeys: 'encrypted' });
    } else if (pkcs11) {
      configureCaKeyAccess({ pkcs11, newKeys: 'pkcs11' }, await openToken());
    }
    return;
  }
  if (opts.protect) throw new UsageError('--protect applies to a new CA', 'encrypt the keys of this one with "tctl auth protect"');
  if (!state) return;
  const where = storages(store, state);
  let passphrase: Buffer | undefined;
  if (where.has('encrypted') && use !== 'protect') {
    const fromFile = opts.passphraseFile !== undefined || (process.env[PASSPHRASE_FILE_ENV] ?? '') !== '';
    if (use !== 'check' || fromFile) passphrase = await readPassphrase(passphraseSource(opts), false);
  }
  const tokenNeeded = where.has('pkcs11');
  configureCaKeyAccess({ passphrase, pkcs11: tokenNeeded ? pkcs11 : undefined }, tokenNeeded && pkcs11 ? await openToken() : undefined);
  if (passphrase) checkPassphrase(store, state);
}

/** Opens one encrypted key, so a wrong passphrase fails before the command writes anything. */
export function checkPassphrase(store: CaStore, state: State): void {
  for (const { record, fingerprintOf } of liveKeys(state)) {
    if (!record.file || !fileIsEncrypted(store, record.file)) continue;
    openCaKey(store, record, fingerprintOf);
    return;
  }
}

export function closeCaKeys(): void {
  closeCaKeyAccess();
}
