// The data dir as a CaStore: the files exactly as they always were (state.json, keys/*.pem,
// serial, issued.jsonl, revoked.jsonl, audit.jsonl, tctl.lock; same formats, modes, flock lock).
// Every write is durable when it returns, so checkpoint() has nothing to do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../../errors.js';
import { AUDIT_LOG, appendAudit } from '../audit.js';
import type { AuditEvent } from '../audit.js';
import { MAX_SERIAL, checkKeyName, checkReservation } from '../backend.js';
import type { CaStore } from '../ca-store.js';
import { MAX_DATA_FILE_BYTES, ensurePrivateDir, fileError, fsyncDir, readFileCapped, writeFileAtomic } from '../files.js';
import { allocateSerials, appendIssuance, initSerialCounter, readIssuanceLines } from '../issuance.js';
import type { IssuanceLine } from '../issuance.js';
import { withLock, withLockAsync } from '../lock.js';
import { scanRevocations } from '../revocation-scan.js';
import { addRevocations, readRevocations } from '../revocations.js';
import type { RevocationRecord } from '../revocations.js';
import { KEYS_DIR, SERIAL_FILE, STATE_FILE } from '../state.js';
import { appendLineBytes, readLineBytes } from './raw-lines.js';

export class DirCaStore implements CaStore {
  readonly kind = 'dir' as const;
  private locked = false;

  /** create: make the data dir (0700) if it is missing, as auth init does; otherwise nothing is created. */
  constructor(
    readonly dataDir: string,
    opts: { create?: boolean } = {},
  ) {
    if (opts.create) this.create();
  }

  get where(): string {
    return this.dataDir;
  }

  create(): void {
    ensurePrivateDir(this.dataDir);
    ensurePrivateDir(this.locate(KEYS_DIR));
  }

  describe(): string {
    return `data dir ${this.dataDir}`;
  }

  locate(name: string): string {
    return path.join(this.dataDir, name);
  }

  isInitialised(): boolean {
    return fs.existsSync(this.locate(STATE_FILE));
  }

  readState(): string | undefined {
    const file = this.locate(STATE_FILE);
    try {
      return readFileCapped(file, MAX_DATA_FILE_BYTES, { missingOk: true })?.toString('utf8');
    } catch (err) {
      throw fileError('cannot read', file, err);
    }
  }

  issuance(): Iterable<IssuanceLine> {
    return readIssuanceLines(this.dataDir);
  }

  readRevocations(): RevocationRecord[] {
    return readRevocations(this.dataDir);
  }

  scanRevocations() {
    return scanRevocations(this.dataDir);
  }

  auditLines() {
    return readLineBytes(this.locate(AUDIT_LOG));
  }

  getKey(name: string): string {
    checkKeyName(name);
    const file = this.locate(name);
    try {
      return readFileCapped(file, MAX_DATA_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw fileError('cannot read CA key', file, err);
    }
  }

  listKeys(): string[] {
    const dir = this.locate(KEYS_DIR);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fileError('cannot read', dir, err);
    }
    // Dot files are temp files of an interrupted write (lock.ts removes them), never keys.
    return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => `${KEYS_DIR}/${e.name}`).sort();
  }

  lastSerial(): bigint {
    const file = this.locate(SERIAL_FILE);
    let text: string | undefined;
    try {
      text = readFileCapped(file, 64, { missingOk: true })?.toString('utf8');
    } catch (err) {
      throw fileError('cannot read serial counter', file, err);
    }
    if (text === undefined) return 0n;
    if (!/^\d{1,20}\n?$/.test(text)) throw new TctlError(`${file} is damaged: not a serial number`, { hint: 'restore the CA from a backup' });
    return BigInt(text.trim());
  }

  withLock<T>(fn: () => T): T {
    // flock excludes every other open file, this process's own too: a nested withLock would
    // wait 30 s for itself, so it is refused at once.
    if (this.locked) throw new Error('DirCaStore.withLock: already held by this store');
    this.locked = true;
    try {
      return withLock(this.dataDir, fn);
    } finally {
      this.locked = false;
    }
  }

  /** withLock for a caller that awaits while it holds the lock (dir-store.ts, the asynchronous Store). */
  async withLockAsync<T>(fn: () => Promise<T>): Promise<T> {
    if (this.locked) throw new Error('DirCaStore.withLock: already held by this store');
    this.locked = true;
    try {
      return await withLockAsync(this.dataDir, fn);
    } finally {
      this.locked = false;
    }
  }

  private live(): void {
    if (!this.locked) throw new Error('data dir written outside its lock');
  }

  /** The counter exists before state.json, which is what makes the dir initialised. */
  private ensureSerialCounter(): void {
    if (!this.isInitialised() && !fs.existsSync(this.locate(SERIAL_FILE))) initSerialCounter(this.dataDir);
  }

  saveState(document: string): void {
    this.live();
    this.ensureSerialCounter();
    writeFileAtomic(this.locate(STATE_FILE), document, { mode: 0o600, overwrite: true });
  }

  putKey(name: string, pem: string, opts: { overwrite: boolean }): void {
    this.live();
    checkKeyName(name);
    const file = this.locate(name);
    ensurePrivateDir(path.dirname(file));
    writeFileAtomic(file, pem, { mode: 0o600, overwrite: opts.overwrite });
  }

  removeKey(name: string): void {
    this.live();
    checkKeyName(name);
    const file = this.locate(name);
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fileError('cannot remove', file, err);
    }
    fsyncDir(path.dirname(file));
  }

  reserveSerials(count: number): bigint {
    this.live();
    checkReservation(count);
    // A counter missing from an initialised dir is damage (allocateSerials says so); before
    // init it simply does not exist yet, and starts at 0 as saveState would start it.
    this.ensureSerialCounter();
    return allocateSerials(this.dataDir, count);
  }

  appendIssuance(records: readonly IssuanceLine[]): void {
    this.live();
    appendIssuance(this.dataDir, [...records]);
  }

  addRevocations(records: readonly RevocationRecord[]): RevocationRecord[] {
    this.live();
    return addRevocations(this.dataDir, [...records]);
  }

  appendAudit(event: AuditEvent, now?: Date): void {
    this.live();
    appendAudit(this.dataDir, event, now);
  }

  auditFailure(event: AuditEvent): void {
    this.live();
    if (this.isInitialised()) this.appendAudit(event);
  }

  checkpoint(): void {
    this.live();
  }

  /** For backend clone (dir-store.ts): raises the serial counter to last, never lowers it. */
  restoreSerialCounter(last: bigint): void {
    this.live();
    if (last < 0n || last > MAX_SERIAL) throw new Error(`restoreSerialCounter: bad serial ${last}`);
    if (last <= this.lastSerial()) return;
    writeFileAtomic(this.locate(SERIAL_FILE), `${last}\n`, { mode: 0o600, overwrite: true });
  }

  /** For backend clone: appends audit lines verbatim, so a copied chain verifies as the original did. */
  restoreAuditLines(lines: readonly Buffer[]): void {
    this.live();
    appendLineBytes(this.locate(AUDIT_LOG), lines);
  }

  close(): void {}
}
