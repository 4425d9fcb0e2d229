// PostgreSQL as the CaStore the synchronous core works on. node-postgres is asynchronous, so the
// PostgresStore (pg-store.ts) runs on a thread of its own and the main thread waits for each
// answer on shared memory (Atomics.wait), then takes it off the message port synchronously
// (receiveMessageOnPort). One call is in flight at a time, so the thread handles them in order.
// This module is also the thread's entry point.
//
// A lock is one transaction on the thread: "begin" enters PostgresStore.withLock and parks it,
// the core's writes run inside it, "end" commits (or rolls back when the core threw). When this
// process dies, however it dies, the thread and its connection go with it, and the server rolls
// the transaction back and frees the advisory lock.
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TctlError } from '../../errors.js';
import type { ErrorKind } from '../../errors.js';
import type { AuditEvent, AuditLineBytes } from '../audit.js';
import type { StoreTx } from '../backend.js';
import type { CaStore } from '../ca-store.js';
import type { IssuanceLine } from '../issuance.js';
import { scannedFromRecords } from '../revocation-scan.js';
import type { RevocationRecord } from '../revocations.js';
import type { PostgresStore } from './pg-store.js';

const ROLE = 'tctl-postgres-bridge';
/** Longer than anything the thread waits for itself (the 30 s lock wait, the connect timeout, a large insert). */
const REPLY_WAIT_MS = 120_000;
const PAGE = 1000;

type ReadMethod = 'isInitialised' | 'readState' | 'readRevocations' | 'getKey' | 'listKeys' | 'lastSerial';
type TxMethod =
  | 'saveState'
  | 'putKey'
  | 'removeKey'
  | 'reserveSerials'
  | 'appendIssuance'
  | 'addRevocations'
  | 'appendAudit'
  | 'checkpoint'
  | 'auditFailure'
  | 'restoreSerialCounter'
  | 'restoreAuditLines';

type Call =
  | { op: 'open' }
  | { op: 'read'; method: ReadMethod; args: unknown[] }
  | { op: 'begin' }
  | { op: 'tx'; method: TxMethod; args: unknown[] }
  | { op: 'end'; commit: boolean }
  | { op: 'iter-open'; what: 'issuance' | 'audit' }
  | { op: 'iter-next'; id: number }
  | { op: 'iter-close'; id: number }
  | { op: 'close' };

interface WireError {
  message: string;
  tctl: boolean;
  hint?: string;
  kind?: ErrorKind;
}

type Reply = { value: unknown } | { error: WireError };

/** Buffers cross the port as plain Uint8Arrays; turn them back (pg and the audit code want Buffers). */
function buffers(v: unknown): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(buffers);
  return v;
}

class BridgedStore implements CaStore {
  readonly kind = 'postgresql' as const;
  where = '';
  private locked = false;
  private broken: Error | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
  ) {}

  call(msg: Call): unknown {
    if (this.broken) throw this.broken;
    send(this.port, this.flag, msg);
    return this.answer();
  }

  /** Waits for the answer to the call in flight. */
  answer(): unknown {
    const deadline = Date.now() + REPLY_WAIT_MS;
    while (Atomics.load(this.flag, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.broken = new TctlError(`PostgreSQL ${this.where || 'backend'} did not answer within ${REPLY_WAIT_MS / 1000} s`, {
          hint: 'nothing this command wrote is kept unless it said so; check the server and the network, then run it again',
        });
        void this.worker.terminate();
        throw this.broken;
      }
      Atomics.wait(this.flag, 0, 0, Math.min(left, 1000));
    }
    const got = receiveMessageOnPort(this.port);
    if (!got) throw new Error('PostgreSQL bridge: an answer was signalled but none arrived');
    const reply = got.message as Reply;
    if ('error' in reply) {
      const e = reply.error;
      throw e.tctl ? new TctlError(e.message, { hint: e.hint, kind: e.kind }) : new Error(e.message);
    }
    return buffers(reply.value);
  }

  describe(): string {
    return `PostgreSQL ${this.where}`;
  }

  locate(name: string): string {
    return `${name} in PostgreSQL ${this.where}`;
  }

  create(): void {}

  private read<T>(method: ReadMethod, ...args: unknown[]): T {
    return this.call({ op: 'read', method, args }) as T;
  }

  private write<T>(method: TxMethod, ...args: unknown[]): T {
    if (!this.locked) throw new Error('PostgreSQL backend written outside its lock');
    return this.call({ op: 'tx', method, args }) as T;
  }

  private *pages<T>(what: 'issuance' | 'audit'): Generator<T> {
    const id = this.call({ op: 'iter-open', what }) as number;
    let done = false;
    try {
      while (!done) {
        const page = this.call({ op: 'iter-next', id }) as { items: T[]; done: boolean };
        done = page.done;
        yield* page.items.map((x) => buffers(x) as T);
      }
    } finally {
      if (!done && !this.broken) this.call({ op: 'iter-close', id });
    }
  }

  isInitialised = () => this.read<boolean>('isInitialised');
  readState = () => this.read<string | undefined>('readState');
  readRevocations = () => this.read<RevocationRecord[]>('readRevocations');
  scanRevocations = () => scannedFromRecords(this.readRevocations());
  getKey = (name: string) => this.read<string>('getKey', name);
  listKeys = () => this.read<string[]>('listKeys');
  lastSerial = () => this.read<bigint>('lastSerial');
  issuance = (): Iterable<IssuanceLine> => this.pages<IssuanceLine>('issuance');
  auditLines = (): Iterable<AuditLineBytes> => this.pages<AuditLineBytes>('audit');

  withLock<T>(fn: () => T): T {
    if (this.locked) throw new Error('PostgreSQL backend: withLock is already held');
    this.call({ op: 'begin' });
    this.locked = true;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.locked = false;
      try {
        this.call({ op: 'end', commit: false });
      } catch {
        // the connection is gone, and with it the transaction: the server rolled it back
      }
      throw err;
    }
    this.locked = false;
    this.call({ op: 'end', commit: true });
    return result;
  }

  saveState = (document: string) => this.write<void>('saveState', document);
  putKey = (name: string, pem: string, opts: { overwrite: boolean }) => this.write<void>('putKey', name, pem, opts);
  removeKey = (name: string) => this.write<void>('removeKey', name);
  reserveSerials = (count: number) => this.write<bigint>('reserveSerials', count);
  appendIssuance = (records: readonly IssuanceLine[]) => this.write<void>('appendIssuance', records);
  addRevocations = (records: readonly RevocationRecord[]) => this.write<RevocationRecord[]>('addRevocations', records);
  appendAudit = (event: AuditEvent, now?: Date) => this.write<void>('appendAudit', event, now);
  checkpoint = () => this.write<void>('checkpoint');
  auditFailure = (event: AuditEvent) => this.write<void>('auditFailure', event);
  restoreSerialCounter = (last: bigint) => this.write<void>('restoreSerialCounter', last);
  restoreAuditLines = (lines: readonly Buffer[]) => this.write<void>('restoreAuditLines', lines);

  close(): void {
    if (!this.broken) {
      try {
        this.call({ op: 'close' });
      } catch {
        // closing is best effort: the server ends the session when the thread goes
      }
      this.broken = new Error('PostgreSQL backend used after close');
    }
    void this.worker.terminate();
  }
}

function send(port: MessagePort, flag: Int32Array, msg: Call): void {
  Atomics.store(flag, 0, 0);
  port.postMessage(msg);
}

interface Thread {
  url: string;
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

/** A thread with its "open" (connect, migrate) already asked for; the answer is waited for by openBridgedStore. */
function startThread(url: string): Thread {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, url, flag: flag.buffer, port: port2 }, transferList: [port2] });
  // Neither may keep tctl running once the command is done.
  worker.unref();
  port1.unref();
  send(port1, flag, { op: 'open' });
  return { url, worker, port: port1, flag };
}

let early: Thread | undefined;

/**
 * Starts the thread and its connection for a command that names this backend, before the
 * command is even parsed: starting a thread and loading the driver is most of what PostgreSQL
 * adds to a command, and the command's own start-up runs meanwhile.
 */
export function startEarly(url: string): void {
  early ??= startThread(url);
}

/** Connects (migrating the schema on first use) and returns the store; failures are one TctlError. */
export function openBridgedStore(url: string): CaStore {
  let thread = early;
  early = undefined;
  if (thread?.url !== url) {
    if (thread) void thread.worker.terminate();
    thread = startThread(url);
  }
  const store = new BridgedStore(thread.worker, thread.port, thread.flag);
  try {
    store.where = store.answer() as string;
  } catch (err) {
    void thread.worker.terminate();
    throw err;
  }
  return store;
}

// ---- the thread ----

function wireError(err: unknown): WireError {
  if (err instanceof TctlError) return { message: err.message, tctl: true, hint: err.hint, kind: err.kind };
  return { message: err instanceof Error ? err.message : String(err), tctl: false };
}

/** Calls a store method by name, as a method of its object, with the Buffers the port turned into Uint8Arrays restored. */
function call(target: object, method: string, args: unknown[]): Promise<unknown> {
  const fn = (target as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
  return fn.apply(target, args.map(buffers));
}

/** The rejection a parked transaction ends with when the core threw: PostgresStore rolls back on it. */
class RollBack extends Error {}

function serve(data: { url: string; flag: SharedArrayBuffer; port: MessagePort }): void {
  const flag = new Int32Array(data.flag);
  const port = data.port;
  let store: PostgresStore | undefined;
  let tx: { tx: StoreTx; end: (commit: boolean) => void; done: Promise<void> } | undefined;
  const iterators = new Map<number, AsyncIterator<unknown>>();
  let nextId = 1;

  const reply = (r: Reply) => {
    port.postMessage(r);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  const open = (): PostgresStore => {
    if (!store) throw new Error('PostgreSQL bridge: not connected');
    return store;
  };

  async function handle(msg: Call): Promise<unknown> {
    switch (msg.op) {
      case 'open': {
        const { openPostgresStore } = await import('./pg-store.js');
        store = await openPostgresStore(data.url);
        return store.where;
      }
      case 'read':
        return call(open(), msg.method, msg.args);
      case 'begin': {
        if (tx) throw new Error('PostgreSQL bridge: a transaction is already open');
        let entered!: () => void;
        const inside = new Promise<void>((r) => (entered = r));
        let end!: (commit: boolean) => void;
        let parked: StoreTx | undefined;
        const done = open().withLock(
          (t) =>
            new Promise<void>((resolve, reject) => {
              parked = t;
              end = (commit) => (commit ? resolve() : reject(new RollBack()));
              entered();
            }),
        );
        done.catch(() => undefined);
        // Either the lock is ours and the transaction open, or withLock failed before that.
        await Promise.race([inside, done]);
        tx = { tx: parked!, end, done };
        return undefined;
      }
      case 'tx': {
        if (!tx) throw new Error('PostgreSQL bridge: no transaction is open');
        return call(tx.tx, msg.method, msg.args);
      }
      case 'end': {
        const t = tx;
        tx = undefined;
        if (!t) throw new Error('PostgreSQL bridge: no transaction is open');
        t.end(msg.commit);
        try {
          await t.done;
        } catch (err) {
          // A rollback asked for ends in RollBack, or in a lost connection, which rolls back too.
          if (msg.commit) throw err;
        }
        return undefined;
      }
      case 'iter-open': {
        const s = open();
        const it = (msg.what === 'issuance' ? s.streamIssuance() : s.readAuditLines())[Symbol.asyncIterator]();
        iterators.set(nextId, it);
        return nextId++;
      }
      case 'iter-next': {
        const it = iterators.get(msg.id);
        if (!it) throw new Error('PostgreSQL bridge: no such reader');
        const items: unknown[] = [];
        while (items.length < PAGE) {
          const r = await it.next();
          if (r.done) {
            iterators.delete(msg.id);
            return { items, done: true };
          }
          items.push(r.value);
        }
        return { items, done: false };
      }
      case 'iter-close': {
        const it = iterators.get(msg.id);
        iterators.delete(msg.id);
        await it?.return?.();
        return undefined;
      }
      case 'close':
        await store?.close();
        store = undefined;
        return undefined;
    }
  }

  // Anything that escapes a handler still answers the waiting main thread, never leaves it hanging.
  process.on('uncaughtException', (err) => reply({ error: wireError(err) }));
  process.on('unhandledRejection', (err) => reply({ error: wireError(err) }));
  port.on('message', (msg: Call) => {
    handle(msg).then(
      (value) => reply({ value }),
      (err: unknown) => reply({ error: wireError(err) }),
    );
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve(workerData as { url: string; flag: SharedArrayBuffer; port: MessagePort });
