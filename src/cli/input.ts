// Files a user names on the command line (keys, certificates): small text, read with errors that name the flag.
import { TctlError, UsageError } from '../errors.js';
import { CertificateInputError, parseCertificateText } from '../formats/certificate-file.js';
import { PublicKeyInputError, parsePublicKeyText } from '../formats/public-key.js';
import type { Certificate } from '../ssh/certificate.js';
import type { SshPublicKey } from '../ssh/keys.js';
import { fileError, readFileCapped } from '../store/files.js';

/** Far larger than any key or certificate (an RSA-16384 certificate is ~5 KiB). */
export const MAX_INPUT_FILE_BYTES = 64 * 1024;

/** Reads a small text file a user names on the command line, with errors that name the flag. */
export function readInputFile(flag: string, file: string): string {
  if (file === '') throw new UsageError(`${flag} is empty`);
  try {
    return readFileCapped(file, MAX_INPUT_FILE_BYTES, { name: `${flag} ${file}` }).toString('utf8');
  } catch (err) {
    throw fileError(`cannot read ${flag}`, file, err);
  }
}


/** A public key file (OpenSSH, PEM/PKCS#8 or RFC 4716), refused with what was found instead. */
export async function readPublicKeyFile(flag: string, file: string): Promise<SshPublicKey> {
  const text = readInputFile(flag, file);
  try {
    return await parsePublicKeyText(text);
  } catch (err) {
    if (err instanceof PublicKeyInputError) throw new TctlError(`invalid ${flag} ${file}: ${err.message}`);
    throw err;
  }
}

/** An OpenSSH certificate file, decoded and its signature checked. */
export function readCertificateFile(flag: string, file: string): Certificate {
  const text = readInputFile(flag, file);
  try {
    return parseCertificateText(text);
  } catch (err) {
    if (err instanceof CertificateInputError) throw new TctlError(`invalid ${flag} ${file}: ${err.message}`);
    throw err;
  }
}
