// A tamper-evident audit log: one JSON line per state-changing command, each carrying the
// SHA-256 of the previous line, so editing or deleting a line breaks the chain after it.
//
// The chain covers the bytes on disk, not what a JSON parser makes of them: "\u0061lice" and
// "alice" parse alike, as do lines with extra spaces or a duplicate key, so a hash of re-parsed
// JSON lets such edits through.
//
// Format 2 (lines starting `{"v":2,`): the hash member comes last, so every line ends with the
// fixed 75-byte suffix `,"hash":"<64 hex>"}`, and hash = SHA-256 of every byte of the line before
// that suffix (which includes `"prev"`, the previous line's hash). Anyone can check a line with
// `head -c -76 | sha256sum` (the newline is the 76th byte), with no JSON library.
//
// Format 1 (no "v"; written before format 2): hash = SHA-256 of JSON.stringify of the entry without
// its hash. Those lines keep verifying, and must also be byte for byte what that writer produced,
// JSON.stringify of the entry with hash appended last: serialising the parsed line that way
// gives back one byte string only, so their bytes are as fixed as format 2's. New lines are
// always format 2; no migration is needed.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname, userInfo } from 'node:os';
import * as path from 'node:path';
import { appendLine, fileError } from './files.js';
import type { CaStore } from './ca-store.js';

export const AUDIT_LOG = 'audit.jsonl';
const GENESIS = '0'.repeat(64);
const FORMAT = 2;
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;
const HASH_SUFFIX_BYTES = ',"hash":"'.length + 64 + '"}'.length;
/** No audit entry comes near this; a longer line is damage, refused without holding it all. */
export const MAX_AUDIT_LINE_BYTES = 1024 * 1024;

export interface AuditEvent {
  command: string;
  what: Record<string, unknown>;
  result: 'ok' | 'error';
  error?: string;
}

interface AuditLine extends AuditEvent {
  v?: number;
  seq: number;
  time: string;
  who: { user: string; host: string };
  prev: string;
  hash: string;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Format 2: the line's own bytes, up to its hash member. */
function formatLine(entry: Omit<AuditLine, 'hash'>): string {
  const body = JSON.stringify(entry).slice(0, -1);
  return `${body},"hash":"${sha256(body)}"}`;
}

function who(): { user: string; host: string } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = String(process.getuid?.() ?? 'unknown');
  }
  return { user, host: hostname() };
}

/** The last complete line of a file, read from its tail: O(1) in the length of the log. */
function lastLine(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError('cannot read', file, err);
  }
  try {
    const size = fs.fstatSync(fd).size;
    for (let window = 4096; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      const end = buf.at(-1) === 0x0a ? buf.length - 1 : buf.length;
      const nl = buf.lastIndexOf(0x0a, end - 1);
      // A last line longer than any entry is damage that verify reports; chain onto what we read.
      if (nl >= 0 || start === 0 || window > MAX_AUDIT_LINE_BYTES) return end === 0 ? undefined : buf.subarray(nl + 1, end);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends one event. Call under the data dir lock so the chain has a single writer. */
export function appendAudit(dataDir: string, event: AuditEvent, now: Date = new Date()): void {
  const file = path.join(dataDir, AUDIT_LOG);
  appendLine(file, auditLineAfter(lastLine(file), event, now));
}

export interface AuditVerdict {
  ok: boolean;
  lines: number;
  /** 1-based line number of the first line that breaks the chain */
  brokenLine?: number;
  reason?: string;
}

/** Lines as raw bytes (no decoding, so no two byte strings look alike), 64 KiB reads at a time. */
export function* lineBytes(fd: number): Generator<Buffer | 'too long'> {
  const buf = Buffer.alloc(64 * 1024);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    let from = 0;
    for (let nl = buf.indexOf(0x0a, from); nl !== -1 && nl < n; nl = buf.indexOf(0x0a, from)) {
      pending.push(Buffer.from(buf.subarray(from, nl)));
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
    }
    pending.push(Buffer.from(buf.subarray(from, n)));
    pendingBytes += n - from;
    if (pendingBytes > MAX_AUDIT_LINE_BYTES) {
      yield 'too long';
      return;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

/** Why line lineNo (1-based) does not follow a line whose hash is prev, or its own hash when it does. */
function checkLine(raw: Buffer, lineNo: number, prev: string): { problem: string } | { hash: string } {
  let parsed: AuditLine;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as AuditLine;
  } catch {
    return { problem: 'not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'not an audit entry' };
  if (parsed.seq !== lineNo) return { problem: `sequence number ${String(parsed.seq)}, expected ${lineNo} (a line was removed or inserted)` };
  if (parsed.prev !== prev) return { problem: 'does not chain to the previous line (a line before it was changed, removed or inserted)' };
  if (parsed.v === FORMAT) {
    const m = HASH_SUFFIX.exec(raw.subarray(-HASH_SUFFIX_BYTES).toString('latin1'));
    if (!m || raw.length <= HASH_SUFFIX_BYTES || parsed.hash !== m[1]) return { problem: 'does not end with its hash (the line was edited)' };
    if (sha256(raw.subarray(0, -HASH_SUFFIX_BYTES)) !== m[1]) return { problem: 'its content does not match its hash (the line was edited)' };
    return { hash: m[1]! };
  }
  if (parsed.v !== undefined) return { problem: `unknown format version ${JSON.stringify(parsed.v)}` };
  const { hash, ...entry } = parsed;
  if (typeof hash !== 'string' || sha256(JSON.stringify(entry)) !== hash) return { problem: 'its content does not match its hash (the line was edited)' };
  if (!Buffer.from(JSON.stringify({ ...entry, hash })).equals(raw)) return { problem: 'its bytes are not as written (escapes, spacing or keys were edited)' };
  return { hash };
}

/** Follows a chain line by line: next() returns the verdict at the first broken line, end() the verdict of an intact chain. */
function chainVerifier(): { next(raw: AuditLineBytes): AuditVerdict | undefined; end(): AuditVerdict } {
  let prev = GENESIS;
  let n = 0;
  return {
    next(raw) {
      n++;
      const bad = (reason: string): AuditVerdict => ({ ok: false, lines: n, brokenLine: n, reason });
      if (raw === 'too long') return bad(`longer than ${MAX_AUDIT_LINE_BYTES} bytes`);
      const r = checkLine(raw, n, prev);
      if ('problem' in r) return bad(r.problem);
      prev = r.hash;
      return undefined;
    },
    end: () => ({ ok: true, lines: n }),
  };
}


/**
 * Records a command that failed, as its last act under the lock. A store that cannot record it
 * (the database went away, the disk is full) leaves the command's own error to be reported: it
 * says more than the failure to log it would.
 */
export function recordFailure(store: CaStore, event: AuditEvent & { result: 'error' }): void {
  try {
    store.auditFailure(event);
  } catch {
    // see above
  }
}

/**
 * Runs a state change and records it, whether it succeeded or failed. Call under the lock; fn
 * returns its result and what to record about it.
 */
export function audited<T>(store: CaStore, command: string, fn: () => { result: T; what: Record<string, unknown> }): T {
  let outcome: { result: T; what: Record<string, unknown> };
  try {
    outcome = fn();
  } catch (err) {
    recordFailure(store, { command, what: {}, result: 'error', error: (err as Error).message });
    throw err;
  }
  store.appendAudit({ command, what: outcome.what, result: 'ok' });
  return outcome.result;
}

// For storage backends that keep the chain elsewhere than audit.jsonl (src/store/backend.ts):
// the same line bytes and the same verdict, from lines handed over rather than read from the file.

/** The line appendAudit would write after `last` (the chain's last line, undefined when empty). */
export function auditLineAfter(last: Buffer | undefined, event: AuditEvent, now: Date = new Date()): string {
  let prev = GENESIS;
  let seq = 1;
  if (last !== undefined) {
    try {
      const parsed = JSON.parse(last.toString('utf8')) as AuditLine;
      if (typeof parsed.hash !== 'string' || !Number.isSafeInteger(parsed.seq)) throw new Error('not an audit line');
      prev = parsed.hash;
      seq = parsed.seq + 1;
    } catch {
      // As appendAudit: chain onto the raw bytes of a damaged last line so verify names that line.
      prev = sha256(last);
      seq = 0;
    }
  }
  return formatLine({ v: FORMAT, seq, time: now.toISOString(), who: who(), ...event, prev });
}

/** A line as a store hands it over: its bytes without the newline, or 'too long' past MAX_AUDIT_LINE_BYTES. */
export type AuditLineBytes = Buffer | 'too long';

/** verifyAudit's verdict for a chain as a store hands it over, line by line in order. */
export function verifyChain(lines: Iterable<AuditLineBytes>): AuditVerdict {
  const chain = chainVerifier();
  for (const raw of lines) {
    const broken = chain.next(raw);
    if (broken) return broken;
  }
  return chain.end();
}

/** verifyChain for lines that arrive asynchronously. */
export async function verifyAuditLines(lines: AsyncIterable<AuditLineBytes> | Iterable<AuditLineBytes>): Promise<AuditVerdict> {
  const chain = chainVerifier();
  for await (const raw of lines) {
    const broken = chain.next(raw);
    if (broken) return broken;
  }
  return chain.end();
}
