// Reading a public key a user hands us (`--public-key`): OpenSSH one-line keys natively; PEM,
// PKCS#8 and RFC 4716 through sshpk (loaded only then). We say what we found when we refuse.
import { KeyFormatError, checkPublicKeyValue, parsePublicKeyBlob } from '../ssh/keys.js';
import type { SshPublicKey } from '../ssh/keys.js';

export class PublicKeyInputError extends Error {}

const PRIVATE_MARKERS = /-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----|PuTTY-User-Key-File/;

/** Every key that comes in is checked for structure and for values (no forgeable keys) here. */
function fromBlob(blob: Buffer, checkValue = true): SshPublicKey {
  try {
    const { key } = parsePublicKeyBlob(blob);
    if (checkValue) checkPublicKeyValue(key);
    return key;
  } catch (err) {
    if (err instanceof KeyFormatError) throw new PublicKeyInputError(err.message);
    throw err;
  }
}

function refuseType(type: string): void {
  if (type === 'ssh-dss') throw new PublicKeyInputError('found a DSA key (ssh-dss), which OpenSSH no longer accepts; use ed25519, ECDSA or RSA');
  if (type.includes('-cert-v01@openssh.com')) throw new PublicKeyInputError(`found a certificate (${type}), not a public key; give the .pub key it was made from`);
  if (type.startsWith('sk-')) throw new PublicKeyInputError(`found a security-key type (${type}), which tctl does not sign; use ed25519, ECDSA or RSA`);
}

/**
 * Parses an OpenSSH one-line public key (`type base64 [comment]`), synchronously. checkValue=false
 * is only for bytes that already passed the value check (a batch's second pass over its spool).
 */
export function parseOpenSshPublicKey(text: string, opts: { checkValue?: boolean } = {}): SshPublicKey {
  if (PRIVATE_MARKERS.test(text)) {
    throw new PublicKeyInputError('found a private key; give the public key (the .pub file) instead');
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new PublicKeyInputError('the file is empty');
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/.exec(lines[0]!);
  if (!m) throw new PublicKeyInputError('not an OpenSSH public key');
  refuseType(m[1]!);
  if (lines.length > 1) throw new PublicKeyInputError('found more than one key; give one key per file');
  const key = fromBlob(Buffer.from(m[2]!, 'base64'), opts.checkValue ?? true);
  if (key.type !== m[1]) throw new PublicKeyInputError(`key type ${m[1]} does not match its data (${key.type})`);
  return key;
}

/** Parses the contents of a public-key file in any supported format; throws PublicKeyInputError saying what was found. */
export async function parsePublicKeyText(text: string): Promise<SshPublicKey> {
  const first = text.trimStart();
  if (/^-----BEGIN (?:RSA |EC )?PUBLIC KEY-----|^---- BEGIN SSH2 PUBLIC KEY ----/.test(first)) return viaSshpk(text);
  return parseOpenSshPublicKey(text);
}

const BLOCK_BEGIN = /^(?:-----BEGIN [A-Z0-9 ]+-----|---- BEGIN SSH2 PUBLIC KEY ----)$/;
const BLOCK_END = /^(?:-----END [A-Z0-9 ]+-----|---- END SSH2 PUBLIC KEY ----)$/;

/** sshpk reads the first block and ignores the rest; a second key (or anything else) after it is refused, not dropped. */
function refuseExtraContent(text: string): void {
  if (PRIVATE_MARKERS.test(text)) throw new PublicKeyInputError('found a private key; give the public key (the .pub file) instead');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const begins = lines.filter((l) => BLOCK_BEGIN.test(l)).length;
  const end = lines.findIndex((l) => BLOCK_END.test(l));
  const after = end < 0 ? [] : lines.slice(end + 1).filter((l) => l !== '' && !l.startsWith('#'));
  if (begins > 1 || after.some((l) => /^\S+\s+[A-Za-z0-9+/]{16,}/.test(l))) {
    throw new PublicKeyInputError('found more than one key; give one key per file');
  }
  if (after.length > 0) throw new PublicKeyInputError('found text after the end of the key');
}

async function viaSshpk(text: string): Promise<SshPublicKey> {
  refuseExtraContent(text);
  const { default: sshpk } = await import('sshpk');
  let parsed: ReturnType<typeof sshpk.parseKey>;
  try {
    parsed = sshpk.parseKey(text, 'auto');
  } catch {
    throw new PublicKeyInputError('not a readable PEM, PKCS#8 or RFC 4716 public key');
  }
  if (parsed.type === 'dsa') refuseType('ssh-dss');
  const line = parsed.toString('ssh').split(' ');
  return fromBlob(Buffer.from(line[1] ?? '', 'base64'));
}
