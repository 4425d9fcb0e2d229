// Passphrase-encrypted private keys: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) with PBES2
// (RFC 8018 §6.2), scrypt as the key derivation (RFC 7914 §7) and AES-256-CBC, in an
// "ENCRYPTED PRIVATE KEY" PEM that `openssl pkey -passin` reads.
//
// Why we write the structure ourselves: node:crypto's export({cipher, passphrase}) writes PBES2
// with PBKDF2-HMAC-SHA256 at 2048 iterations, far below any current advice, and has no knob.
// Why these scrypt numbers: OpenSSL refuses scrypt needing more than 32 MiB when it reads a key
// (its default maxmem), which caps N at 2^14 with r = 8; the cost is raised with p instead.
// N=2^14, r=8, p=5 is one of OWASP's equivalent minimum scrypt settings (same work as N=2^17, p=1).
import { createCipheriv, createPrivateKey, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { TctlError } from '../errors.js';
import { type CaSigner, inProcessSigner } from './signer.js';
import { type Asn1, bytesOf, fromDer, isUniversal, octets, oid, oidOf, readInteger, seq, sequence, toDer, TYPE, uint } from '../x509/forge.js';

export const SCRYPT_N = 1 << 14;
export const SCRYPT_R = 8;
export const SCRYPT_P = 5;
/** Longest passphrase accepted: it is a secret typed or kept in a file, never a document. */
export const MAX_PASSPHRASE_BYTES = 1024;
/** An encrypted CA key PEM is a few KiB (RSA 4096 is ~3.3 KiB); this refuses garbage early. */
export const MAX_ENCRYPTED_PEM_BYTES = 64 * 1024;

const OIDS = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  hmacWithSHA256: '1.2.840.113549.2.9',
  hmacWithSHA384: '1.2.840.113549.2.10',
  hmacWithSHA512: '1.2.840.113549.2.11',
  aes128cbc: '2.16.840.1.101.3.4.1.2',
  aes192cbc: '2.16.840.1.101.3.4.1.22',
  aes256cbc: '2.16.840.1.101.3.4.1.42',
} as const;

const CIPHER_KEY_BYTES: Record<string, number> = { [OIDS.aes128cbc]: 16, [OIDS.aes192cbc]: 24, [OIDS.aes256cbc]: 32 };
const PRFS = new Set<string>([OIDS.hmacWithSHA256, OIDS.hmacWithSHA384, OIDS.hmacWithSHA512]);
/** Reading a key made elsewhere (openssl pkcs8 -topk8): a cap so a hostile file cannot pin a core for hours. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** OpenSSL's own scrypt memory ceiling when reading; a file asking for more would fail there anyway. */
const MAX_SCRYPT_BYTES = 32 * 1024 * 1024;

/** The passphrase does not open the key (or the ciphertext is damaged: PBES2 cannot tell the two apart). */
export class WrongPassphraseError extends TctlError {
  constructor(what: string) {
    super(`wrong passphrase for ${what}`, { hint: 'check the passphrase file (a trailing newline is stripped, other whitespace is kept)' });
  }
}

const PEM_RE = /^-----BEGIN ENCRYPTED PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END ENCRYPTED PRIVATE KEY-----\r?\n?$/;

/** True when text is an encrypted PKCS#8 PEM (the only encrypted form this tool writes or reads). */
export function isEncryptedPem(text: string | Buffer): boolean {
  const s = typeof text === 'string' ? text : text.subarray(0, 64).toString('latin1');
  return s.trimStart().startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----');
}

function checkPassphrase(passphrase: Buffer): void {
  if (passphrase.length === 0) throw new TctlError('the passphrase is empty');
  if (passphrase.length > MAX_PASSPHRASE_BYTES) throw new TctlError(`the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`);
}

const asBytes = (p: Buffer | string): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);

/** Encrypts a private key under a passphrase; returns the PEM text. */
export function encryptPrivateKeyPem(key: KeyObject, passphrase: Buffer | string, random: (n: number) => Buffer = randomBytes): string {
  if (key.type !== 'private') throw new TctlError('only a private key can be encrypted');
  const pass = asBytes(passphrase);
  checkPassphrase(pass);
  const salt = random(16);
  const iv = random(16);
  if (salt.length !== 16 || iv.length !== 16) throw new TctlError('random source returned the wrong number of bytes');
  const cek = scryptSync(pass, salt, 32, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 2 * MAX_SCRYPT_BYTES });
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const cipher = createCipheriv('aes-256-cbc', cek, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  cek.fill(0);
  const der = toDer(
    seq([
      seq([
        oid(OIDS.pbes2),
        seq([
          seq([oid(OIDS.scrypt), seq([octets(salt), uint(BigInt(SCRYPT_N)), uint(BigInt(SCRYPT_R)), uint(BigInt(SCRYPT_P)), uint(32n)])]),
          seq([oid(OIDS.aes256cbc), octets(iv)]),
        ]),
      ]),
      octets(encrypted),
    ]),
  );
  const b64 = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64.join('\n')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** The key derivation a file asks for, checked against caps before any work is done. */
export type KdfParams =
  | { kdf: 'scrypt'; N: number; r: number; p: number; cipherKeyBytes: number }
  | { kdf: 'pbkdf2'; iterations: number; prf: string; cipherKeyBytes: number };

const smallInt = (node: Asn1 | undefined, what: string, max: number): number => {
  if (!node || !isUniversal(node, TYPE.INTEGER)) throw new TctlError(`${what} is missing`);
  const v = readInteger(node);
  if (v < 1n || v > BigInt(max)) throw new TctlError(`${what} ${v} is out of range (1..${max})`);
  return Number(v);
};

/** Parses and checks the PBES2 header of an encrypted PEM (no passphrase needed). */
export function encryptedKeyParams(pem: string, what = 'the key file'): KdfParams {
  if (pem.length > MAX_ENCRYPTED_PEM_BYTES) throw new TctlError(`${what} is larger than ${MAX_ENCRYPTED_PEM_BYTES} bytes`);
  const m = PEM_RE.exec(pem.trim() + '\n');
  if (!m) throw new TctlError(`${what} is not an encrypted PKCS#8 PEM (BEGIN ENCRYPTED PRIVATE KEY)`);
  const bad = (why: string) => new TctlError(`${what}: ${why}`);
  const [algId, data] = sequence(fromDer(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), what), what);
  if (!data || !isUniversal(data, TYPE.OCTETSTRING)) throw bad('no encrypted data');
  const [scheme, params] = sequence(algId, what);
  if (!scheme || oidOf(scheme) !== OIDS.pbes2) throw bad('not PBES2 encryption (only PBES2 with scrypt or PBKDF2 and AES-CBC is read)');
  const [kdf, enc] = sequence(params, what);
  const [kdfOid, kdfParams] = sequence(kdf, what);
  const [encOid, iv] = sequence(enc, what);
  const cipherKeyBytes = encOid ? CIPHER_KEY_BYTES[oidOf(encOid)] : undefined;
  if (!cipherKeyBytes) throw bad('the cipher is not AES-CBC');
  if (!iv || !isUniversal(iv, TYPE.OCTETSTRING) || bytesOf(iv).length !== 16) throw bad('the AES-CBC IV is not 16 bytes');
  if (!kdfOid) throw bad('no key derivation');
  const kp = sequence(kdfParams, what);
  if (!kp[0] || !isUniversal(kp[0], TYPE.OCTETSTRING) || bytesOf(kp[0]).length < 8) throw bad('the salt is shorter than 8 bytes');
  if (oidOf(kdfOid) === OIDS.scrypt) {
    const N = smallInt(kp[1], 'scrypt N', 1 << 20);
    const r = smallInt(kp[2], 'scrypt r', 32);
    const p = smallInt(kp[3], 'scrypt p', 64);
    if ((N & (N - 1)) !== 0 || N < 2) throw bad(`scrypt N ${N} is not a power of two`);
    if (128 * r * (N + 2) + 128 * r * p > MAX_SCRYPT_BYTES) throw bad('scrypt parameters need more than 32 MiB');
    if (kp[4] && smallInt(kp[4], 'scrypt key length', 64) !== cipherKeyBytes) throw bad('scrypt key length does not match the cipher');
    return { kdf: 'scrypt', N, r, p, cipherKeyBytes };
  }
  if (oidOf(kdfOid) === OIDS.pbkdf2) {
    const iterations = smallInt(kp[1], 'PBKDF2 iteration count', MAX_PBKDF2_ITERATIONS);
    let rest = kp.slice(2);
    if (rest[0] && isUniversal(rest[0], TYPE.INTEGER)) {
      if (smallInt(rest[0], 'PBKDF2 key length', 64) !== cipherKeyBytes) throw bad('PBKDF2 key length does not match the cipher');
      rest = rest.slice(1);
    }
    // RFC 8018 §A.2: the PRF defaults to hmacWithSHA1, which we do not accept.
    const prfOid = rest[0] ? sequence(rest[0], what)[0] : undefined;
    const prf = prfOid ? oidOf(prfOid) : 'hmacWithSHA1';
    if (!PRFS.has(prf)) throw bad('the PBKDF2 hash is not SHA-256, SHA-384 or SHA-512');
    return { kdf: 'pbkdf2', iterations, prf, cipherKeyBytes };
  }
  throw bad('the key derivation is neither scrypt nor PBKDF2');
}

/** Decrypts an encrypted PEM; throws WrongPassphraseError when the passphrase does not open it. */
export function decryptPrivateKeyPem(pem: string, passphrase: Buffer | string, what = 'the key file'): KeyObject {
  const pass = asBytes(passphrase);
  checkPassphrase(pass);
  encryptedKeyParams(pem, what);
  // The header is checked and within caps; OpenSSL does the derivation and decryption. Any failure
  // now (bad padding, or garbage that is not PKCS#8) means the derived key was wrong.
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: pass });
  } catch {
    throw new WrongPassphraseError(what);
  }
}

/** A CA signer over an encrypted key file: decrypted once, then signs in this process. */
export function encryptedKeySigner(pem: string, passphrase: Buffer | string, what = 'the CA key file'): CaSigner {
  return inProcessSigner(decryptPrivateKeyPem(pem, passphrase, what), { kind: 'file', encrypted: true });
}
