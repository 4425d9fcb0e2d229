// The data dir as a Store: an adapter over the existing src/store functions, so the files stay
// exactly as they were (state.json, keys/*.pem, serial, issued.jsonl, revoked.jsonl,
// audit.jsonl, tctl.lock; same formats, modes, flock lock). Every write is durable when it
// returns, so checkpoint() has nothing to do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TctlError } from '../../errors.js';
import { AUDIT_LOG, appendAudit } from '../audit.js';
import type { AuditEvent } from '../audit.js';
import { checkKeyName, checkReservation } from '../backend.js';
import type { Store, StoreTx } from '../backend.js';
import { MAX_DATA_FILE_BYTES, ensurePrivateDir, fileError, fsyncDir, readFileCapped, writeFileAtomic } from '../files.js';
import { allocateSerials, appendIssuance, initSerialCounter, readIssuance } from '../issuance.js';
import type { IssuanceRecord } from '../issuance.js';
import { withLockAsync } from '../lock.js';
import { addRevocations, readRevocations } from '../revocations.js';
import type { RevocationRecord } from '../revocations.js';
import { KEYS_DIR, SERIAL_FILE, isInitialised, statePath } from '../state.js';
import { appendLineBytes, readLineBytes } from './raw-lines.js';

export class DirStore implements Store {
  readonly kind = 'dir' as const;
  private locked = false;

  /** create: make the data dir (0700) if it is missing, as auth init does; otherwise nothing is created. */
  constructor(
    readonly dataDir: string,
    opts: { create?: boolean } = {},
  ) {
    if (opts.create) ensurePrivateDir(dataDir);
  }

  describe(): string {
    return `data dir ${this.dataDir}`;
  }

  keyLocation(name: string): string {
    return path.join(this.dataDir, name);
  }

  async isInitialised(): Promise<boolean> {
    return isInitialised(this.dataDir);
  }

  async readState(): Promise<string | undefined> {
    const file = statePath(this.dataDir);
    try {
      return readFileCapped(file, MAX_DATA_FILE_BYTES, { missingOk: true })?.toString('utf8');
    } catch (err) {
      throw fileError('cannot read', file, err);
    }
  }

  async *streamIssuance(): AsyncGenerator<IssuanceRecord> {
    yield* readIssuance(this.dataDir);
  }

  async readRevocations(): Promise<RevocationRecord[]> {
    return readRevocations(this.dataDir);
  }

  async *readAuditLines() {
    yield* readLineBytes(path.join(this.dataDir, AUDIT_LOG));
  }

  async getKey(name: string): Promise<string> {
    checkKeyName(name);
    const file = this.keyLocation(name);
    try {
      return readFileCapped(file, MAX_DATA_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw fileError('cannot read CA key', file, err);
    }
  }

  async listKeys(): Promise<string[]> {
    const dir = path.join(this.dataDir, KEYS_DIR);
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

  async lastSerial(): Promise<bigint> {
    const file = path.join(this.dataDir, SERIAL_FILE);
    let text: string | undefined;
    try {
      text = readFileCapped(file, 64, { missingOk: true })?.toString('utf8');
    } catch (err) {
      throw fileError('cannot read serial counter', file, err);
    }
    if (text === undefined) return 0n;
    if (!/^\d{1,20}\n?$/.test(text)) throw new TctlError(`${file} is damaged: not a serial number`, { hint: 'restore the data dir from a backup' });
    return BigInt(text.trim());
  }

  async withLock<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // flock excludes every other open file, this process's own too: a nested withLock would
    // wait 30 s for itself, so it is refused at once.
    if (this.locked) throw new Error('DirStore.withLock: already held by this store');
    this.locked = true;
    let open = true;
    const tx = this.transaction(() => open);
    try {
      return await withLockAsync(this.dataDir, () => fn(tx));
    } finally {
      open = false;
      this.locked = false;
    }
  }

  async close(): Promise<void> {}

  private transaction(isOpen: () => boolean): StoreTx {
    const dataDir = this.dataDir;
    const live = () => {
      if (!isOpen()) throw new Error('storage transaction used after its withLock ended');
    };
    const reader = this;
    return {
      readState: () => reader.readState(),
      streamIssuance: () => reader.streamIssuance(),
      readRevocations: () => reader.readRevocations(),
      readAuditLines: () => reader.readAuditLines(),
      getKey: (name) => reader.getKey(name),
      listKeys: () => reader.listKeys(),
      lastSerial: () => reader.lastSerial(),
      async saveState(document: string) {
        live();
        // As auth init did: the counter exists before state.json, which is what makes the dir initialised.
        if (!isInitialised(dataDir) && !fs.existsSync(path.join(dataDir, SERIAL_FILE))) initSerialCounter(dataDir);
        writeFileAtomic(statePath(dataDir), document, { mode: 0o600, overwrite: true });
      },
      async putKey(name: string, pem: string, opts: { overwrite: boolean }) {
        live();
        checkKeyName(name);
        const file = path.join(dataDir, name);
        ensurePrivateDir(path.dirname(file));
        writeFileAtomic(file, pem, { mode: 0o600, overwrite: opts.overwrite });
      },
      async removeKey(name: string) {
        live();
        checkKeyName(name);
        const file = path.join(dataDir, name);
        try {
          fs.unlinkSync(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw fileError('cannot remove', name, err);
        }
        fsyncDir(path.dirname(file));
      },
      async reserveSerials(count: number) {
        live();
        checkReservation(count);
        // A counter missing from an initialised dir is damage (allocateSerials says so); before
        // init it simply does not exist yet, and starts at 0 as saveState would start it.
        if (!isInitialised(dataDir) && !fs.existsSync(path.join(dataDir, SERIAL_FILE))) initSerialCounter(dataDir);
        return allocateSerials(dataDir, count);
      },
      async appendIssuance(records: readonly IssuanceRecord[]) {
        live();
        appendIssuance(dataDir, [...records]);
      },
      async addRevocations(records: readonly RevocationRecord[]) {
        live();
        return addRevocations(dataDir, [...records]);
      },
      async appendAudit(event: AuditEvent, now?: Date) {
        live();
        appendAudit(dataDir, event, now);
      },
      async checkpoint() {
        live();
      },
      async restoreSerialCounter(last: bigint) {
        live();
        if (last <= (await reader.lastSerial())) return;
        writeFileAtomic(path.join(dataDir, SERIAL_FILE), `${last}\n`, { mode: 0o600, overwrite: true });
      },
      async restoreAuditLines(lines: readonly Buffer[]) {
        live();
        appendLineBytes(path.join(dataDir, AUDIT_LOG), lines);
      },
    };
  }
}
