// The storage interface: what the certificate authority needs from wherever it keeps its data,
// and nothing more (Teleport's lib/backend is the model: one small interface, the auth server
// never knows which implementation it talks to). Two implementations: the local data dir
// (local/dir-store.ts, the files exactly as before) and PostgreSQL (postgres/pg-store.ts).
//
// The state is an opaque document to a store: the core parses and checks it (state.ts), so the
// schema can change without touching a store, and a clone copies it byte for byte. Issuance and
// revocation records are stored as their JSON; audit lines as their exact bytes, because the
// hash chain covers bytes (audit.ts).
import { TctlError } from '../errors.js';
import type { AuditEvent, AuditLineBytes } from './audit.js';
import type { IssuanceLine } from './issuance.js';
import type { RevocationRecord } from './revocations.js';

/** Reads, inside the lock (from a StoreTx) or outside it (from a Store). */
export interface StoreReader {
  /** The state document exactly as last saved; undefined before the first saveState. */
  readState(): Promise<string | undefined>;
  /** Issuance records in the order they were appended; memory stays flat in the log's length. */
  streamIssuance(): AsyncIterable<IssuanceLine>;
  /** Every revocation, each once, in the order they were added. */
  readRevocations(): Promise<RevocationRecord[]>;
  /** The audit chain's lines in order, as stored bytes without the newline (audit.ts verifyAuditLines checks them). */
  readAuditLines(): AsyncIterable<AuditLineBytes>;
  /** A CA private key's PEM; a TctlError naming the key when it is missing or unreadable. */
  getKey(name: string): Promise<string>;
  /** The names of every stored key (for clone), sorted. */
  listKeys(): Promise<string[]>;
  /** The last serial handed out by reserveSerials (0 when none ever was). */
  lastSerial(): Promise<bigint>;
}

/**
 * The writes, only inside Store.withLock. Durability: on the data dir every write is durable when
 * its call resolves; on PostgreSQL at checkpoint() and when withLock's fn returns. A process that
 * dies or loses its database keeps what the last of those kept, never half a write. So the core
 * calls checkpoint() wherever something must be on record before it acts outside the store:
 * after appending issuance records and before writing certificate files, and after an error
 * audit entry before rethrowing.
 */
export interface StoreTx extends StoreReader {
  /** Replaces the state document; the first save is what makes the store initialised. */
  saveState(document: string): Promise<void>;
  /** Stores a CA private key (the file's mode is 0600); without overwrite an existing name is refused. */
  putKey(name: string, pem: string, opts: { overwrite: boolean }): Promise<void>;
  /** Removes a key; a key already gone is not an error. */
  removeKey(name: string): Promise<void>;
  /** Reserves count (1..MAX_SERIAL_RESERVATION) consecutive serials and returns the first (a new store's counter is at 0); never hands out a serial twice, even across crashes. */
  reserveSerials(count: number): Promise<bigint>;
  /** Appends issuance records, in order. */
  appendIssuance(records: readonly IssuanceLine[]): Promise<void>;
  /** Adds the revocations not already present (by revocationKey); returns those added. */
  addRevocations(records: readonly RevocationRecord[]): Promise<RevocationRecord[]>;
  /** Appends one audit line chained to the last one (audit.ts format 2, who = this process's user and host). */
  appendAudit(event: AuditEvent, now?: Date): Promise<void>;
  /** Undoes what was written since the last checkpoint where the store can, then records a failed command (initialised stores only) durably. */
  auditFailure(event: AuditEvent): Promise<void>;
  /** Makes everything written so far durable, keeping the lock. */
  checkpoint(): Promise<void>;
  /** Restore (clone) only: raises the serial counter to last; never lowers it. */
  restoreSerialCounter(last: bigint): Promise<void>;
  /** Restore (clone) only: appends audit lines verbatim, so a copied chain verifies as the original did. */
  restoreAuditLines(lines: readonly Buffer[]): Promise<void>;
}

export type StoreKind = 'dir' | 'postgresql';

export interface Store extends StoreReader {
  readonly kind: StoreKind;
  /** Where the data lives, for status and messages: "data dir /x" or "PostgreSQL postgresql://user@host:port/db"; never a password. */
  describe(): string;
  /** Where one key lives, for messages: a file path, or the key's name in the database. */
  keyLocation(name: string): string;
  /** Whether a state document has been saved. */
  isInitialised(): Promise<boolean>;
  /**
   * Runs fn holding the store's one lock: one holder at a time across processes and (for
   * PostgreSQL) hosts; a holder that dies releases it. Waits up to 30 s for another holder, then
   * fails naming it. When fn returns, everything it wrote is kept. When fn throws, what it wrote
   * after its last checkpoint() is undone where the store can (PostgreSQL rolls back) and kept
   * where it cannot (the data dir's writes are already on disk): the core must be right either
   * way, which it is when it checkpoints what it means to keep, and PostgreSQL is the stronger.
   */
  withLock<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Releases the connection (PostgreSQL); safe to call twice. */
  close(): Promise<void>;
}

/** One reservation covers a batch; far above any batch, it keeps a bad count from skipping 2^64 serials. */
export const MAX_SERIAL_RESERVATION = 1 << 30;
export const MAX_SERIAL = 0xffffffffffffffffn;
/** A state document or key past this is damage (same cap as the data dir's files). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

export function checkReservation(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SERIAL_RESERVATION) {
    throw new Error(`reserveSerials: bad count ${count}`);
  }
}

/**
 * Key names are paths relative to the data dir as state records name them ("keys/user-ca-….pem"),
 * so a state document means the same in every store: relative, no "..", no empty or dot
 * segments, printable ASCII, at most 255 bytes.
 */
export function checkKeyName(name: string): void {
  const ok =
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 255 &&
    /^[\x21-\x7e]+$/.test(name) &&
    !name.includes('\\') &&
    name.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) throw new TctlError(`invalid CA key name ${JSON.stringify(name)}`, { hint: 'the state names a key outside the store; restore it from a backup' });
}

export function checkDocumentSize(what: string, text: string): void {
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new TctlError(`${what} is too large (more than 16 MiB)`);
}
