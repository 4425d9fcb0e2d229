// Where a secret (a CA key passphrase, a PKCS#11 PIN) comes from. Flags beat the environment;
// the environment only ever names a FILE holding the secret, never the secret itself, so it does
// not show up in `ps e`, /proc/<pid>/environ of children, or a CI log that dumps the environment.
//   --passphrase-file FILE            the passphrase of encrypted CA key files
//   TCTL_CA_PASSPHRASE_FILE=FILE      the same, for CI and scripts
//   (on a terminal, with neither)     a masked prompt, asked once per command
import { TctlError, UsageError } from '../errors.js';
import { fileError, readFileCapped } from '../store/files.js';
import { MAX_PASSPHRASE_BYTES } from './encrypted.js';

export const PASSPHRASE_FILE_ENV = 'TCTL_CA_PASSPHRASE_FILE';

export type PassphraseSource =
  | { kind: 'file'; path: string; from: string }
  | { kind: 'prompt' };

/**
 * Reads a secret file: at most maxBytes (a longer file is refused, not cut), one trailing newline
 * stripped (`echo secret > f` writes one), anything else kept as it is; an empty secret is refused.
 */
export function readSecretFile(file: string, what: string, maxBytes = MAX_PASSPHRASE_BYTES): Buffer {
  if (file === '') throw new UsageError(`the ${what} file name is empty`);
  let bytes: Buffer;
  try {
    // +2: room for the newline we strip, so a secret of exactly maxBytes is accepted.
    bytes = readFileCapped(file, maxBytes + 2, { name: `${what} file ${file}` });
  } catch (err) {
    throw fileError(`cannot read ${what} file`, file, err);
  }
  if (bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a) bytes = bytes.subarray(0, -2);
  else if (bytes.length >= 1 && bytes[bytes.length - 1] === 0x0a) bytes = bytes.subarray(0, -1);
  if (bytes.length === 0) throw new TctlError(`${what} file ${file} is empty`);
  if (bytes.length > maxBytes) throw new TctlError(`${what} file ${file} is longer than ${maxBytes} bytes`);
  return bytes;
}

/**
 * Picks the passphrase source: --passphrase-file, else $TCTL_CA_PASSPHRASE_FILE, else a prompt
 * when both stdin and stderr are terminals. Off a terminal with neither it fails at once (a CI
 * job must never hang on a prompt nobody sees).
 */
export function choosePassphraseSource(opts: { flagFile?: string; env: Record<string, string | undefined>; interactive: boolean }): PassphraseSource {
  if (opts.flagFile !== undefined) {
    if (opts.flagFile === '') throw new UsageError('--passphrase-file is empty');
    return { kind: 'file', path: opts.flagFile, from: '--passphrase-file' };
  }
  const fromEnv = opts.env[PASSPHRASE_FILE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { kind: 'file', path: fromEnv, from: PASSPHRASE_FILE_ENV };
  if (opts.interactive) return { kind: 'prompt' };
  throw new UsageError(
    'the CA keys are passphrase-protected and no passphrase was given',
    `pass --passphrase-file FILE or set ${PASSPHRASE_FILE_ENV}=FILE (on a terminal tctl asks)`,
  );
}

/** A passphrase asked for at most once per command, however many keys a batch opens. */
export function passphraseOnce(source: PassphraseSource, prompt: () => Promise<Buffer>): () => Promise<Buffer> {
  let pending: Promise<Buffer> | undefined;
  return () => (pending ??= source.kind === 'file' ? Promise.resolve(readSecretFile(source.path, 'passphrase')) : prompt());
}
