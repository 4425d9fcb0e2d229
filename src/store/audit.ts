// A tamper-evident audit log: one JSON line per state-changing command, each carrying the
// SHA-256 of the previous line, so editing or deleting a line breaks the chain after it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname, userInfo } from 'node:os';
import * as path from 'node:path';
import { appendLine, fileError } from './files.js';

export const AUDIT_LOG = 'audit.jsonl';
const GENESIS = '0'.repeat(64);

export interface AuditEvent {
  command: string;
  what: Record<string, unknown>;
  result: 'ok' | 'error';
  error?: string;
}

interface AuditLine extends AuditEvent {
  seq: number;
  time: string;
  who: { user: string; host: string };
  prev: string;
  hash: string;
}

function lineHash(entry: Omit<AuditLine, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
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
function lastLine(file: string): string | undefined {
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
      const lines = buf.toString('utf8').split('\n').filter((l) => l !== '');
      if (lines.length >= 2 || start === 0) return lines.at(-1);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends one event. Call under the data dir lock so the chain has a single writer. */
export function appendAudit(dataDir: string, event: AuditEvent, now: Date = new Date()): void {
  const file = path.join(dataDir, AUDIT_LOG);
  const last = lastLine(file);
  let prev = GENESIS;
  let seq = 1;
  if (last !== undefined) {
    try {
      const parsed = JSON.parse(last) as AuditLine;
      prev = parsed.hash;
      seq = parsed.seq + 1;
    } catch {
      // A torn or edited last line: chain onto its raw bytes so verify reports that exact line.
      prev = createHash('sha256').update(last).digest('hex');
      seq = NaN;
    }
  }
  const entry: Omit<AuditLine, 'hash'> = { seq, time: now.toISOString(), who: who(), ...event, prev };
  appendLine(file, JSON.stringify({ ...entry, hash: lineHash(entry) }));
}

export interface AuditVerdict {
  ok: boolean;
  lines: number;
  /** 1-based line number of the first line that breaks the chain */
  brokenLine?: number;
  reason?: string;
}

export function verifyAudit(dataDir: string): AuditVerdict {
  const file = path.join(dataDir, AUDIT_LOG);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, lines: 0 };
    throw fileError('cannot read', file, err);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const bad = (reason: string): AuditVerdict => ({ ok: false, lines: lines.length, brokenLine: i + 1, reason });
    let parsed: AuditLine;
    try {
      parsed = JSON.parse(lines[i]!) as AuditLine;
    } catch {
      return bad('not valid JSON');
    }
    const { hash, ...entry } = parsed;
    if (parsed.seq !== i + 1) return bad(`sequence number ${String(parsed.seq)}, expected ${i + 1} (a line was removed or inserted)`);
    if (parsed.prev !== prev) return bad('does not chain to the previous line (a line before it was changed, removed or inserted)');
    if (lineHash(entry) !== hash) return bad('its content does not match its hash (the line was edited)');
    prev = hash;
  }
  return { ok: true, lines: lines.length };
}

/**
 * Runs a state change and records it, whether it succeeded or failed. Call under the lock; fn
 * returns its result and what to record about it.
 */
export function audited<T>(dataDir: string, command: string, fn: () => { result: T; what: Record<string, unknown> }): T {
  let outcome: { result: T; what: Record<string, unknown> };
  try {
    outcome = fn();
  } catch (err) {
    if (fs.existsSync(path.join(dataDir, 'state.json'))) {
      appendAudit(dataDir, { command, what: {}, result: 'error', error: (err as Error).message });
    }
    throw err;
  }
  appendAudit(dataDir, { command, what: outcome.what, result: 'ok' });
  return outcome.result;
}
