// Every value tctl reads from PostgreSQL has a cap, as the data dir's files and lines do: a row
// past it is refused by the server's own length check (the value never crosses the wire), with
// one line naming what and how large. Generated per kind of row, each in a database of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import { tctl, tempDir } from '../helpers/run.js';
import { freshDatabase } from '../helpers/stores.js';

const dbOf = (url: string) => /\/(tctl_\d+_\d+)\?/.exec(url)![1]!;
const MIB = 1024 * 1024;

interface Case {
  what: string;
  /** makes one row too large */
  inflate: string;
  /** a command that must read it */
  command: string[];
  error: RegExp;
}

const CASES: Case[] = [
  {
    what: 'the state document',
    inflate: `UPDATE tctl_state SET document = document || repeat(' ', ${17 * MIB})`,
    command: ['status'],
    error: /^tctl: error: PostgreSQL backend postgresql:\/\/\S+ is damaged: the state document is \d{8} bytes \(at most 16777216\)$/m,
  },
  {
    what: 'a CA key',
    inflate: `UPDATE tctl_keys SET pem = pem || repeat(' ', ${17 * MIB}) WHERE name LIKE 'keys/user-ca-%'`,
    command: ['auth', 'export', '--type=user'],
    error: /^tctl: error: PostgreSQL backend postgresql:\/\/\S+ is damaged: CA key \S+user-ca-\S+ is \d{8} bytes \(at most 16777216\)$/m,
  },
  {
    what: 'an issuance row',
    inflate: `UPDATE tctl_issuance SET record = record || repeat(' ', ${MIB})`,
    command: ['auth', 'ls'],
    error: /^tctl: error: PostgreSQL backend postgresql:\/\/\S+ is damaged: issuance row 1 is \d{7} bytes \(at most 1048576\)$/m,
  },
  {
    what: 'a revocation row',
    inflate: `UPDATE tctl_revocations SET record = record || repeat(' ', ${MIB})`,
    command: ['auth', 'export', '--type=krl', '-o', 'revoked.krl'],
    error: /^tctl: error: PostgreSQL backend postgresql:\/\/\S+ is damaged: revocation row 1 is \d{7} bytes \(at most 1048576\)$/m,
  },
  {
    what: 'an audit line',
    inflate: `UPDATE tctl_audit SET line = line || convert_to(repeat(' ', ${MIB}), 'UTF8') WHERE n = 1`,
    command: ['audit', 'verify'],
    error: /longer than 1048576 bytes/,
  },
];

describe('PostgreSQL rows past their caps', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  for (const c of CASES) {
    test(`${c.what} too large is refused with one line, and the CA works again once it is restored`, () => {
      const url = freshDatabase(pg);
      const cwd = tempDir();
      const run = (args: string[]) => tctl(args, { cwd, env: { TCTL_BACKEND: url } });
      assert.equal(run(['auth', 'init', '--cluster-name=example.com']).status, 0);
      assert.equal(run(['auth', 'sign', '--user=joe', '--out=joe']).status, 0);
      assert.equal(run(['auth', 'revoke', '--key-id=mallory', '--type=user']).status, 0);
      const before = run(c.command);
      assert.equal(before.status, 0, before.stderr);

      pg.sql(c.inflate, dbOf(url));
      const refused = run(c.command);
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, c.error);
      assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
      // Only spaces were added (the audit line aside): trimming them restores the row.
      if (c.what !== 'an audit line') {
        const [table, column] = /UPDATE (\w+) SET (\w+)/.exec(c.inflate)!.slice(1) as [string, string];
        pg.sql(`UPDATE ${table} SET ${column} = rtrim(${column}, ' ')`, dbOf(url));
        if (table === 'tctl_keys' || table === 'tctl_state') pg.sql(`UPDATE ${table} SET ${column} = ${column} || E'\\n'`, dbOf(url));
        const again = run(c.command);
        assert.equal(again.status, 0, again.stderr);
      }
    });
  }
});
