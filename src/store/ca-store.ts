// The storage the certificate authority core works on. Synchronous on purpose: signing runs in a
// tight loop under the lock, and the data dir's file calls are synchronous. The core and the
// commands hold a CaStore and never know which implementation it is: the data dir
// (local/dir-ca-store.ts, the files exactly as they always were) or PostgreSQL
// (postgres/bridge.ts, which runs the asynchronous driver on a thread of its own and waits for
// each answer).
//
// The state is an opaque document here: the core parses and checks it (state.ts). Key names are
// paths relative to the data dir ("keys/user-ca-….pem", see backend.ts checkKeyName), so a state
// document means the same in every store.
import type { AuditEvent, AuditLineBytes } from './audit.js';
import type { StoreKind } from './backend.js';
import type { IssuanceLine } from './issuance.js';
import type { ScannedRevocations } from './revocation-scan.js';
import type { RevocationRecord } from './revocations.js';

export interface CaStore {
  readonly kind: StoreKind;
  /** The data dir's path, or the database's URL without its password. */
  readonly where: string;
  /** "data dir /x" or "PostgreSQL backend postgresql://user@host:port/db"; never a password. */
  describe(): string;
  /** Where a named record lives, for messages: "/x/state.json", or "state.json in PostgreSQL backend …". */
  locate(name: string): string;
  isInitialised(): boolean;
  /** Makes the store exist, for auth init: a data dir is created (0700); a database's schema already was, at open. */
  create(): void;

  // Reads: outside the lock they see the last committed data; inside it, this command's own writes too.
  /** The state document as last saved; undefined before the first saveState. */
  readState(): string | undefined;
  /** Every issuance record (SSH and X.509) in the order appended; streamed, so memory stays flat. */
  issuance(): Iterable<IssuanceLine>;
  /** Every revocation, each once, in the order added. */
  readRevocations(): RevocationRecord[];
  /** The revocations as the KRL builder takes them (the data dir reads serial runs without JSON.parse). */
  scanRevocations(): ScannedRevocations;
  /** The audit chain's lines as stored bytes, in order (audit.ts verifyAuditLines checks them). */
  auditLines(): Iterable<AuditLineBytes>;
  /** A CA private key's PEM; a TctlError naming it when missing or unreadable. */
  getKey(name: string): string;
  /** Every stored key name, sorted (for clone). */
  listKeys(): string[];
  /** The last serial reserveSerials handed out (0 when none was). */
  lastSerial(): bigint;

  /**
   * Runs fn holding the store's one lock (across processes and, for PostgreSQL, hosts; released
   * by the kernel or the server when its holder dies). Not re-entrant. When fn returns, what it
   * wrote is kept; when it throws, what it wrote after its last checkpoint() is undone where the
   * store can (PostgreSQL) and kept where it cannot (the data dir's writes are already on disk).
   */
  withLock<T>(fn: () => T): T;

  // Writes: only inside withLock.
  /** Replaces the state document; the first save is what makes the store initialised. */
  saveState(document: string): void;
  /** Stores a CA private key (0600 on disk); without overwrite an existing name is refused. */
  putKey(name: string, pem: string, opts: { overwrite: boolean }): void;
  /** Removes a key; one already gone is not an error. */
  removeKey(name: string): void;
  /** Reserves count consecutive serials and returns the first; never hands a serial out twice, even across crashes. */
  reserveSerials(count: number): bigint;
  appendIssuance(records: readonly IssuanceLine[]): void;
  /** Adds the revocations not already present; returns those added. */
  addRevocations(records: readonly RevocationRecord[]): RevocationRecord[];
  /** Appends one audit line chained to the last. */
  appendAudit(event: AuditEvent, now?: Date): void;
  /**
   * Records a failed command (an initialised store only) and keeps the entry. What the command
   * wrote since its last checkpoint() is undone first where the store can (PostgreSQL, which
   * would undo it anyway; and a refused statement leaves nothing else writable there).
   */
  auditFailure(event: AuditEvent): void;
  /** Makes everything written so far durable, keeping the lock: call before acting outside the store. */
  checkpoint(): void;

  /** Releases the connection (PostgreSQL); safe to call twice. */
  close(): void;
}
