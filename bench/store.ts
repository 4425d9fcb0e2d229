// Storage cost of one signing command (withLock: reserve a serial, append its issuance record,
// append an audit line, commit), the data dir against PostgreSQL (fsync on), in one process and
// in 8 concurrent processes. Run: npm run build && node dist/bench/store.js
import { openStore } from '../src/store/open.js';
import type { StoreLocation } from '../src/store/select.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { fakeRecord, freshDatabase, freshDataDir, runWorker } from '../test/helpers/stores.js';

const N = Number(process.env.TCTL_BENCH_STORE_N ?? 300);
const PROCS = 8;

async function single(location: StoreLocation): Promise<number> {
  const s = await openStore(location, { create: true });
  try {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      await s.withLock(async (tx) => {
        const serial = await tx.reserveSerials(1);
        await tx.appendIssuance([fakeRecord(serial, 'bench')]);
        await tx.appendAudit({ command: 'auth sign', what: { serial: serial.toString() }, result: 'ok' });
      });
    }
    return N / ((performance.now() - t0) / 1000);
  } finally {
    await s.close();
  }
}

async function concurrent(location: StoreLocation): Promise<number> {
  const loops = Math.ceil(N / PROCS);
  // Open (and migrate) once so the timing is of the commands, not of first use.
  await (await openStore(location, { create: true })).close();
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: PROCS }, (_, id) => runWorker({ location, mode: 'sign', id, loops })));
  const seconds = (performance.now() - t0) / 1000;
  for (const r of results) if (r.status !== 0) throw new Error(r.stderr);
  return (loops * PROCS) / seconds;
}

const pg = await startPostgres();
try {
  const dir = (): StoreLocation => ({ kind: 'dir', dataDir: freshDataDir(), source: '--data-dir' });
  const db = (): StoreLocation => ({ kind: 'postgresql', url: freshDatabase(pg), source: '--backend' });
  const rows = [
    ['1 process', await single(dir()), await single(db())],
    [`${PROCS} processes (incl. process start)`, await concurrent(dir()), await concurrent(db())],
  ] as const;
  console.log(`commands/s (reserve + issuance + audit + commit), ${N} commands each`);
  for (const [what, local, postgres] of rows) {
    console.log(`${what.padEnd(36)} data dir ${local.toFixed(0).padStart(6)}   PostgreSQL ${postgres.toFixed(0).padStart(6)}   ratio ${(postgres / local).toFixed(2)}x`);
  }
} finally {
  await pg.stop();
}
