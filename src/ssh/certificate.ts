// OpenSSH certificates, encoded and decoded per PROTOCOL.certkeys.
import type { KeyObject } from 'node:crypto';
import { parsePublicKeyBlob, sshSign, sshSigner, sshVerify } from './keys.js';
import type { SshSigner } from './keys.js';
import type { SshPublicKey } from './keys.js';
import { SshReader, SshWriter, WireFormatError } from './wire.js';

export const CERT_TYPES = ['user', 'host'] as const;
export type CertType = (typeof CERT_TYPES)[number];
const CERT_TYPE_CODE: Record<CertType, number> = { user: 1, host: 2 };

/** valid_before of a certificate that never expires. */
export const FOREVER = 0xffffffffffffffffn;

/** A critical option or extension; value '' is the "flag" form with empty data. */
export interface CertOption {
  name: string;
  value: string;
}

export interface CertificateBody {
  /** the certified (subject) public key */
  key: SshPublicKey;
  nonce: Buffer;
  serial: bigint;
  type: CertType;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: CertOption[];
  extensions: CertOption[];
}

export interface Certificate extends CertificateBody {
  /** e.g. ssh-ed25519-cert-v01@openssh.com */
  certType: string;
  /** wire blob of the CA key that signed it */
  signatureKey: Buffer;
  signature: Buffer;
  /** the whole certificate blob */
  blob: Buffer;
  /** options with their values undecoded, in wire order (for lints that check order and duplicates) */
  rawCriticalOptions: CertOption[];
  rawExtensions: CertOption[];
}

export class CertificateFormatError extends Error {}

export function certificateKeyType(keyType: string): string {
  return `${keyType}-cert-v01@openssh.com`;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Options in OpenSSH's required order: sorted by name (bytewise), each name once. */
export function canonicalOptions(options: CertOption[], what: string): CertOption[] {
  const sorted = [...options].sort((a, b) => byteOrder(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.name === sorted[i - 1]!.name) {
      throw new CertificateFormatError(`duplicate ${what} ${sorted[i]!.name}`);
    }
  }
  return sorted;
}

function encodeOptions(options: CertOption[]): Buffer {
  const w = new SshWriter();
  for (const o of options) {
    w.string(o.name);
    // A value is "a string inside a string"; a flag has empty data, not an empty inner string.
    w.string(o.value === '' ? Buffer.alloc(0) : new SshWriter().string(o.value).toBuffer());
  }
  return w.toBuffer();
}

function decodeOptions(buf: Buffer): CertOption[] {
  const r = new SshReader(buf);
  const out: CertOption[] = [];
  while (r.remaining > 0) {
    const name = r.text();
    const data = r.string();
    let value = '';
    if (data.length > 0) {
      const ir = new SshReader(data);
      value = ir.text();
      if (ir.remaining !== 0) value += ir.rest().toString('utf8');
    }
    out.push({ name, value });
  }
  return out;
}

/** The public parts of a key blob after its type string, which a certificate embeds after the nonce. */
function keyParts(blob: Buffer): Buffer {
  const r = new SshReader(blob);
  r.string();
  return r.rest();
}

/** Builds and signs a certificate; returns the certificate blob. */
export function signCertificate(body: CertificateBody, caKey: KeyObject | SshSigner): Buffer {
  const signer = sshSigner(caKey);
  const ca = signer.publicKey;
  const tbs = new SshWriter()
    .string(certificateKeyType(body.key.type))
    .string(body.nonce)
    .raw(keyParts(body.key.blob))
    .uint64(body.serial)
    .uint32(CERT_TYPE_CODE[body.type])
    .string(body.keyId)
    .string(body.principals.reduce((w, p) => w.string(p), new SshWriter()).toBuffer())
    .uint64(body.validAfter)
    .uint64(body.validBefore)
    .string(encodeOptions(canonicalOptions(body.criticalOptions, 'critical option')))
    .string(encodeOptions(canonicalOptions(body.extensions, 'extension')))
    .string('') // reserved
    .string(ca.blob)
    .toBuffer();
  const signature = sshSign(signer, tbs);
  return Buffer.concat([tbs, new SshWriter().string(signature).toBuffer()]);
}

/** Decodes a certificate blob; checks its structure and that the signature verifies. */
export function parseCertificate(blob: Buffer): Certificate {
  const r = new SshReader(blob);
  try {
    const certType = r.text();
    const m = /^(.+)-cert-v01@openssh\.com$/.exec(certType);
    if (!m) throw new CertificateFormatError(`not an OpenSSH certificate (type ${certType})`);
    const keyType = m[1]!;
    const nonce = r.string();
    // Rebuild the plain key blob from the embedded public parts.
    const parts = new SshWriter().string(keyType);
    if (keyType === 'ssh-ed25519') parts.string(r.string());
    else if (keyType === 'ssh-rsa') parts.raw(new SshWriter().string(r.string()).toBuffer()).raw(new SshWriter().string(r.string()).toBuffer());
    else if (keyType.startsWith('ecdsa-sha2-')) parts.string(r.string()).string(r.string());
    else throw new CertificateFormatError(`unsupported certificate key type ${keyType}`);
    const { key } = parsePublicKeyBlob(parts.toBuffer());
    const serial = r.uint64();
    const typeCode = r.uint32();
    const type = typeCode === 1 ? 'user' : typeCode === 2 ? 'host' : undefined;
    if (!type) throw new CertificateFormatError(`unknown certificate type ${typeCode}`);
    const keyId = r.text();
    const pr = new SshReader(r.string());
    const principals: string[] = [];
    while (pr.remaining > 0) principals.push(pr.text());
    const validAfter = r.uint64();
    const validBefore = r.uint64();
    const rawCriticalOptions = decodeOptions(r.string());
    const rawExtensions = decodeOptions(r.string());
    r.string(); // reserved
    const signatureKey = r.string();
    const signedLength = r.offset;
    const signature = r.string();
    r.end();
    const { ok } = sshVerify(signatureKey, blob.subarray(0, signedLength), signature);
    if (!ok) throw new CertificateFormatError('certificate signature does not verify');
    return {
      certType,
      key,
      nonce,
      serial,
      type,
      keyId,
      principals,
      validAfter,
      validBefore,
      criticalOptions: rawCriticalOptions,
      extensions: rawExtensions,
      rawCriticalOptions,
      rawExtensions,
      signatureKey,
      signature,
      blob,
    };
  } catch (err) {
    if (err instanceof WireFormatError) throw new CertificateFormatError(`malformed certificate: ${err.message}`);
    throw err;
  }
}

/** The algorithm name inside a certificate's signature (e.g. rsa-sha2-512, or ssh-rsa for SHA-1). */
export function certificateSignatureAlgorithm(cert: Certificate): string {
  return new SshReader(cert.signature).text();
}
