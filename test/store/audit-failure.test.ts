// A failed command leaves an audit entry on every store, through the synchronous CaStore the core
// uses (the PostgreSQL bridge thread included). On PostgreSQL a refused statement aborts the
// transaction; the entry must still be kept, and the command's uncommitted writes must go.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TctlError } from '../../src/errors.js';
import { recordFailure, verifyChain } from '../../src/store/audit.js';
import type { CaStore } from '../../src/store/ca-store.js';
import { openCaStore } from '../../src/store/open.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { freshLocation } from '../helpers/stores.js';

let pg: Postgres | undefined;
before(async () => {
  if (!postgresSkip()) pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

const entries = (s: CaStore) => [...s.auditLines()].map((l) => JSON.parse(l.toString()) as { command: string; result: string; error?: string });

for (const kind of ['dir', 'postgresql'] as const) {
  describe(`a failed command is audited: ${kind}`, { skip: kind === 'postgresql' && postgresSkip() }, () => {
    const open = async () => {
      const s = await openCaStore(freshLocation(kind, pg));
      s.create();
      return s;
    };

    test('the entry is kept and chained; on PostgreSQL the writes since the last checkpoint are undone', async () => {
      const s = await open();
      try {
        s.withLock(() => s.saveState('{"v":1}'));
        assert.throws(
          () =>
            s.withLock(() => {
              s.reserveSerials(5);
              s.saveState('{"v":2}');
              // A NUL is no text to PostgreSQL: the statement is refused and the transaction aborted.
              if (kind === 'postgresql') assert.throws(() => s.saveState('{"v":"\u0000"}'), TctlError);
              recordFailure(s, { command: 'auth rotate', what: {}, result: 'error', error: 'boom' });
              throw new Error('boom');
            }),
          /^Error: boom$/,
        );
        assert.deepEqual(entries(s), [{ ...entries(s)[0]!, command: 'auth rotate', result: 'error', error: 'boom' }]);
        assert.equal(verifyChain(s.auditLines()).ok, true);
        // The data dir's writes are on disk the moment they are made; PostgreSQL rolls them back.
        assert.equal(s.readState(), kind === 'postgresql' ? '{"v":1}' : '{"v":2}');
        assert.equal(s.lastSerial(), kind === 'postgresql' ? 0n : 5n);
        // Whatever was kept, a serial is never handed out twice.
        assert.equal(s.withLock(() => s.reserveSerials(1)), s.lastSerial());
      } finally {
        s.close();
      }
    });

    test('a store that was never initialised records nothing', async () => {
      const s = await open();
      try {
        assert.throws(() => s.withLock(() => (recordFailure(s, { command: 'auth init', what: {}, result: 'error', error: 'no' }), assert.fail('boom'))), /boom/);
        assert.deepEqual(entries(s), []);
      } finally {
        s.close();
      }
    });
  });
}
