// revoked.jsonl read for a KRL. A KRL of 100,000 serials spent most of its time in JSON.parse,
// building an object per line to read two of its fields, so serial revocations in the exact form
// `auth revoke` writes them are recognised byte by byte instead. Every other line (another kind, a
// reason, other spacing or key order, a torn append) goes through JSON.parse as readRevocations
// does, so both readings agree on every file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../errors.js';
import { fileError } from './files.js';
import { REVOCATIONS_FILE, parseRevocationLine } from './revocations.js';
import type { RevocationRecord } from './revocations.js';

/** The revocations of a data dir as buildKrl takes them. */
export interface ScannedRevocations {
  /** Serial revocations recognised by the fast path, by the fingerprint of the CA key that signed them. */
  serials: Map<string, BigUint64Array>;
  /** How many records are in `serials`. */
  serialCount: number;
  /** Every other record, in file order. */
  records: RevocationRecord[];
}

/** The same as readRevocations, for a file that is already parsed. */
export function scannedFromRecords(records: RevocationRecord[]): ScannedRevocations {
  return { serials: new Map(), serialCount: 0, records };
}

const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 4 * MAX_LINE_BYTES;

// A run of serial lines for one CA key, as `auth revoke` writes them (JSON.stringify of a record
// without a reason, Date.toISOString() times), is checked in one go by the regular expression
// engine; then only the digits of each line are read. Serials of up to 15 digits (exact as
// doubles) and without a leading zero (whose value JSON readers disagree on); others go the slow way.
const LINE_HEAD = '{"kind":"serial","serial":"';
const FINGERPRINT_HEAD = '","caFingerprint":"';
const TIME_HEAD = '","revokedAt":"';
const TIME_LENGTH = '2024-05-01T12:00:00.000Z'.length;
const LINE_TAIL = '"}\n';
const regexText = (s: string) => s.replace(/[{}.]/g, '\\$&');
const serialLine = (fingerprint: string) =>
  `${regexText(LINE_HEAD)}[1-9]\\d{0,14}${regexText(FINGERPRINT_HEAD)}${fingerprint}${regexText(TIME_HEAD)}` +
  `\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z${regexText(LINE_TAIL)}`;
const SERIAL_RUN = new RegExp(`${serialLine('([A-Za-z0-9+/=:]*)')}(?:${serialLine('\\1')})*`, 'y');

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A growing BigUint64Array, filled through its 32-bit halves so no BigInt is made per serial. */
class SerialBuffer {
  private values = new BigUint64Array(1024);
  private halves = new Uint32Array(this.values.buffer);
  length = 0;

  /** Adds the serials of a run of lines SERIAL_RUN matched; returns how many. */
  pushRun(buf: Buffer, start: number, end: number, fingerprintLength: number): number {
    // Bytes from the quote that ends a serial to the start of the next line.
    const rest = FINGERPRINT_HEAD.length + fingerprintLength + TIME_HEAD.length + TIME_LENGTH + LINE_TAIL.length;
    const low = LITTLE_ENDIAN ? 0 : 1;
    let count = 0;
    for (let p = start; p < end; p += rest) {
      let serial = 0;
      for (p += LINE_HEAD.length; buf[p] !== 0x22; p++) serial = serial * 10 + (buf[p]! - 0x30);
      if (this.length === this.values.length) this.grow();
      const i = 2 * this.length++;
      this.halves[i + low] = serial >>> 0;
      this.halves[i + 1 - low] = Math.floor(serial / 2 ** 32);
      count++;
    }
    return count;
  }

  private grow(): void {
    const bigger = new BigUint64Array(this.values.length * 2);
    bigger.set(this.values);
    this.values = bigger;
    this.halves = new Uint32Array(bigger.buffer);
  }

  toArray(): BigUint64Array {
    return this.values.subarray(0, this.length);
  }
}

class Scanner {
  readonly serials = new Map<string, SerialBuffer>();
  serialCount = 0;
  readonly records: RevocationRecord[] = [];
  constructor(private readonly file: string) {}

  /** Lines buf[from..to), to just after a newline. Offsets in the latin1 text are byte offsets. */
  lines(buf: Buffer, from: number, to: number): void {
    const text = buf.toString('latin1', from, to);
    for (let p = 0; p < text.length; ) {
      SERIAL_RUN.lastIndex = p;
      const run = SERIAL_RUN.exec(text);
      if (run !== null) {
        const fingerprint = run[1]!;
        this.serialCount += this.bufferFor(fingerprint).pushRun(buf, from + p, from + SERIAL_RUN.lastIndex, fingerprint.length);
        p = SERIAL_RUN.lastIndex;
        continue;
      }
      const nl = text.indexOf('\n', p);
      if (nl - p > MAX_LINE_BYTES) throw longLine(this.file);
      const r = parseRevocationLine(buf.toString('utf8', from + p, from + nl));
      if (r !== undefined) this.records.push(r);
      p = nl + 1;
    }
  }

  private bufferFor(fingerprint: string): SerialBuffer {
    let b = this.serials.get(fingerprint);
    if (b === undefined) {
      b = new SerialBuffer();
      // A copy, so the key does not keep the whole chunk's text alive.
      this.serials.set(Buffer.from(fingerprint, 'latin1').toString('latin1'), b);
    }
    return b;
  }
}

/** Reads revoked.jsonl for a KRL: the same records as readRevocations, serials kept compact. */
export function scanRevocations(dataDir: string): ScannedRevocations {
  const file = path.join(dataDir, REVOCATIONS_FILE);
  const scanner = new Scanner(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return scannedFromRecords([]);
    throw fileError('cannot read', file, err);
  }
  try {
    // One byte spare: a last line without a newline is given one.
    const buf = Buffer.allocUnsafe(CHUNK_BYTES + 1);
    let have = 0;
    let atStart = true;
    for (;;) {
      const n = fs.readSync(fd, buf, have, CHUNK_BYTES - have, null);
      have += n;
      if (atStart) {
        if (have < 3 && n !== 0) continue;
        // As TextDecoder (readRevocations) does, a byte order mark at the start is not content.
        const bom = have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
        if (bom) buf.copyWithin(0, 3, have);
        if (bom) have -= 3;
        atStart = false;
      }
      if (n === 0) {
        if (have > 0 && buf[have - 1] !== 0x0a) buf[have++] = 0x0a;
        scanner.lines(buf, 0, have);
        break;
      }
      const end = buf.lastIndexOf(0x0a, have - 1) + 1;
      if (have - end > MAX_LINE_BYTES) throw longLine(file);
      scanner.lines(buf, 0, end);
      buf.copyWithin(0, end, have);
      have -= end;
    }
  } finally {
    fs.closeSync(fd);
  }
  const serials = new Map<string, BigUint64Array>();
  for (const [fingerprint, b] of scanner.serials) serials.set(fingerprint, b.toArray());
  return { serials, serialCount: scanner.serialCount, records: scanner.records };
}

function longLine(file: string): TctlError {
  return new TctlError(`${file} has a line longer than ${MAX_LINE_BYTES} bytes`);
}
