// The masked passphrase prompt (terminal only; src/keys/secrets.ts decides when it may be used).
// @inquirer/password is loaded on first use so commands that never ask do not pay for it.
import { TctlError } from '../errors.js';
import { MAX_PASSPHRASE_BYTES } from '../keys/encrypted.js';

async function ask(message: string): Promise<string> {
  const { default: password } = await import('@inquirer/password');
  try {
    // stderr, like every message: stdout stays clean for data (`tctl ... > file`).
    return await password({ message, mask: '*' }, { input: process.stdin, output: process.stderr });
  } catch (err) {
    // Ctrl-C / Ctrl-D: inquirer rejects with ExitPromptError.
    if ((err as Error).name === 'ExitPromptError') throw new TctlError('passphrase prompt cancelled');
    throw err;
  }
}

function check(answer: string): Buffer {
  const bytes = Buffer.from(answer, 'utf8');
  if (bytes.length === 0) throw new TctlError('the passphrase is empty');
  if (bytes.length > MAX_PASSPHRASE_BYTES) throw new TctlError(`the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`);
  return bytes;
}

/** Asks for the passphrase of existing encrypted CA keys. */
export async function promptPassphrase(message = 'Passphrase for the CA keys:'): Promise<Buffer> {
  return check(await ask(message));
}

/** Asks for a new passphrase twice (a typo would lock the CA keys away for good). */
export async function promptNewPassphrase(message = 'New passphrase for the CA keys:'): Promise<Buffer> {
  const first = check(await ask(message));
  const second = check(await ask('Repeat the passphrase:'));
  if (!first.equals(second)) throw new TctlError('the passphrases do not match; nothing was changed');
  return first;
}
