// A stand-in command for the passphrase tests until a real command asks: decrypts the key file
// named in argv[2] with the passphrase from --passphrase-file, TCTL_CA_PASSPHRASE_FILE or the
// prompt, asks at most once for two keys, and prints the public key's SHA-256 on stdout.
import { createHash, createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import { TctlError } from '../../src/errors.js';
import { promptPassphrase } from '../../src/cli/passphrase-prompt.js';
import { canPrompt } from '../../src/cli/prompt.js';
import { decryptPrivateKeyPem } from '../../src/keys/encrypted.js';
import { choosePassphraseSource, passphraseOnce } from '../../src/keys/secrets.js';

const [file, flag, flagFile] = process.argv.slice(2);
// `node --test dist/test/` also runs this file, with no arguments: then there is nothing to do.
if (file !== undefined) await probe();

async function probe(): Promise<void> {
  try {
    const source = choosePassphraseSource({ flagFile: flag === '--passphrase-file' ? flagFile : undefined, env: process.env, interactive: canPrompt() });
    const passphrase = passphraseOnce(source, () => promptPassphrase());
    const pem = fs.readFileSync(file!, 'utf8');
    for (let i = 0; i < 2; i++) {
      const key = decryptPrivateKeyPem(pem, await passphrase(), 'CA key file');
      const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
      process.stdout.write(`key ${createHash('sha256').update(spki).digest('hex')}\n`);
    }
  } catch (err) {
    if (!(err instanceof TctlError)) throw err;
    process.stderr.write(`tctl: error: ${err.message}\n${err.hint ? `tctl: hint: ${err.hint}\n` : ''}`);
    process.exitCode = err.kind === 'usage' ? 2 : 1;
  }
}
