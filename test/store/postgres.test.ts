// The PostgreSQL store across processes, against a real server: concurrent writers, a writer
// killed mid-transaction, the server stopped mid-batch, a schema from a newer tctl, and the
// errors a user sees when the database cannot be reached.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TctlError } from '../../src/errors.js';
import { verifyAuditLines } from '../../src/store/audit.js';
import { openStore } from '../../src/store/open.js';
import type { StoreLocation } from '../../src/store/select.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { freshDatabase, pgCtl, runWorker, startWorker } from '../helpers/stores.js';

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

const dbName = (l: StoreLocation) => /\/(tctl_\d+_\d+)\?/.exec((l as { url: string }).url)![1]!;

async function snapshot(location: StoreLocation) {
  const s = await openStore(location);
  try {
    const issuance = await collect(s.streamIssuance());
    const audit = await collect(s.readAuditLines());
    return { serial: await s.lastSerial(), issuance, audit, verdict: await verifyAuditLines(audit) };
  } finally {
    await s.close();
  }
}

describe('PostgreSQL store across processes', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  const password = 'Corr3ct-horse-battery';
  before(async () => {
    pg = await startPostgres({ hba: 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' });
    pg.sql(`CREATE ROLE tctl LOGIN PASSWORD '${password}'`);
    pg.sql('CREATE DATABASE tctl_tcp OWNER tctl');
  });
  after(async () => {
    await pg?.stop();
  });
  const fresh = (): StoreLocation => ({ kind: 'postgresql', url: freshDatabase(pg), source: '--backend' });

  test('20 concurrent processes: 20 unique consecutive serials, 20 issuance rows, one audit chain that verifies', async () => {
    const location = fresh();
    const results = await Promise.all(Array.from({ length: 20 }, (_, id) => runWorker({ location, mode: 'sign', id })));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    const serials = results.map((r) => BigInt(r.stdout.trim())).sort((a, b) => (a < b ? -1 : 1));
    assert.deepEqual(serials, Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
    const s = await snapshot(location);
    assert.equal(s.serial, 20n);
    assert.equal(s.issuance.length, 20);
    assert.equal(new Set(s.issuance.map((r) => r.serial)).size, 20);
    assert.deepEqual(s.verdict, { ok: true, lines: 20 });
    // Each worker's audit line names the serial its issuance row has: nothing crossed over.
    for (const line of s.audit) {
      const e = JSON.parse((line as Buffer).toString()) as { what: { worker: number; firstSerial: string } };
      const row = s.issuance.find((r) => r.serial === e.what.firstSerial)!;
      assert.equal(row.keyId, `worker-${e.what.worker}`);
    }
  });

  test('a process SIGKILLed inside its transaction leaves no row behind, and the lock is free at once', async () => {
    const location = fresh();
    assert.equal((await runWorker({ location, mode: 'sign', id: 0, count: 3 })).status, 0);
    const before = await snapshot(location);
    for (let round = 0; round < 3; round++) {
      const w = startWorker({ location, mode: 'hold', id: 100 + round, count: 50 });
      await w.waitFor(/HOLDING/);
      w.child.kill('SIGKILL');
      const r = await w.done;
      assert.equal(r.signal, 'SIGKILL');
    }
    const afterKill = await snapshot(location);
    assert.deepEqual(afterKill, before);
    const started = Date.now();
    const next = await runWorker({ location, mode: 'sign', id: 1 });
    assert.equal(next.status, 0, next.stderr);
    assert.equal(next.stdout.trim(), '4');
    assert.ok(Date.now() - started < 10_000, 'the killed holder\'s lock was released by the server');
  });

  test('schema migrations run once under concurrent first use', async () => {
    const location = fresh();
    const results = await Promise.all(Array.from({ length: 6 }, (_, id) => runWorker({ location, mode: 'sign', id })));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    const db = dbName(location);
    assert.equal(pg.sql('SELECT version FROM tctl_schema', db).trim(), '1');
  });

  test('a schema newer than this tctl knows is refused with a clear error', async () => {
    const location = fresh();
    const s = await openStore(location);
    await s.close();
    const db = dbName(location);
    pg.sql('UPDATE tctl_schema SET version = 7', db);
    await assert.rejects(openStore(location), (err: unknown) => {
      assert.ok(err instanceof TctlError);
      assert.match(err.message, /^PostgreSQL backend postgresql:\/\/.* has schema version 7; this tctl knows versions up to 1$/);
      assert.match(err.hint ?? '', /newer tctl/);
      return true;
    });
    // Refused without touching it.
    assert.equal(pg.sql('SELECT version FROM tctl_schema', db).trim(), '7');
  });

  test('wrong password, nothing listening, no such database: one clear line, never the password', async () => {
    const tcp = (pw: string, port = pg.port, db = 'tctl_tcp') => `postgresql://tctl:${encodeURIComponent(pw)}@127.0.0.1:${port}/${db}`;
    const ok = await openStore({ kind: 'postgresql', url: tcp(password), source: '--backend' });
    assert.equal(ok.describe(), `PostgreSQL postgresql://tctl@127.0.0.1:${pg.port}/tctl_tcp`);
    await ok.close();
    const cases: Array<[string, RegExp]> = [
      [tcp('not-the-S3cret-pw'), /^cannot reach PostgreSQL at postgresql:\/\/tctl@127\.0\.0\.1:\d+\/tctl_tcp: password authentication failed for user "tctl"$/],
      [tcp(password, 1), /^cannot reach PostgreSQL at postgresql:\/\/tctl@127\.0\.0\.1:1\/tctl_tcp: connection refused/],
      [tcp(password, pg.port, 'nope'), /^cannot reach PostgreSQL at .*\/nope: database "nope" does not exist$/],
      [`postgresql://tctl:${password}@/x?host=/nonexistent-dir&port=5432`, /^cannot reach PostgreSQL at postgresql:\/\/tctl@\/x\?host=\/nonexistent-dir&port=5432: no server socket there/],
    ];
    for (const [url, re] of cases) {
      await assert.rejects(openStore({ kind: 'postgresql', url, source: '--backend' }), (err: unknown) => {
        assert.ok(err instanceof TctlError, String(err));
        assert.match(err.message, re);
        assert.doesNotMatch(`${err.message} ${err.hint}`, /S3cret|Corr3ct/);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
    }
  });

  test('the server stopped mid-batch: a clear error, checkpointed chunks kept, and no serial reused after restart', async () => {
    const location = fresh();
    assert.equal((await runWorker({ location, mode: 'sign', id: 0 })).status, 0);
    const w = startWorker({ location, mode: 'batch', id: 9, count: 100, chunks: 1000, pauseMs: 20 });
    await w.waitFor(/CHUNK 3\n/);
    const stop = pgCtl(pg, ['stop', '-m', 'fast', '-w']);
    assert.equal(stop.status, 0, stop.stderr);
    const r = await w.done;
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/\S+: (terminating connection due to administrator command|the connection was lost|connection refused|no server socket there)/);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1);
    const chunksDone = (r.stdout.match(/CHUNK/g) ?? []).length;
    const start = pgCtl(pg, ['start', '-w', '-l', `${pg.dir}/restart.log`]);
    assert.equal(start.status, 0, start.stderr);
    try {
      const s = await snapshot(location);
      // The reservation (1 + 100,000) was checkpointed before the first chunk; every chunk that said CHUNK is there.
      assert.equal(s.serial, 1n + 100_000n);
      assert.ok(s.issuance.length >= 1 + chunksDone * 100 && s.issuance.length <= 1 + (chunksDone + 1) * 100, `${s.issuance.length} rows for ${chunksDone} chunks`);
      assert.equal(s.issuance.length % 100, 1, 'whole chunks only');
      const next = await runWorker({ location, mode: 'sign', id: 1, count: 2 });
      assert.equal(next.status, 0, next.stderr);
      assert.equal(BigInt(next.stdout.trim()), 100_002n);
      const serials = (await snapshot(location)).issuance.map((x) => x.serial);
      assert.equal(new Set(serials).size, serials.length, 'no serial recorded twice');
    } finally {
      // The helper's stop() only signals the postmaster it started, which is gone: stop this one
      // here (so this test is the last of the file).
      pgCtl(pg, ['stop', '-m', 'fast', '-w']);
    }
  });
});
