// The serial sub-sections of a KRL certificates section (PROTOCOL.krl §2.1-2.3): which serials go
// in the list, which in ranges and which in bitmaps, and their bytes.
//
// Serials are 64-bit, but after one native sort of a BigUint64Array every step here works on the
// two 32-bit halves of each serial: a KRL of 100,000 serials would otherwise spend most of its
// time allocating BigInts.

import { TctlError } from '../errors.js';
import type { SshWriter } from './wire.js';

const CERT_SERIAL_LIST = 0x20;
const CERT_SERIAL_RANGE = 0x21;
const CERT_SERIAL_BITMAP = 0x22;

const U64_MAX = (1n << 64n) - 1n;
const TWO_32 = 2 ** 32;

// OpenSSH reads a bitmap as an mpint and refuses magnitudes over 2048 bytes (SSHBUF_MAX_BIGNUM).
// Its own writer ignores that limit (ssh-keygen 9.2 writes KRLs it then cannot load), so we cap
// every bitmap at 16384 bits and start another one.
export const MAX_BITMAP_BITS = 16384;

// Byte costs used to choose between encodings: a sub-section costs 1 (type) + 4 (length), a range
// holds two uint64s, a bitmap an offset and an mpint length prefix before its bits.
const COST_LIST_SERIAL = 8;
const COST_RANGE = 1 + 4 + 16;
const COST_BITMAP_START = 1 + 4 + 8 + 4;

// Which half of a serial is at 2i and which at 2i+1 in a Uint32Array over a BigUint64Array.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Sorted unique serials as their high and low 32-bit halves, grouped in runs of consecutive
 * serials: run r is serials runStart[r] .. runStart[r + 1] - 1.
 */
export interface SortedSerials {
  high: Uint32Array;
  low: Uint32Array;
  runStart: Int32Array;
  runs: number;
}

/**
 * serial(b) - serial(a) as a double: exact below 2^53, and beyond that still far larger than any
 * bitmap, which is all the encoder asks of it.
 */
function distance(s: SortedSerials, a: number, b: number): number {
  return (s.high[b]! - s.high[a]!) * TWO_32 + (s.low[b]! - s.low[a]!);
}

function serialError(message: string, hint?: string): TctlError {
  return new TctlError(message, { hint });
}

function zeroSerialError(): TctlError {
  // krl.c refuses serial 0 when loading (the whole KRL would be rejected), and never matches it:
  // 0 is what a certificate carries when its CA assigned no serial.
  return serialError('certificate serial 0 cannot be revoked: OpenSSH treats 0 as "no serial"', 'revoke such certificates by key id or by public key');
}

/** Checks, sorts and de-duplicates serials given as bigint arrays or BigUint64Arrays. */
export function sortSerials(lists: Array<readonly bigint[] | BigUint64Array>): SortedSerials {
  let total = 0;
  for (const list of lists) total += list.length;
  const all = new BigUint64Array(total);
  let n = 0;
  for (const list of lists) {
    if (list instanceof BigUint64Array) {
      all.set(list, n);
      n += list.length;
      continue;
    }
    for (const s of list) {
      if (typeof s !== 'bigint' || s < 0n || s > U64_MAX) {
        throw serialError(`certificate serial ${String(s)} is not a 64-bit unsigned integer`);
      }
      if (s === 0n) throw zeroSerialError();
      all[n++] = s;
    }
  }
  all.sort();

  const halves = new Uint32Array(all.buffer);
  const hi = LITTLE_ENDIAN ? 1 : 0;
  const lo = 1 - hi;
  const high = new Uint32Array(total);
  const low = new Uint32Array(total);
  const runStart = new Int32Array(total + 1);
  let unique = 0;
  let runs = 0;
  for (let i = 0; i < total; i++) {
    const h = halves[2 * i + hi]!;
    const l = halves[2 * i + lo]!;
    if (unique > 0) {
      const ph = high[unique - 1]!;
      const pl = low[unique - 1]!;
      if (h === ph && l === pl) continue;
      // A new run unless this serial is the previous one plus 1 (the carry included).
      const next = pl === 0xffffffff ? h === ph + 1 && l === 0 : h === ph && l === pl + 1;
      if (!next) runStart[runs++] = unique;
    } else {
      if (h === 0 && l === 0) throw zeroSerialError();
      runStart[runs++] = 0;
    }
    high[unique] = h;
    low[unique] = l;
    unique++;
  }
  runStart[runs] = unique;
  return { high, low, runStart, runs };
}

const USE_LIST = 0;
const USE_RANGE = 1;
const USE_BITMAP = 2;

/**
 * Picks list, range or bitmap per run with the smallest estimated size, as krl.c's
 * choose_next_state does, but over the whole run sequence (a small dynamic programme) rather than
 * greedily: list for isolated serials, range for long runs, bitmaps where revoked serials are dense
 * but scattered.
 */
function chooseEncodings(s: SortedSerials): { use: Uint8Array; bitmapStart: Uint8Array } {
  const m = s.runs;
  const start = s.runStart;
  // Costs are in bytes, bitmap bits counted fractionally. closed[i]: cheapest encoding of runs
  // 0..i-1, any bitmap finished. open[i]: cheapest where run i-1 is in a bitmap run i may join;
  // since bitmap size grows linearly with span, joining costs only the bits up to run i's end.
  // Only one open bitmap is tracked per run, so with the 16384-bit cap this is near-optimal.
  const closed = new Float64Array(m + 1);
  const open = new Float64Array(m + 1).fill(Infinity);
  const openFirst = new Int32Array(m + 1); // first run of the bitmap that open[i] ends in
  const openIsNew = new Uint8Array(m + 1); // open[i]'s bitmap starts at run i-1
  const closedVia = new Uint8Array(m + 1); // USE_LIST, USE_RANGE or USE_BITMAP (= close open[i])

  for (let i = 0; i < m; i++) {
    const len = start[i + 1]! - start[i]!;
    const before = closed[i]!;

    const asList = before + COST_LIST_SERIAL * len;
    const asRange = before + COST_RANGE;

    let bestOpen = Infinity;
    if (len <= MAX_BITMAP_BITS) {
      bestOpen = before + COST_BITMAP_START + len / 8;
      openFirst[i + 1] = i;
      openIsNew[i + 1] = 1;
    }
    if (i > 0 && open[i]! < Infinity) {
      const firstRun = openFirst[i]!;
      const span = distance(s, start[firstRun]!, start[i + 1]! - 1) + 1;
      if (span <= MAX_BITMAP_BITS) {
        const extended = open[i]! + distance(s, start[i]! - 1, start[i + 1]! - 1) / 8;
        if (extended < bestOpen) {
          bestOpen = extended;
          openFirst[i + 1] = firstRun;
          openIsNew[i + 1] = 0;
        }
      }
    }
    open[i + 1] = bestOpen;

    let bestClosed = asRange;
    let via = USE_RANGE;
    if (asList < bestClosed) {
      bestClosed = asList;
      via = USE_LIST;
    }
    if (bestOpen < bestClosed) {
      bestClosed = bestOpen;
      via = USE_BITMAP;
    }
    closed[i + 1] = bestClosed;
    closedVia[i + 1] = via;
  }

  const use = new Uint8Array(m);
  const bitmapStart = new Uint8Array(m);
  let i = m;
  let inOpen = false;
  while (i > 0) {
    if (!inOpen) {
      const via = closedVia[i]!;
      if (via === USE_BITMAP) {
        inOpen = true;
        continue;
      }
      use[i - 1] = via;
      i--;
    } else {
      use[i - 1] = USE_BITMAP;
      if (openIsNew[i] === 1) {
        bitmapStart[i - 1] = 1;
        inOpen = false;
      }
      i--;
    }
  }
  return { use, bitmapStart };
}

/**
 * Every serial sub-section type may repeat and OpenSSH merges them on load, so all singly listed
 * serials share one list sub-section; ranges and bitmaps follow in ascending order. Sizes are
 * known before a byte is written, so the sub-sections go straight into one buffer.
 */
export function writeSerialSubsections(w: SshWriter, s: SortedSerials): void {
  if (s.runs === 0) return;
  const { use, bitmapStart } = chooseEncodings(s);
  const start = s.runStart;

  let listed = 0;
  let size = 0;
  for (let i = 0; i < s.runs; ) {
    if (use[i] === USE_LIST) {
      listed += start[i + 1]! - start[i]!;
      i++;
    } else if (use[i] === USE_RANGE) {
      size += SUBSECTION_HEADER + 16;
      i++;
    } else {
      const end = bitmapEnd(s.runs, use, bitmapStart, i);
      size += SUBSECTION_HEADER + bitmapBodySize(s, start[i]!, start[end]! - 1);
      i = end;
    }
  }
  if (listed > 0) size += SUBSECTION_HEADER + 8 * listed;

  const out = new DataView(new ArrayBuffer(size));
  let off = 0;
  const putSerial = (k: number) => {
    out.setUint32(off, s.high[k]!);
    out.setUint32(off + 4, s.low[k]!);
    off += 8;
  };
  if (listed > 0) {
    out.setUint8(off, CERT_SERIAL_LIST);
    out.setUint32(off + 1, 8 * listed);
    off += SUBSECTION_HEADER;
    for (let i = 0; i < s.runs; i++) {
      if (use[i] === USE_LIST) for (let k = start[i]!; k < start[i + 1]!; k++) putSerial(k);
    }
  }
  for (let i = 0; i < s.runs; ) {
    if (use[i] === USE_RANGE) {
      out.setUint8(off, CERT_SERIAL_RANGE);
      out.setUint32(off + 1, 16);
      off += SUBSECTION_HEADER;
      putSerial(start[i]!);
      putSerial(start[i + 1]! - 1);
      i++;
    } else if (use[i] === USE_BITMAP) {
      const end = bitmapEnd(s.runs, use, bitmapStart, i);
      const from = start[i]!;
      const to = start[end]! - 1;
      const body = bitmapBodySize(s, from, to);
      out.setUint8(off, CERT_SERIAL_BITMAP);
      out.setUint32(off + 1, body);
      off += SUBSECTION_HEADER;
      off = writeBitmap(out, off, s, from, to, body);
      i = end;
    } else {
      i++;
    }
  }
  w.raw(Buffer.from(out.buffer));
}

// A sub-section's type byte and length.
const SUBSECTION_HEADER = 1 + 4;

/** The run after the last of the bitmap that starts at run i. */
function bitmapEnd(runs: number, use: Uint8Array, bitmapStart: Uint8Array, i: number): number {
  let end = i + 1;
  while (end < runs && use[end] === USE_BITMAP && bitmapStart[end] === 0) end++;
  return end;
}

/**
 * PROTOCOL.krl §2.3: serial_offset then an mpint whose bit N revokes serial_offset + N. The last
 * serial sets the top bit, so the magnitude has no leading zero byte; if that bit is a byte's
 * high bit the mpint gets a zero byte first (RFC 4251 §5), or it would read as negative.
 */
function bitmapBodySize(s: SortedSerials, from: number, to: number): number {
  const bits = distance(s, from, to) + 1;
  return 8 + 4 + ((bits - 1) % 8 === 7 ? 1 : 0) + Math.ceil(bits / 8);
}

function writeBitmap(out: DataView, off: number, s: SortedSerials, from: number, to: number, body: number): number {
  out.setUint32(off, s.high[from]!);
  out.setUint32(off + 4, s.low[from]!);
  out.setUint32(off + 8, body - 12);
  // Bit 0 is the last byte's lowest bit; bytes are zero already (and so is any padding byte).
  const bytes = new Uint8Array(out.buffer, off, body);
  const last = body - 1;
  for (let k = from; k <= to; k++) {
    const bit = distance(s, from, k);
    bytes[last - (bit >> 3)]! |= 1 << (bit & 7);
  }
  return off + body;
}
