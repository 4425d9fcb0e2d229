// OpenSSH key revocation lists (PROTOCOL.krl in openssh-portable): pure encode/decode, no file I/O.
//
// What OpenSSH accepts is what matters here, so the reader mirrors the checks krl.c makes when
// sshd or `ssh-keygen -Q` loads a KRL, and the writer never emits anything that fails them.

import { createHash } from 'node:crypto';
import { TctlError } from '../errors.js';
import { MAX_BITMAP_BITS, sortSerials, writeSerialSubsections } from './krl-serials.js';
import { SshReader, SshWriter, WireFormatError } from './wire.js';

export interface KrlCertificateSection {
  /** SSH wire-format public key blob of the CA key that signed the certificates; null = "any CA" (the empty ca_key the spec allows) */
  caKey: Buffer | null;
  /** Revoked serials, 1 to 2^64-1, any order, duplicates allowed. */
  serials: readonly bigint[] | BigUint64Array;
  /** Revoked key ids. */
  keyIds: string[];
}

export interface KrlInput {
  /** krl_version: should grow with every change so a KRL's age can be told apart. */
  version: bigint;
  /** Unix seconds. */
  generatedAt: bigint;
  comment: string;
  certificates: KrlCertificateSection[];
  /** SHA-256 hashes of revoked plain public key blobs (KRL_SECTION_FINGERPRINT_SHA256). */
  revokedKeySha256: Buffer[];
}

const MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const FORMAT_VERSION = 1;

const SECTION_CERTIFICATES = 1;
const SECTION_EXPLICIT_KEY = 2;
const SECTION_FINGERPRINT_SHA1 = 3;
const SECTION_SIGNATURE = 4;
const SECTION_FINGERPRINT_SHA256 = 5;
const SECTION_EXTENSION = 255;

const CERT_SERIAL_LIST = 0x20;
const CERT_SERIAL_RANGE = 0x21;
const CERT_SERIAL_BITMAP = 0x22;
const CERT_KEY_ID = 0x23;
const CERT_EXTENSION = 0x39;

const U64_MAX = (1n << 64n) - 1n;
const SHA256_LENGTH = 32;

// OpenSSH refuses bitmaps over 2048 bytes (krl-serials.ts), so ours never are.
const MAX_BITMAP_MPINT_BYTES = MAX_BITMAP_BITS / 8;

// A range sub-section can revoke up to 2^64 serials, but decodeKrl hands serials back one by one.
const MAX_DECODED_SERIALS_PER_CA = 1 << 20;

function krlError(message: string, hint?: string): TctlError {
  return new TctlError(message, { hint });
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Serialises a KRL the way OpenSSH's ssh_krl_to_blob lays it out: header, one certificates
 * section per CA (serials, then key ids), then revoked key hashes. Unsigned: PROTOCOL.krl
 * deprecates KRL signatures and OpenSSH >= 9.4 refuses KRLs that carry one.
 */
export function encodeKrl(input: KrlInput): Buffer {
  checkUint64('KRL version', input.version);
  checkUint64('KRL generation time', input.generatedAt);
  checkCString('KRL comment', input.comment);

  const w = new SshWriter()
    .raw(MAGIC)
    .uint32(FORMAT_VERSION)
    .uint64(input.version)
    .uint64(input.generatedAt)
    .uint64(0n) // flags: none are defined
    .string(Buffer.alloc(0)) // reserved
    .string(input.comment);

  for (const ca of mergeSectionsByCa(input.certificates)) {
    const body = encodeCertificateSection(ca);
    if (body !== null) w.byte(SECTION_CERTIFICATES).string(body);
  }

  const hashes = sortedUniqueHashes(input.revokedKeySha256);
  if (hashes.length > 0) {
    // PROTOCOL.krl §4: hashes in numeric order, i.e. byte order since all are 32 bytes.
    const s = new SshWriter();
    for (const h of hashes) s.string(h);
    w.byte(SECTION_FINGERPRINT_SHA256).string(s.toBuffer());
  }
  return w.toBuffer();
}

interface CaRevocations {
  caKey: Buffer | null;
  serialLists: Array<readonly bigint[] | BigUint64Array>;
  keyIds: Set<string>;
}

/** OpenSSH keeps one revocation set per CA key, so several entries for one CA are merged. */
function mergeSectionsByCa(sections: KrlCertificateSection[]): CaRevocations[] {
  const byKey = new Map<string, CaRevocations>();
  for (const [i, section] of sections.entries()) {
    if (section.caKey !== null) checkCaKeyBlob(section.caKey, `certificate section ${i + 1}`);
    const mapKey = section.caKey === null ? '' : section.caKey.toString('hex');
    let ca = byKey.get(mapKey);
    if (ca === undefined) {
      ca = { caKey: section.caKey, serialLists: [], keyIds: new Set() };
      byKey.set(mapKey, ca);
    }
    ca.serialLists.push(section.serials);
    for (const id of section.keyIds) {
      checkCString('revoked key id', id);
      ca.keyIds.add(id);
    }
  }
  return [...byKey.values()];
}

/** Returns null when the CA has nothing revoked: PROTOCOL.krl §2 wants at least one sub-section. */
function encodeCertificateSection(ca: CaRevocations): Buffer | null {
  const serials = sortSerials(ca.serialLists);
  const keyIds = sortedKeyIds(ca.keyIds);
  if (serials.runs === 0 && keyIds.length === 0) return null;

  const w = new SshWriter();
  w.string(ca.caKey ?? Buffer.alloc(0)); // empty ca_key = any CA
  w.string(Buffer.alloc(0)); // reserved
  writeSerialSubsections(w, serials);
  if (keyIds.length > 0) {
    const s = new SshWriter();
    for (const id of keyIds) s.string(id);
    w.byte(CERT_KEY_ID).string(s.toBuffer());
  }
  return w.toBuffer();
}

function sortedKeyIds(ids: Iterable<string>): string[] {
  // krl.c orders key ids with strcmp, i.e. by UTF-8 bytes, not by UTF-16 code units.
  return [...ids]
    .map((id) => ({ id, bytes: Buffer.from(id, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((e) => e.id);
}

function sortedUniqueHashes(hashes: Buffer[]): Buffer[] {
  for (const [i, h] of hashes.entries()) {
    if (!Buffer.isBuffer(h) || h.length !== SHA256_LENGTH) {
      throw krlError(
        `revoked key hash ${i + 1} is ${Buffer.isBuffer(h) ? `${h.length} bytes` : 'not a buffer'}; a SHA-256 hash is ${SHA256_LENGTH} bytes`,
      );
    }
  }
  const sorted = [...hashes].sort(Buffer.compare);
  return sorted.filter((h, i) => i === 0 || !h.equals(sorted[i - 1]!));
}

function checkUint64(what: string, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) {
    throw krlError(`${what} ${String(v)} is not a 64-bit unsigned integer`);
  }
}

/** OpenSSH reads the comment and key ids as C strings and rejects embedded NUL bytes. */
function checkCString(what: string, s: string): void {
  if (typeof s !== 'string') throw krlError(`${what} is not a string`);
  if (s.includes('\0')) throw krlError(`${what} ${JSON.stringify(s)} contains a NUL character`);
  // A lone UTF-16 surrogate would be written as U+FFFD and read back as a different string.
  if (Buffer.from(s, 'utf8').toString('utf8') !== s) throw krlError(`${what} ${JSON.stringify(s)} is not valid Unicode`);
}

/**
 * Only the outline of the blob is checked (a key type name then data); the caller is expected to
 * pass the blob of a key it parsed. Certificates are refused: a certificate's signature key is
 * always a plain key, so a certificate as ca_key would never match anything.
 */
function checkCaKeyBlob(blob: Buffer, where: string): void {
  if (!Buffer.isBuffer(blob) || blob.length === 0) {
    throw krlError(`${where}: the CA key is empty`, 'use null for a section that applies to any CA');
  }
  let type: string;
  try {
    const r = new SshReader(blob);
    type = r.text();
    if (r.remaining === 0) throw new WireFormatError('no key data');
  } catch (e) {
    throw new TctlError(`${where}: the CA key is not an SSH public key blob`, { cause: e });
  }
  if (!/^[\x21-\x7e]+$/.test(type)) {
    throw krlError(`${where}: the CA key is not an SSH public key blob (bad key type name)`);
  }
  if (type.endsWith('-cert-v01@openssh.com')) {
    throw krlError(`${where}: the CA key is a certificate (${type}); use the CA's plain public key`);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Reads a KRL, accepting what OpenSSH's ssh_krl_from_blob accepts and refusing what it refuses,
 * and returns it in the form encodeKrl writes: one entry per CA (in order of first appearance)
 * with sorted unique serials and key ids, and sorted unique key hashes.
 *
 * Explicitly revoked keys (KRL_SECTION_EXPLICIT_KEY) come back as the SHA-256 of their blob, which
 * revokes the same keys. SHA-1 fingerprint sections, signatures and critical extensions are refused.
 */
export function decodeKrl(buf: Buffer): KrlInput {
  try {
    return decode(buf);
  } catch (e) {
    if (e instanceof WireFormatError) throw new TctlError(`invalid KRL: ${e.message}`, { cause: e });
    throw e;
  }
}

function decode(buf: Buffer): KrlInput {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw krlError('not a KRL: the file does not start with "SSHKRL\\n\\0"');
  }
  const r = new SshReader(buf);
  r.raw(MAGIC.length);
  const format = r.uint32();
  if (format !== FORMAT_VERSION) throw krlError(`unsupported KRL format version ${format}`);
  const version = r.uint64();
  const generatedAt = r.uint64();
  r.uint64(); // flags: none defined, OpenSSH ignores them
  r.string(); // reserved
  const comment = readCString(r, 'the KRL comment');

  const cas = new Map<string, DecodedCa>();
  const hashes: Buffer[] = [];
  for (let n = 1; r.remaining > 0; n++) {
    const type = r.byte();
    const where = `section ${n}`;
    if (type === SECTION_SIGNATURE) {
      throw krlError(
        `invalid KRL: ${where} is a signature, which tctl does not support`,
        'OpenSSH 9.4 and later refuse signed KRLs; sign the file with `ssh-keygen -Y sign` instead',
      );
    }
    const s = new SshReader(r.string());
    switch (type) {
      case SECTION_CERTIFICATES:
        readCertificateSection(s, cas, where);
        break;
      case SECTION_EXPLICIT_KEY:
        while (s.remaining > 0) hashes.push(createHash('sha256').update(s.string()).digest());
        break;
      case SECTION_FINGERPRINT_SHA256:
        while (s.remaining > 0) {
          const h = s.string();
          if (h.length !== SHA256_LENGTH) {
            throw krlError(`invalid KRL: ${where} has a ${h.length}-byte SHA-256 hash`);
          }
          hashes.push(Buffer.from(h));
        }
        break;
      case SECTION_FINGERPRINT_SHA1:
        throw krlError(`invalid KRL: ${where} revokes keys by SHA-1 fingerprint, which tctl does not support`);
      case SECTION_EXTENSION:
        readExtension(s, `${where} (extension)`);
        break;
      default:
        throw krlError(`invalid KRL: ${where} has unknown type ${type}`);
    }
    if (s.remaining > 0) throw krlError(`invalid KRL: ${where} has ${s.remaining} unparsed bytes`);
  }

  const certificates: KrlCertificateSection[] = [];
  for (const ca of cas.values()) {
    if (ca.runs.length === 0 && ca.keyIds.size === 0) continue;
    certificates.push({ caKey: ca.caKey, serials: expandRuns(ca.runs), keyIds: sortedKeyIds(ca.keyIds) });
  }
  return { version, generatedAt, comment, certificates, revokedKeySha256: sortedUniqueHashes(hashes) };
}

interface DecodedCa {
  caKey: Buffer | null;
  runs: Array<[bigint, bigint]>;
  keyIds: Set<string>;
}

function readCertificateSection(s: SshReader, cas: Map<string, DecodedCa>, where: string): void {
  const keyBlob = s.string();
  s.string(); // reserved
  if (keyBlob.length > 0) checkCaKeyBlob(keyBlob, `invalid KRL: ${where}`);
  const mapKey = keyBlob.toString('hex');
  let ca = cas.get(mapKey);
  if (ca === undefined) {
    ca = { caKey: keyBlob.length === 0 ? null : Buffer.from(keyBlob), runs: [], keyIds: new Set() };
    cas.set(mapKey, ca);
  }

  for (let n = 1; s.remaining > 0; n++) {
    const type = s.byte();
    const sub = new SshReader(s.string());
    const here = `${where}, sub-section ${n}`;
    switch (type) {
      case CERT_SERIAL_LIST:
        while (sub.remaining > 0) {
          const serial = sub.uint64();
          checkDecodedSerial(serial, here);
          ca.runs.push([serial, serial]);
        }
        break;
      case CERT_SERIAL_RANGE: {
        const lo = sub.uint64();
        const hi = sub.uint64();
        checkDecodedSerial(lo, here);
        if (lo > hi) throw krlError(`invalid KRL: ${here} has an inverted serial range ${lo}-${hi}`);
        ca.runs.push([lo, hi]);
        break;
      }
      case CERT_SERIAL_BITMAP:
        readBitmap(sub, ca.runs, here);
        break;
      case CERT_KEY_ID:
        while (sub.remaining > 0) ca.keyIds.add(readCString(sub, `a key id in ${here}`));
        break;
      case CERT_EXTENSION:
        readExtension(sub, `${here} (extension)`);
        break;
      default:
        throw krlError(`invalid KRL: ${here} has unknown type 0x${type.toString(16)}`);
    }
    if (sub.remaining > 0) throw krlError(`invalid KRL: ${here} has ${sub.remaining} unparsed bytes`);
  }
}

function checkDecodedSerial(serial: bigint, where: string): void {
  // krl.c's ssh_krl_revoke_cert_by_serial_range refuses 0, which fails the whole load.
  if (serial === 0n) throw krlError(`invalid KRL: ${where} revokes serial 0, which OpenSSH refuses`);
}

function readBitmap(sub: SshReader, runs: Array<[bigint, bigint]>, where: string): void {
  const offset = sub.uint64();
  // Read the mpint by hand to apply OpenSSH's limits to its encoded length.
  const raw = sub.string();
  if (raw.length > 0 && (raw[0]! & 0x80) !== 0) throw krlError(`invalid KRL: ${where} has a negative bitmap`);
  if (raw.length > MAX_BITMAP_MPINT_BYTES + 1 || (raw.length === MAX_BITMAP_MPINT_BYTES + 1 && raw[0] !== 0)) {
    throw krlError(
      `invalid KRL: ${where} has a ${raw.length}-byte bitmap; OpenSSH refuses bitmaps over ${MAX_BITMAP_MPINT_BYTES} bytes`,
      'ssh-keygen 9.x can write such bitmaps itself; regenerate the KRL with tctl',
    );
  }
  let runStart = -1;
  const flush = (endBit: number): void => {
    if (runStart < 0) return;
    const lo = offset + BigInt(runStart);
    const hi = offset + BigInt(endBit - 1);
    checkDecodedSerial(lo, where);
    if (hi > U64_MAX) throw krlError(`invalid KRL: ${where} has a bitmap that runs past serial 2^64-1`);
    runs.push([lo, hi]);
    runStart = -1;
  };
  const nbits = raw.length * 8;
  for (let bit = 0; bit < nbits; bit++) {
    const set = (raw[raw.length - 1 - (bit >> 3)]! & (1 << (bit & 7))) !== 0;
    if (set && runStart < 0) runStart = bit;
    else if (!set) flush(bit);
  }
  flush(nbits);
}

/** PROTOCOL.krl §2.5 and §5: unknown non-critical extensions are skipped, critical ones fail the load. */
function readExtension(s: SshReader, where: string): void {
  const name = readCString(s, `the extension name in ${where}`);
  const critical = s.byte();
  s.string();
  if (critical !== 0) throw krlError(`invalid KRL: ${where} is the critical extension "${name}", which tctl does not support`);
}

function readCString(r: SshReader, what: string): string {
  const bytes = r.string();
  const s = bytes.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(bytes)) throw krlError(`invalid KRL: ${what} is not valid UTF-8`);
  if (s.includes('\0')) throw krlError(`invalid KRL: ${what} contains a NUL character`);
  return s;
}

function expandRuns(runs: Array<[bigint, bigint]>): bigint[] {
  runs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: Array<[bigint, bigint]> = [];
  let total = 0n;
  for (const [lo, hi] of runs) {
    const last = merged[merged.length - 1];
    if (last !== undefined && lo <= last[1] + 1n) {
      if (hi > last[1]) {
        total += hi - last[1];
        last[1] = hi;
      }
    } else {
      merged.push([lo, hi]);
      total += hi - lo + 1n;
    }
  }
  if (total > BigInt(MAX_DECODED_SERIALS_PER_CA)) {
    throw krlError(
      `the KRL revokes ${total} serials for one CA, more than tctl can list (${MAX_DECODED_SERIALS_PER_CA})`,
      'use `ssh-keygen -Q -l -f <krl>` to see its ranges',
    );
  }
  const serials: bigint[] = [];
  for (const [lo, hi] of merged) for (let s = lo; s <= hi; s++) serials.push(s);
  return serials;
}
