import { closeCaKeyAccess, configureCaKeyAccess } from '../../ca/key-access.js';
import { setKeyProtection } from '../../ca/protect.js';
import { loadState, notInitialised } from '../../store/state.js';
import { checkPassphrase, fileIsEncrypted, liveKeys, passphraseSource, readPassphrase } from '../ca-keys.js';
import type { GlobalOptions } from '../context.js';
import { resolveContext } from '../context.js';
import { stdout } from '../output.js';
import type { CaStore } from '../../store/ca-store.js';

/** Whether any live CA key file is encrypted already (then its passphrase is the one to use). */
function anyEncrypted(store: CaStore): boolean {
  return liveKeys(loadState(store, { allowDamagedSchedule: true })).some(({ record }) => record.encrypted === true || (record.file !== undefined && fileIsEncrypted(store, record.file)));
}

async function run(opts: GlobalOptions, mode: 'protect' | 'unprotect'): Promise<void> {
  const { store } = await resolveContext(opts);
  if (!store.isInitialised()) throw notInitialised(store);
  const encrypted = anyEncrypted(store);
  if (mode === 'unprotect' && !encrypted) {
    stdout(`The CA keys in ${store.describe()} are not encrypted; nothing changed`);
    return;
  }
  // A first protect sets the passphrase (asked twice); later ones must give the same one.
  const passphrase = await readPassphrase(passphraseSource(opts), mode === 'protect' && !encrypted);
  configureCaKeyAccess({ passphrase: Buffer.from(passphrase) });
  try {
    // A wrong passphrase stops here, before the audited change (nothing written, not even a log line).
    if (encrypted) checkPassphrase(store, loadState(store, { allowDamagedSchedule: true }));
    const { changed, unchanged } = setKeyProtection(store, mode, passphrase);
    const verb = mode === 'protect' ? 'Encrypted' : 'Decrypted';
    stdout(`${verb} ${changed.length} CA key${changed.length === 1 ? '' : 's'} in ${store.describe()}${unchanged.length > 0 ? ` (${unchanged.length} already ${mode === 'protect' ? 'encrypted' : 'plain'})` : ''}`);
  } finally {
    passphrase.fill(0);
    closeCaKeyAccess();
  }
}

export const authProtect = (opts: GlobalOptions) => run(opts, 'protect');
export const authUnprotect = (opts: GlobalOptions) => run(opts, 'unprotect');
