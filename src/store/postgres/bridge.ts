// PostgreSQL as the CaStore the synchronous core works on. node-postgres is asynchronous, so the
// PostgresStore (pg-store.ts) runs on a thread of its own and the main thread waits for each
// answer on shared memory (Atomics.wait), then takes it off the message port synchronously
// (receiveMessageOnPort). One call is in flight at a time, so the thread handles them in order.
// This module is also the thread's entry point (the thread's side is bridge-thread.ts).
//
// A lock is one transaction on the thread: "begin" enters PostgresStore.withLock and parks it,
// the core's writes run inside it, "end" commits (or rolls back when the core threw). When this
// process dies, however it dies, the thread and its connection go with it, and the server rolls
// the transaction back and frees the advisory lock.
import { MessageChannel, Worker, isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { TctlError, errorFromWire } from '../../errors.js';
import type { AuditEvent, AuditLineBytes } from '../audit.js';
import type { CaStore } from '../ca-store.js';
import type { IssuanceLine } from '../issuance.js';
import { scannedFromRecords } from '../revocation-scan.js';
import type { RevocationRecord } from '../revocations.js';
import { REPLY_WAIT_MS, ROLE, buffers } from './bridge-protocol.js';
import type { Call, ReadMethod, Reply, TxMethod } from './bridge-protocol.js';
import { serve } from './bridge-thread.js';

/**
 * The main thread's end of the thread: each call carries a number its answer repeats, and the
 * thread counts its answers in shared memory, so a stray message (an error with no call waiting)
 * can never be taken for the answer to the next call.
 */
class Channel {
  private calls = 0;

  constructor(
    readonly url: string,
    readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly answers: Int32Array,
  ) {}

  /** Sends a call; returns what answer() needs to wait for its answer. */
  send(msg: Call): { id: number; seen: number } {
    const ticket = { id: ++this.calls, seen: Atomics.load(this.answers, 0) };
    this.port.postMessage({ ...msg, call: ticket.id });
    return ticket;
  }

  /** Waits for the answer to a call; a TctlError when none comes in time. */
  answer(ticket: { id: number; seen: number }, where: string): unknown {
    const deadline = Date.now() + REPLY_WAIT_MS;
    let seen = ticket.seen;
    for (;;) {
      for (let got = receiveMessageOnPort(this.port); got; got = receiveMessageOnPort(this.port)) {
        const reply = got.message as Reply;
        if (reply.call !== ticket.id) continue;
        if ('error' in reply) throw errorFromWire(reply.error, (message) => new Error(message));
        return buffers(reply.value);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TctlError(`PostgreSQL ${where || 'backend'} did not answer within ${REPLY_WAIT_MS / 1000} s`, {
          hint: 'the server rolls back what this command had not committed once its connection ends; check the server and the network, then run it again',
        });
      }
      Atomics.wait(this.answers, 0, seen, Math.min(left, 1000));
      seen = Atomics.load(this.answers, 0);
    }
  }
}

class BridgedStore implements CaStore {
  readonly kind = 'postgresql' as const;
  where = '';
  private locked = false;
  private broken: Error | undefined;

  constructor(private readonly channel: Channel) {}

  call(msg: Call): unknown {
    if (this.broken) throw this.broken;
    return this.answer(this.channel.send(msg));
  }

  /** Waits for the answer to a call sent; a call that gets none leaves the store unusable. */
  answer(ticket: { id: number; seen: number }): unknown {
    try {
      return this.channel.answer(ticket, this.where);
    } catch (err) {
      if (err instanceof TctlError && err.message.includes('did not answer')) {
        this.broken = err;
        void this.channel.worker.terminate();
      }
      throw err;
    }
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

  close(): void {
    if (!this.broken) {
      try {
        this.call({ op: 'close' });
      } catch {
        // closing is best effort: the server ends the session when the thread goes
      }
      this.broken = new Error('PostgreSQL backend used after close');
    }
    void this.channel.worker.terminate();
  }
}

interface Thread {
  channel: Channel;
  /** the "open" call (connect, migrate), sent as the thread starts */
  opening: { id: number; seen: number };
}

function startThread(url: string): Thread {
  const answers = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, url, answers: answers.buffer, port: port2 }, transferList: [port2] });
  // Neither may keep tctl running once the command is done.
  worker.unref();
  port1.unref();
  const channel = new Channel(url, worker, port1, answers);
  return { channel, opening: channel.send({ op: 'open' }) };
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
  if (thread?.channel.url !== url) {
    if (thread) void thread.channel.worker.terminate();
    thread = startThread(url);
  }
  const store = new BridgedStore(thread.channel);
  try {
    store.where = store.answer(thread.opening) as string;
  } catch (err) {
    void thread.channel.worker.terminate();
    throw err;
  }
  return store;
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) serve(workerData as { url: string; answers: SharedArrayBuffer; port: MessagePort });
