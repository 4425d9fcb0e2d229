// The storage interface's contract, run against both implementations (the data dir and a real
// PostgreSQL): each test opens a fresh, empty store of the kind under test.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TctlError } from '../../src/errors.js';
import { AUDIT_LOG, verifyAuditLines, verifyChain } from '../../src/store/audit.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';
import type { Store } from '../../src/store/backend.js';
import { openStore } from '../../src/store/open.js';
import type { RevocationRecord } from '../../src/store/revocations.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { fakeRecord, freshLocation } from '../helpers/stores.js';

let pg: Postgres | undefined;
before(async () => {
  if (!postgresSkip()) pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

const throwsTctl = async (p: Promise<unknown>, re: RegExp) => {
  await assert.rejects(p, (err: unknown) => err instanceof TctlError && re.test(err.message), `expected a TctlError matching ${re}`);
};

for (const kind of ['dir', 'postgresql'] as const) {
  describe(`storage contract: ${kind}`, { skip: kind === 'postgresql' && postgresSkip() }, () => {
    const open = async (): Promise<Store> => openStore(freshLocation(kind, pg), { create: true });
    const withStore = async (fn: (s: Store) => Promise<void>) => {
      const s = await open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };

    test('a fresh store is empty and not initialised', () =>
      withStore(async (s) => {
        assert.equal(await s.isInitialised(), false);
        assert.equal(await s.readState(), undefined);
        assert.equal(await s.lastSerial(), 0n);
        assert.deepEqual(await s.listKeys(), []);
        assert.deepEqual(await collect(s.streamIssuance()), []);
        assert.deepEqual(await s.readRevocations(), []);
        assert.deepEqual(await collect(s.readAuditLines()), []);
        assert.equal(s.kind, kind);
        assert.match(s.describe(), kind === 'dir' ? /^data dir \// : /^PostgreSQL postgresql:\/\//);
      }));

    test('the state document reads back byte for byte, inside and outside the lock', () =>
      withStore(async (s) => {
        const doc = JSON.stringify({ version: 1, name: 'caf\u00e9 \u{1f511}', nested: { a: [1, 2] } }, null, 2) + '\n';
        await s.withLock(async (tx) => {
          await tx.saveState(doc);
          assert.equal(await tx.readState(), doc);
        });
        assert.equal(await s.readState(), doc);
        assert.equal(await s.isInitialised(), true);
        await s.withLock((tx) => tx.saveState('{"v":2}'));
        assert.equal(await s.readState(), '{"v":2}');
      }));

    test('keys: create-only refuses an existing name, overwrite replaces, remove is idempotent', () =>
      withStore(async (s) => {
        await s.withLock(async (tx) => {
          await tx.putKey('keys/user-ca-1.pem', 'PEM-1', { overwrite: false });
          await throwsTctl(tx.putKey('keys/user-ca-1.pem', 'PEM-X', { overwrite: false }), /already exists/);
          await tx.putKey('keys/host-ca-1.pem', 'PEM-2', { overwrite: false });
        });
        assert.equal(await s.getKey('keys/user-ca-1.pem'), 'PEM-1');
        assert.deepEqual(await s.listKeys(), ['keys/host-ca-1.pem', 'keys/user-ca-1.pem']);
        await s.withLock(async (tx) => {
          await tx.putKey('keys/user-ca-1.pem', 'PEM-3', { overwrite: true });
          await tx.removeKey('keys/host-ca-1.pem');
          await tx.removeKey('keys/host-ca-1.pem');
        });
        assert.equal(await s.getKey('keys/user-ca-1.pem'), 'PEM-3');
        await throwsTctl(s.getKey('keys/host-ca-1.pem'), /^cannot read CA key .*keys\/host-ca-1\.pem/);
        assert.deepEqual(await s.listKeys(), ['keys/user-ca-1.pem']);
      }));

    test('key names that leave the store are refused, every way they can be spelt', () =>
      withStore(async (s) => {
        const segments = ['ok.pem', 'keys', '..', '.', '', 'a b', 'caf\u00e9', 'a\\b', 'x\ny', 'x'.repeat(256)];
        const badSegment = (seg: string) => !['ok.pem', 'keys'].includes(seg);
        const names = new Set<string>(['/etc/passwd', '/keys/a.pem', 'keys/a.pem/']);
        for (let i = 0; names.size < 150; i++) {
          const n = 1 + (i % 4);
          const segs = Array.from({ length: n }, (_, j) => segments[(i * 7 + j * 3 + (i >> 2)) % segments.length]!);
          if (segs.some(badSegment)) names.add(segs.join('/'));
          if (i > 10_000) break;
        }
        for (const name of names) {
          await throwsTctl(s.getKey(name), /invalid CA key name/);
          await s.withLock((tx) => throwsTctl(tx.putKey(name, 'P', { overwrite: true }), /invalid CA key name/));
        }
        assert.deepEqual(await s.listKeys(), []);
      }));

    test('serials are consecutive across commands and bad counts are refused', () =>
      withStore(async (s) => {
        const a = await s.withLock((tx) => tx.reserveSerials(1));
        const b = await s.withLock((tx) => tx.reserveSerials(10));
        const c = await s.withLock((tx) => tx.reserveSerials(3));
        assert.deepEqual([a, b, c], [1n, 2n, 12n]);
        assert.equal(await s.lastSerial(), 14n);
        for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, 2 ** 53]) {
          await s.withLock((tx) => assert.rejects(tx.reserveSerials(bad), /bad count/));
        }
        assert.equal(await s.lastSerial(), 14n);
      }));

    test('restoreSerialCounter raises the counter and never lowers it', () =>
      withStore(async (s) => {
        await s.withLock((tx) => tx.restoreSerialCounter(1000n));
        await s.withLock((tx) => tx.restoreSerialCounter(5n));
        assert.equal(await s.lastSerial(), 1000n);
        assert.equal(await s.withLock((tx) => tx.reserveSerials(1)), 1001n);
      }));

    test('issuance records stream back in order, past one page', () =>
      withStore(async (s) => {
        const all = Array.from({ length: 2345 }, (_, i) => fakeRecord(BigInt(i + 1), `k${i % 7}`));
        await s.withLock(async (tx) => {
          await tx.appendIssuance(all.slice(0, 1000));
          await tx.appendIssuance([]);
          await tx.appendIssuance(all.slice(1000));
        });
        assert.deepEqual(await collect(s.streamIssuance()), all);
      }));

    test('revocations: only new ones are added (also within one call), in order', () =>
      withStore(async (s) => {
        const r = (serial: string): RevocationRecord => ({ kind: 'serial', serial, caFingerprint: 'SHA256:ca', revokedAt: '2024-01-01T00:00:00.000Z' });
        const k: RevocationRecord = { kind: 'key-id', keyId: 'alice', caType: 'user', revokedAt: '2024-01-01T00:00:00.000Z', reason: 'left' };
        const first = await s.withLock((tx) => tx.addRevocations([r('1'), r('2'), r('1'), k]));
        assert.deepEqual(first, [r('1'), r('2'), k]);
        const second = await s.withLock((tx) => tx.addRevocations([r('2'), r('3'), { ...k, revokedAt: 'later' }]));
        assert.deepEqual(second, [r('3')]);
        assert.deepEqual(await s.readRevocations(), [r('1'), r('2'), k, r('3')]);
      }));

    test('audit lines chain, verify, and are format 2 bytes', () =>
      withStore(async (s) => {
        const when = new Date('2024-05-01T00:00:00.000Z');
        for (let i = 0; i < 25; i++) {
          await s.withLock((tx) => tx.appendAudit({ command: 'auth sign', what: { i, name: 'caf\u00e9' }, result: i % 5 === 0 ? 'error' : 'ok', ...(i % 5 === 0 ? { error: 'boom' } : {}) }, when));
        }
        const lines = await collect(s.readAuditLines());
        assert.equal(lines.length, 25);
        assert.deepEqual(await verifyAuditLines(lines), { ok: true, lines: 25 });
        for (const [i, raw] of lines.entries()) {
          const line = (raw as Buffer).toString('utf8');
          assert.match(line, new RegExp(`^\\{"v":2,"seq":${i + 1},"time":"2024-05-01T00:00:00.000Z","who":`));
          assert.match(line, /,"hash":"[0-9a-f]{64}"\}$/);
        }
        // A changed byte breaks the chain at that line, whichever store held it.
        const edited = lines.map((l) => Buffer.from(l as Buffer));
        const target = edited[7]!;
        target[40] = target[40]! ^ 1;
        const v = await verifyAuditLines(edited);
        assert.equal(v.ok, false);
        assert.equal(v.brokenLine, 8);
      }));

    test('restoreAuditLines copies lines verbatim, even ones that are not UTF-8', () =>
      withStore(async (s) => {
        const lines = [Buffer.from('{"not":"an audit line"}'), Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x41])];
        await s.withLock((tx) => tx.restoreAuditLines(lines));
        assert.deepEqual(await collect(s.readAuditLines()), lines);
        // The next entry chains onto the damaged last line's raw bytes, as appendAudit does on disk.
        await s.withLock((tx) => tx.appendAudit({ command: 'x', what: {}, result: 'ok' }));
        const all = await collect(s.readAuditLines());
        assert.match((all[2] as Buffer).toString(), /"seq":0,/);
      }));

    test('a checkpoint is kept when the command then fails; a store without rollback keeps the rest too', () =>
      withStore(async (s) => {
        await assert.rejects(
          s.withLock(async (tx) => {
            await tx.reserveSerials(5);
            await tx.appendIssuance([fakeRecord(1n, 'kept')]);
            await tx.checkpoint();
            await tx.reserveSerials(5);
            await tx.appendIssuance([fakeRecord(6n, 'after')]);
            throw new Error('delivery failed');
          }),
          /delivery failed/,
        );
        const keyIds = (await collect(s.streamIssuance())).map((r) => r.keyId);
        if (kind === 'postgresql') {
          assert.deepEqual(keyIds, ['kept']);
          assert.equal(await s.lastSerial(), 5n);
        } else {
          assert.deepEqual(keyIds, ['kept', 'after']);
          assert.equal(await s.lastSerial(), 10n);
        }
        // Either way a serial is never handed out twice.
        assert.equal(await s.withLock((tx) => tx.reserveSerials(1)), (await s.lastSerial()));
      }));

    test('the lock excludes a second store instance until the first is done', async () => {
      const loc = freshLocation(kind, pg);
      const a = await openStore(loc, { create: true });
      const b = await openStore(loc);
      try {
        const events: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        const first = a.withLock(async () => {
          events.push('first in');
          await held;
          events.push('first out');
        });
        await new Promise((r) => setTimeout(r, 100));
        const second = b.withLock(async () => {
          events.push('second in');
        });
        await new Promise((r) => setTimeout(r, 300));
        release();
        await Promise.all([first, second]);
        assert.deepEqual(events, ['first in', 'first out', 'second in']);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('a transaction cannot be used after its withLock ended', () =>
      withStore(async (s) => {
        let leaked: import('../../src/store/backend.js').StoreTx | undefined;
        await s.withLock(async (tx) => {
          leaked = tx;
        });
        await assert.rejects(leaked!.reserveSerials(1), /after its withLock ended/);
      }));

    if (kind === 'dir') {
      test('the data dir keeps its files: names, modes, formats, and verifyAudit agrees byte for byte', () =>
        withStore(async (s) => {
          const dir = (s as unknown as { dataDir: string }).dataDir;
          await s.withLock(async (tx) => {
            await tx.putKey('keys/user-ca-x.pem', 'PEM', { overwrite: false });
            await tx.saveState('{}\n');
            await tx.reserveSerials(3);
            await tx.appendIssuance([fakeRecord(1n, 'a')]);
            await tx.addRevocations([{ kind: 'key', keySha256: 'abc', keyFingerprint: 'SHA256:abc', revokedAt: 'now' }]);
            await tx.appendAudit({ command: 'auth init', what: {}, result: 'ok' });
          });
          const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);
          assert.deepEqual(fs.readdirSync(dir).sort(), ['audit.jsonl', 'issued.jsonl', 'keys', 'revoked.jsonl', 'serial', 'state.json', 'tctl.lock']);
          for (const f of ['state.json', 'serial', 'keys/user-ca-x.pem', 'issued.jsonl', 'revoked.jsonl', 'audit.jsonl']) assert.equal(mode(f), '600', f);
          assert.equal(mode('.'), '700');
          assert.equal(mode('keys'), '700');
          assert.equal(fs.readFileSync(path.join(dir, 'serial'), 'utf8'), '3\n');
          assert.equal(fs.readFileSync(path.join(dir, 'issued.jsonl'), 'utf8'), JSON.stringify(fakeRecord(1n, 'a')) + '\n');
          const file = fs.readFileSync(path.join(dir, AUDIT_LOG));
          const lines = await collect(s.readAuditLines());
          assert.deepEqual(Buffer.concat(lines.flatMap((l) => [l as Buffer, Buffer.from('\n')])), file);
          assert.deepEqual(await verifyAuditLines(lines), verifyChain(new DirCaStore(dir).auditLines()));
        }));
    }
  });
}
