// The two passes of `auth sign --batch` over the spooled lines: check every line, then sign the
// good ones inside one signing session. A large batch on a machine with more than one core is
// spread over batch threads (ca/batch-threads.ts) and this thread, chunk by chunk; results are
// taken in line order either way, each signed chunk is logged before its files are handed to
// the writer, and users see the same certificates, serials, log and JSON.
import * as os from 'node:os';
import type { SigningSession } from '../ca/authority.js';
import { parseBatchLine } from '../ca/batch.js';
import { BatchThreadError, certificateFile, checkChunk, signChunk, signingContext } from '../ca/batch-threads.js';
import type { BatchThreads, CheckedLine, LineRules, SignedChunk } from '../ca/batch-threads.js';
import { TctlError } from '../errors.js';
import type { IssuanceRecord } from '../store/issuance.js';
import type { RevocationIndex } from '../store/revocations.js';
import type { FileWriter } from '../store/writer-thread.js';

/**
 * Lines are checked, signed, logged and written in chunks of this many, on threads or not: the
 * log is appended (and checkpointed) once a chunk, and memory stays flat. Threads keep two in flight.
 */
const CHUNK = 1000;
/** Threads pay for their start (tens of ms each) from a few thousand lines. */
export const THREADS_FROM = 2000;
const MAX_THREADS = 15;

/**
 * How many batch threads a batch of `lines` lines gets: one per core besides this thread's,
 * none on one core or for a small batch.
 */
export function batchThreads(lines: number): number {
  const cores = os.availableParallelism();
  return cores > 1 && lines >= THREADS_FROM ? Math.min(cores - 1, MAX_THREADS) : 0;
}

interface Chunk {
  lines: string[];
  /** the line number of each line */
  numbers: number[];
  firstSerial: bigint;
}

/**
 * Cuts the lines that `skip` does not skip into chunks and runs them: with threads, every
 * (size + 1)th chunk here (as soon as it is cut) and the others on the threads, submitted ahead
 * so they never wait. Results are taken in line order.
 */
function inLineOrder<R>(
  lines: Iterable<string>,
  skip: (n: number, line: string) => boolean,
  threads: BatchThreads | undefined,
  run: { here(c: Chunk): R; there(c: Chunk): void; take(): R; done(c: Chunk, r: R): void; serials?: bigint },
): void {
  const queue: Array<{ chunk: Chunk; result?: R }> = [];
  let away = 0;
  let made = 0;
  let serial = run.serials ?? 0n;
  const finishHead = () => {
    const { chunk, result } = queue.shift()!;
    if (result === undefined) away--;
    run.done(chunk, result ?? run.take());
  };
  let chunk: Chunk = { lines: [], numbers: [], firstSerial: serial };
  const cut = () => {
    serial += BigInt(chunk.lines.length);
    if (!threads || made++ % (threads.size + 1) === threads.size) {
      queue.push({ chunk, result: run.here(chunk) });
    } else {
      run.there(chunk);
      away++;
      queue.push({ chunk });
    }
    chunk = { lines: [], numbers: [], firstSerial: serial };
    while (queue.length > 0 && (queue[0]!.result !== undefined || (threads !== undefined && away >= 2 * threads.size))) finishHead();
  };
  let n = 0;
  for (const line of lines) {
    n++;
    if (skip(n, line)) continue;
    chunk.lines.push(line);
    chunk.numbers.push(n);
    if (chunk.lines.length === CHUNK) cut();
  }
  if (chunk.lines.length > 0) cut();
  while (queue.length > 0) finishHead();
}

/** Pass 1: every non-blank line checked on its own, reported in line order. */
export function checkBatch(lines: Iterable<string>, rules: LineRules, revoked: RevocationIndex, threads: BatchThreads | undefined, onLine: (n: number, checked: CheckedLine) => void): void {
  try {
    inLineOrder(lines, (_, line) => line.trim() === '', threads, {
      here: (c) => checkChunk(c.lines, rules, revoked),
      there: (c) => threads!.check(c.lines),
      take: () => threads!.next() as CheckedLine[],
      done: (c, checked) => checked.forEach((r, i) => onLine(c.numbers[i]!, r)),
    });
  } catch (err) {
    if (!(err instanceof BatchThreadError)) throw err;
    throw new TctlError(`a thread checking the batch failed (${err.message}); nothing was signed`);
  }
}

export interface Pass2 {
  lines: Iterable<string>;
  /** line numbers pass 1 refused (skipped with --keep-going) */
  bad: Set<number>;
  rules: LineRules;
  overwrite: boolean;
  writer: FileWriter;
  /** Called with each chunk once it is logged and its files are queued (JSON output, progress). */
  delivered(chunk: Array<{ record: IssuanceRecord; file: string; line: number }>): void;
}

export interface Span {
  first?: string;
  last?: string;
  signed: number;
}

/** Pass 2: signs every good line in the session, spread over the threads when the session's keys allow it. */
export function signBatch(session: SigningSession, pass: Pass2, threads: BatchThreads | undefined): Span {
  const handOff = threads ? session.handOff() : undefined;
  // A CA key in a PKCS#11 token signs only in this process; threads that never started sign nothing.
  if (threads && (handOff === undefined || !threads.begin(handOff))) threads = undefined;
  const span: Span = { signed: 0 };
  const deliver = (records: IssuanceRecord[], files: Array<[string, string]>, lines: number[]) => {
    // The log is appended before the files of this chunk are handed to the writer.
    session.flush();
    pass.writer.write({ files, mode: 0o644, overwrite: pass.overwrite });
    span.signed += records.length;
    span.first ??= records[0]?.serial;
    span.last = records[records.length - 1]?.serial ?? span.last;
    pass.delivered(records.map((record, i) => ({ record, file: files[i]![0], line: lines[i]! })));
  };
  const skip = (n: number, line: string) => line.trim() === '' || pass.bad.has(n);
  // With threads, this thread's share is signed with the handed-over keys too and adopted in
  // order; alone, the session signs each request itself, as for a single certificate.
  const shared = threads && handOff ? { threads, handOff, here: signingContext(handOff, handOff.revoked) } : undefined;
  try {
    inLineOrder<SignedChunk>(pass.lines, skip, shared?.threads, {
      serials: shared?.handOff.nextSerial,
      here: (c) => (shared ? signChunk(c.lines, c.firstSerial, pass.rules, shared.here) : signInSession(session, c.lines, pass.rules)),
      there: (c) => shared!.threads.sign(c.lines, c.firstSerial),
      take: () => shared!.threads.next() as SignedChunk,
      done: (c, signed) => {
        shared?.handOff.adopt(signed.records);
        deliver(signed.records, signed.files, c.numbers);
      },
    });
  } catch (err) {
    if (!(err instanceof BatchThreadError)) throw err;
    throw new TctlError(`a signing thread failed (${err.message}); ${span.signed} certificates were signed, logged and written before it`, {
      hint: span.signed > 0 ? `serials ${span.first}-${span.last} are in "tctl auth ls"; sign the rest of the batch again` : 'run the batch again',
    });
  }
  return span;
}

/** A chunk signed by the session itself (no threads, or a PKCS#11 key that signs only here). */
function signInSession(session: SigningSession, lines: string[], rules: LineRules): SignedChunk {
  const signed: SignedChunk = { records: [], files: [] };
  for (const line of lines) {
    // The spool is private and unchanged, so every line parses as it did in pass 1, and its
    // key's value check (~20 µs for ed25519, as much as the signature) need not run again.
    const { request, out } = parseBatchLine(line, rules.compat, rules.checkedAt, false);
    const { certificate, record } = session.sign(request);
    signed.records.push(record);
    signed.files.push(certificateFile(rules.outDir, out, request, certificate));
  }
  return signed;
}
