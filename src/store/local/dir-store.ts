// The data dir as the asynchronous Store (backend.ts) that `tctl backend clone` and the storage
// contract tests use: every call goes to the DirCaStore the core uses, so both see the same files.
import type { Store, StoreTx } from '../backend.js';
import { DirCaStore } from './dir-ca-store.js';

export class DirStore implements Store {
  readonly kind = 'dir' as const;
  private readonly s: DirCaStore;

  /** create: make the data dir (0700) if it is missing, as auth init does; otherwise nothing is created. */
  constructor(dataDir: string, opts: { create?: boolean } = {}) {
    this.s = new DirCaStore(dataDir, opts);
  }

  get dataDir(): string {
    return this.s.dataDir;
  }

  describe = () => this.s.describe();
  keyLocation = (name: string) => this.s.locate(name);
  isInitialised = async () => this.s.isInitialised();
  readState = async () => this.s.readState();
  readRevocations = async () => this.s.readRevocations();
  getKey = async (name: string) => this.s.getKey(name);
  listKeys = async () => this.s.listKeys();
  lastSerial = async () => this.s.lastSerial();

  async *streamIssuance() {
    yield* this.s.issuance();
  }

  async *readAuditLines() {
    yield* this.s.auditLines();
  }

  async withLock<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    let open = true;
    const live = () => {
      if (!open) throw new Error('storage transaction used after its withLock ended');
    };
    const s = this.s;
    const tx: StoreTx = {
      readState: this.readState,
      streamIssuance: () => this.streamIssuance(),
      readRevocations: this.readRevocations,
      readAuditLines: () => this.readAuditLines(),
      getKey: this.getKey,
      listKeys: this.listKeys,
      lastSerial: this.lastSerial,
      saveState: async (document) => (live(), s.saveState(document)),
      putKey: async (name, pem, opts) => (live(), s.putKey(name, pem, opts)),
      removeKey: async (name) => (live(), s.removeKey(name)),
      reserveSerials: async (count) => (live(), s.reserveSerials(count)),
      appendIssuance: async (records) => (live(), s.appendIssuance(records)),
      addRevocations: async (records) => (live(), s.addRevocations(records)),
      appendAudit: async (event, now) => (live(), s.appendAudit(event, now)),
      checkpoint: async () => (live(), s.checkpoint()),
      auditFailure: async (event) => (live(), s.auditFailure(event)),
      restoreSerialCounter: async (last) => (live(), s.restoreSerialCounter(last)),
      restoreAuditLines: async (lines) => (live(), s.restoreAuditLines(lines)),
    };
    try {
      return await s.withLockAsync(() => fn(tx));
    } finally {
      open = false;
    }
  }

  async close(): Promise<void> {}
}
