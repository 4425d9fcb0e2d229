// The PostgreSQL thread of the bridge (bridge.ts): a PostgresStore driven by the main thread's
// calls, one at a time, each answered on the port and counted in shared memory. A lock is one
// transaction parked here between "begin" and "end".
import type { MessagePort } from 'node:worker_threads';
import { errorToWire } from '../../errors.js';
import type { StoreTx } from '../backend.js';
import { PAGE, buffers } from './bridge-protocol.js';
import type { Call, Reply } from './bridge-protocol.js';
import type { PostgresStore } from './pg-store.js';

/** Calls a store method by name, as a method of its object, with the Buffers the port turned into Uint8Arrays restored. */
function call(target: object, method: string, args: unknown[]): Promise<unknown> {
  const fn = (target as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
  return fn.apply(target, args.map(buffers));
}

/** The rejection a parked transaction ends with when the core threw: PostgresStore rolls back on it. */
class RollBack extends Error {}

export function serve(data: { url: string; answers: SharedArrayBuffer; port: MessagePort }): void {
  const answers = new Int32Array(data.answers);
  const port = data.port;
  let store: PostgresStore | undefined;
  let tx: { tx: StoreTx; end: (commit: boolean) => void; done: Promise<void> } | undefined;
  const iterators = new Map<number, AsyncIterator<unknown>>();
  let nextId = 1;

  /** The call being handled; the main thread sends the next one only after this one's answer. */
  let current: number | undefined;
  const reply = (r: Reply) => {
    port.postMessage(r);
    Atomics.add(answers, 0, 1);
    Atomics.notify(answers, 0);
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
  const escaped = (err: unknown) => {
    if (current === undefined) return;
    const call = current;
    current = undefined;
    reply({ call, error: errorToWire(err) });
  };
  process.on('uncaughtException', escaped);
  process.on('unhandledRejection', escaped);
  port.on('message', (msg: Call & { call: number }) => {
    current = msg.call;
    const answer = (r: Reply) => {
      if (current !== msg.call) return;
      current = undefined;
      reply(r);
    };
    handle(msg).then(
      (value) => answer({ call: msg.call, value }),
      (err: unknown) => answer({ call: msg.call, error: errorToWire(err) }),
    );
  });
}
