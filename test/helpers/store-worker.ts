// A process that uses a store directly, as a tctl command would: the concurrency, crash and
// outage tests and the store benchmark spawn it. Argument: JSON {location, mode, id, loops, count, chunks}.
//   sign:  loops x (withLock: reserve count serials, append count issuance rows, one audit line); prints each first serial.
//   hold:  like one sign, then prints HOLDING and waits inside the transaction (to be SIGKILLed).
//   batch: withLock: reserve chunks*count serials; per chunk append issuance + checkpoint, printing CHUNK i; then audit.
import { TctlError } from '../../src/errors.js';
import type { StoreTx } from '../../src/store/backend.js';
import { openStore } from '../../src/store/open.js';
import type { StoreLocation } from '../../src/store/select.js';
import { fakeRecord } from './stores.js';

export interface WorkerArgs {
  location: StoreLocation;
  mode: 'sign' | 'hold' | 'batch';
  id: number;
  loops?: number;
  count?: number;
  chunks?: number;
  /** ms to wait between batch chunks */
  pauseMs?: number;
}

async function signOnce(tx: StoreTx, id: number, count: number): Promise<bigint> {
  const first = await tx.reserveSerials(count);
  const records = Array.from({ length: count }, (_, i) => fakeRecord(first + BigInt(i), `worker-${id}`));
  await tx.appendIssuance(records);
  await tx.appendAudit({ command: 'auth sign', what: { worker: id, firstSerial: first.toString(), count }, result: 'ok' });
  return first;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as WorkerArgs;
  const store = await openStore(a.location, { create: true });
  try {
    const count = a.count ?? 1;
    if (a.mode === 'sign') {
      for (let i = 0; i < (a.loops ?? 1); i++) {
        const first = await store.withLock((tx) => signOnce(tx, a.id, count));
        process.stdout.write(`${first}\n`);
      }
    } else if (a.mode === 'hold') {
      await store.withLock(async (tx) => {
        await signOnce(tx, a.id, count);
        process.stdout.write('HOLDING\n');
        await new Promise(() => setInterval(() => undefined, 1000));
      });
    } else {
      await store.withLock(async (tx) => {
        const chunks = a.chunks ?? 1;
        const first = await tx.reserveSerials(chunks * count);
        await tx.checkpoint();
        for (let c = 0; c < chunks; c++) {
          const base = first + BigInt(c * count);
          await tx.appendIssuance(Array.from({ length: count }, (_, i) => fakeRecord(base + BigInt(i), `batch-${a.id}`)));
          await tx.checkpoint();
          process.stdout.write(`CHUNK ${c}\n`);
          await new Promise((r) => setTimeout(r, a.pauseMs ?? 0));
        }
        await tx.appendAudit({ command: 'auth sign', what: { batch: a.id, count: chunks * count }, result: 'ok' });
      });
    }
  } finally {
    await store.close();
  }
}

// `node --test dist/test/` loads every file under it, this one too: without an argument it is not a worker.
if (process.argv[2] !== undefined) runMain();

function runMain(): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof TctlError) {
        process.stderr.write(`tctl: error: ${err.message}\n${err.hint ? `tctl: hint: ${err.hint}\n` : ''}`);
        process.exit(1);
      }
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(3);
    },
  );
}
