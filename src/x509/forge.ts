// node-forge's ASN.1 codec, loaded on first use. The SSH commands import nothing from here at
// start-up, and even a TLS command pays only for forge's asn1/oids/util files (~5 ms), not the
// whole package (~30 ms): forge's index pulls in every cipher and its pure-JS RSA.
import { createRequire } from 'node:module';
import type forgeTypes from 'node-forge';
import { TctlError } from '../errors.js';

export type Asn1 = forgeTypes.asn1.Asn1;
type Asn1Module = typeof forgeTypes.asn1;

// Made on first use too: the SSH signing path imports this file (keys/adapters.ts) and never asks.
let nodeRequire: NodeRequire | undefined;
const forgeFile = (file: string): unknown => (nodeRequire ??= createRequire(import.meta.url))(file);
let asn1Module: Asn1Module | undefined;

/** forge's asn1 namespace (create, toDer, fromDer, OID and time helpers). */
export function asn1(): Asn1Module {
  asn1Module ??= forgeFile('node-forge/lib/asn1.js') as Asn1Module;
  return asn1Module;
}

/** Largest DER input decoded: a certificate or CSR is a few KiB; this leaves room for long SAN lists. */
export const MAX_DER_BYTES = 256 * 1024;

// forge works on "binary strings" (one char per byte); everything outside this file uses Buffers.
const toBinary = (b: Buffer): string => b.toString('latin1');
const fromBinary = (s: string): Buffer => Buffer.from(s, 'latin1');

export function toDer(node: Asn1): Buffer {
  return fromBinary(asn1().toDer(node).getBytes());
}

/**
 * Decodes DER strictly: the bytes must be one complete element, and re-encoding the parse must give
 * the same bytes back, so a signature checked over a re-encoded part covers exactly what was signed.
 */
export function fromDer(der: Buffer, what: string): Asn1 {
  if (der.length > MAX_DER_BYTES) throw new TctlError(`${what} is too large: ${der.length} bytes (at most ${MAX_DER_BYTES})`);
  let node: Asn1;
  try {
    const options = { strict: true, parseAllBytes: true, decodeBitStrings: false };
    node = asn1().fromDer(toBinary(der), options as unknown as boolean);
  } catch (err) {
    throw new TctlError(`${what} is not valid DER: ${(err as Error).message.replace(/\.$/, '').toLowerCase()}`);
  }
  if (!toDer(node).equals(der)) throw new TctlError(`${what} is not in DER (distinguished) encoding`);
  return node;
}

// --- builders: each returns a forge node; DER tags and lengths are forge's job ---

const C = () => asn1().Class;
const T = () => asn1().Type;

export function seq(items: Asn1[]): Asn1 {
  return asn1().create(C().UNIVERSAL, T().SEQUENCE, true, items);
}

export function set(items: Asn1[]): Asn1 {
  return asn1().create(C().UNIVERSAL, T().SET, true, items);
}

export function oid(dotted: string): Asn1 {
  return asn1().create(C().UNIVERSAL, T().OID, false, asn1().oidToDer(dotted).getBytes());
}

export function nullValue(): Asn1 {
  return asn1().create(C().UNIVERSAL, T().NULL, false, '');
}

export function bool(value: boolean): Asn1 {
  return asn1().create(C().UNIVERSAL, T().BOOLEAN, false, value ? '\xff' : '\x00');
}

/** A DER INTEGER from a non-negative bigint: minimal two's complement, so a set top bit gets a 0x00 prefix. */
export function uint(value: bigint): Asn1 {
  return asn1().create(C().UNIVERSAL, T().INTEGER, false, toBinary(unsignedIntegerBytes(value)));
}

export function unsignedIntegerBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative integer');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const bytes = Buffer.from(hex, 'hex');
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

export function octets(value: Buffer): Asn1 {
  return asn1().create(C().UNIVERSAL, T().OCTETSTRING, false, toBinary(value));
}

/** A BIT STRING holding whole bytes (no unused bits), e.g. a signature or a public key. */
export function bitsFromBytes(value: Buffer): Asn1 {
  return asn1().create(C().UNIVERSAL, T().BITSTRING, false, '\x00' + toBinary(value));
}

/** A named-bit BIT STRING (RFC 5280 keyUsage): bit 0 is the most significant; trailing zero bits dropped (X.690 §11.2.2). */
export function namedBits(bits: number[]): Asn1 {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest % 8);
  return asn1().create(C().UNIVERSAL, T().BITSTRING, false, String.fromCharCode(unused) + toBinary(bytes));
}

/** PrintableString when the text allows it (as Go does), else UTF8String. */
export function directoryString(text: string): Asn1 {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text);
  return printable
    ? asn1().create(C().UNIVERSAL, T().PRINTABLESTRING, false, text)
    : asn1().create(C().UNIVERSAL, T().UTF8, false, toBinary(Buffer.from(text, 'utf8')));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds only. */
export function time(date: Date): Asn1 {
  const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
  const year = whole.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`date out of range: ${whole.toISOString()}`);
  return year < 2050
    ? asn1().create(C().UNIVERSAL, T().UTCTIME, false, asn1().dateToUtcTime(whole))
    : asn1().create(C().UNIVERSAL, T().GENERALIZEDTIME, false, asn1().dateToGeneralizedTime(whole));
}

/** [n] EXPLICIT wrapper. */
export function explicit(tag: number, inner: Asn1): Asn1 {
  return asn1().create(C().CONTEXT_SPECIFIC, tag, true, [inner]);
}

/** [n] IMPLICIT primitive value (e.g. a GeneralName's dNSName or iPAddress). */
export function implicitPrimitive(tag: number, value: Buffer): Asn1 {
  return asn1().create(C().CONTEXT_SPECIFIC, tag, false, toBinary(value));
}

/** Wraps already-encoded DER so it can be placed inside a new structure unchanged. */
export function raw(der: Buffer): Asn1 {
  return fromDer(der, 'embedded structure');
}

// --- readers ---

export function children(node: Asn1, what: string): Asn1[] {
  if (!Array.isArray(node.value)) throw new TctlError(`${what}: expected a constructed value`);
  return node.value;
}

/** The elements of a node that must be a universal SEQUENCE (any other tag is malformed, even if the rest parses). */
export function sequence(node: Asn1 | undefined, what: string): Asn1[] {
  if (!node || node.tagClass !== C().UNIVERSAL || node.type !== T().SEQUENCE || !Array.isArray(node.value)) throw new TctlError(`${what}: expected a SEQUENCE`);
  return node.value;
}

export function bytesOf(node: Asn1): Buffer {
  if (typeof node.value !== 'string') throw new TctlError('expected a primitive value');
  return fromBinary(node.value);
}

export function oidOf(node: Asn1): string {
  if (node.tagClass !== C().UNIVERSAL || node.type !== T().OID) throw new TctlError('expected an object identifier');
  return asn1().derToOid(node.value as string);
}

/** The value of a BIT STRING that holds whole bytes. */
export function bitStringBytes(node: Asn1): Buffer {
  const b = bytesOf(node);
  if (node.tagClass !== C().UNIVERSAL || node.type !== T().BITSTRING || b.length === 0 || b[0] !== 0) throw new TctlError('expected a byte-aligned bit string');
  return b.subarray(1);
}

export function isUniversal(node: Asn1 | undefined, type: number): boolean {
  return node !== undefined && node.tagClass === C().UNIVERSAL && node.type === type;
}

export function isContext(node: Asn1 | undefined, tag: number): boolean {
  return node !== undefined && node.tagClass === C().CONTEXT_SPECIFIC && node.type === tag;
}

export function readTime(node: Asn1): Date {
  if (isUniversal(node, T().UTCTIME)) return asn1().utcTimeToDate(node.value as string);
  if (isUniversal(node, T().GENERALIZEDTIME)) return asn1().generalizedTimeToDate(node.value as string);
  throw new TctlError('expected a UTCTime or GeneralizedTime');
}

/** A signed INTEGER as a bigint (two's complement), so a negative serial is seen as negative. */
export function readInteger(node: Asn1): bigint {
  const b = bytesOf(node);
  if (b.length === 0) throw new TctlError('empty integer');
  const unsigned = BigInt('0x' + b.toString('hex'));
  return b[0]! & 0x80 ? unsigned - (1n << BigInt(b.length * 8)) : unsigned;
}

export function readString(node: Asn1): string {
  const b = bytesOf(node);
  if (node.type === T().BMPSTRING) return b.swap16().toString('utf16le');
  return node.type === T().UTF8 ? b.toString('utf8') : b.toString('latin1');
}

export const TYPE = {
  get BOOLEAN() { return T().BOOLEAN; },
  get INTEGER() { return T().INTEGER; },
  get BITSTRING() { return T().BITSTRING; },
  get OCTETSTRING() { return T().OCTETSTRING; },
  get OID() { return T().OID; },
  get SEQUENCE() { return T().SEQUENCE; },
  get SET() { return T().SET; },
};

type PemModule = typeof forgeTypes.pem;
let pemModule: PemModule | undefined;

/** forge's PEM reader (RFC 7468 labels; `NEW CERTIFICATE REQUEST` read as `CERTIFICATE REQUEST`). */
export function pem(): PemModule {
  pemModule ??= forgeFile('node-forge/lib/pem.js') as PemModule;
  return pemModule;
}
