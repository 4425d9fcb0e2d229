// Reading an OpenSSH certificate file (`<type>-cert-v01@openssh.com <base64> [comment]`).
import { CertificateFormatError, certificateKeyType, parseCertificate } from '../ssh/certificate.js';
import type { Certificate } from '../ssh/certificate.js';
import { KeyFormatError, publicKeyLine } from '../ssh/keys.js';
import type { SshPublicKey } from '../ssh/keys.js';

export class CertificateInputError extends Error {}

export function parseCertificateText(text: string): Certificate {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new CertificateInputError('found a private key, not a certificate');
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (line === undefined) throw new CertificateInputError('the file is empty');
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(line);
  if (!m) throw new CertificateInputError('not an OpenSSH certificate');
  if (!m[1]!.endsWith('-cert-v01@openssh.com')) throw new CertificateInputError(`found a ${m[1]} public key, not a certificate`);
  try {
    const cert = parseCertificate(Buffer.from(m[2]!, 'base64'));
    if (cert.certType !== m[1]) throw new CertificateInputError(`certificate type ${m[1]} does not match its data (${cert.certType})`);
    return cert;
  } catch (err) {
    if (err instanceof CertificateFormatError || err instanceof KeyFormatError) throw new CertificateInputError(err.message);
    throw err;
  }
}

/** The text of a `*-cert.pub` file, as ssh-keygen writes it: `<type>-cert-v01@openssh.com <base64> <comment>`. */
export function certificateFileText(key: SshPublicKey, certificate: Buffer, comment: string): string {
  return publicKeyLine(certificateKeyType(key.type), certificate, comment) + '\n';
}
