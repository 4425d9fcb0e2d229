// A CA kept in PostgreSQL, checked by the OpenSSH that ships with the OS: a real sshd accepts the
// user certificate it issues and ssh (StrictHostKeyChecking=yes) the host certificate. Then
// `tctl backend clone` both ways (PostgreSQL -> data dir -> a new database): each copy verifies,
// exports the same CA and signs certificates the same sshd accepts; a non-empty target is refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOGIN, ok, sshdFor } from '../helpers/interop.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import type { RunResult } from '../helpers/run.js';
import { openssh, tctl, tempDir } from '../helpers/run.js';
import type { Sshd } from '../helpers/sshd.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';
import { freshDatabase } from '../helpers/stores.js';

const HOST = 'api.example.com';

interface Ca {
  what: string;
  run(args: string[]): RunResult;
}

function workspace() {
  const cwd = tempDir();
  const file = (name: string) => path.join(cwd, name);
  const ca = (what: string, env: Record<string, string>): Ca => ({ what, run: (args) => tctl(args, { cwd, env, timeoutMs: 60_000 }) });
  const keygen = (name: string) => ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file(name)]), `ssh-keygen ${name}`);
  const clone = (from: string, to: string) => tctl(['backend', 'clone', `--from=${from}`, `--to=${to}`], { cwd, timeoutMs: 60_000 });
  return { cwd, file, ca, keygen, clone };
}

/** Logs in with KEY and KEY-cert.pub; sshd must say it took that certificate. */
async function logsIn(sshd: Sshd, w: ReturnType<typeof workspace>, key: string, keyId: string, serial: number): Promise<void> {
  const mark = sshd.mark();
  const r = sshRun({ port: sshd.port, key: w.file(key), knownHosts: w.file('known_hosts'), hostKeyAlias: HOST, command: 'echo logged-in' });
  assert.equal(r.status, 0, `${key}: ssh failed\n${r.stderr}\n${sshd.log().slice(mark)}`);
  assert.equal(r.stdout, 'logged-in\n');
  await sshd.waitForLog(new RegExp(`Accepted publickey for ${LOGIN} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519-CERT SHA256:\\S+ ID ${keyId} \\(serial ${serial}\\)`), mark);
}

const signUser = (ca: Ca, name: string) => ok(ca.run(['auth', 'sign', `--user=${name}`, `--principals=${LOGIN}`, '--ttl=1h', `--public-key=${name}.pub`]), `${ca.what}: sign ${name}`);

/** Every table of a tctl database, hashed row by row in a fixed order. */
function tables(pg: Postgres, db: string): string {
  const queries = [
    'SELECT document FROM tctl_state',
    'SELECT name || pem FROM tctl_keys ORDER BY name',
    'SELECT last::text FROM tctl_serial',
    'SELECT seq || record FROM tctl_issuance ORDER BY seq',
    'SELECT seq || identity || record FROM tctl_revocations ORDER BY seq',
    'SELECT n || encode(line, \'hex\') FROM tctl_audit ORDER BY n',
  ];
  return queries.map((q) => createHash('sha256').update(pg.sql(q, db)).digest('hex')).join(' ');
}

/** Every file under dir with its mode and bytes. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    out[name] = st.isDirectory() ? `dir ${st.mode}` : `${st.mode} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
  }
  return out;
}

const dbOf = (url: string) => /\/(tctl_\d+_\d+)\?/.exec(url)![1]!;

describe('a CA in PostgreSQL with a real sshd, and backend clone both ways', { skip: postgresSkip() || interopSkip() }, () => {
  let pg: Postgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  test('certificates issued through PostgreSQL log in; clones PostgreSQL -> data dir -> PostgreSQL verify and sign logins too', async (t) => {
    requireOpenSsh();
    const w = workspace();
    const url = freshDatabase(pg);
    const origin = w.ca('PostgreSQL', { TCTL_BACKEND: url });
    ok(origin.run(['auth', 'init', '--cluster-name=example.com']), 'init');
    for (const k of ['host', 'alice', 'bob', 'carol']) w.keygen(k);
    ok(origin.run(['auth', 'sign', `--host=${HOST},127.0.0.1`, '--public-key=host.pub', '--out=host']), 'sign host');
    signUser(origin, 'alice');
    const userCa = ok(origin.run(['auth', 'export', '--type=user']), 'export user').stdout;
    const hostCa = ok(origin.run(['auth', 'export', '--type=host']), 'export host').stdout;
    fs.writeFileSync(w.file('user_ca.pub'), userCa);
    fs.writeFileSync(w.file('known_hosts'), hostCa);
    const sshd = await sshdFor(t, { dir: w.file('sshd'), hostKeys: [{ key: w.file('host'), certificate: w.file('host-cert.pub') }], trustedUserCaKeys: w.file('user_ca.pub') });

    // The host certificate (serial 1) is what ssh checked: known_hosts holds only the CA line.
    assert.match(hostCa, /^@cert-authority example\.com,\*\.example\.com ssh-ed25519 \S+ type=host\n$/);
    await logsIn(sshd, w, 'alice', 'alice', 2);
    // Without a certificate the same sshd lets nobody in.
    const bare = sshRun({ port: sshd.port, key: w.file('bob'), knownHosts: w.file('known_hosts'), hostKeyAlias: HOST });
    assert.equal(bare.status, 255, bare.stderr);

    const auditOf = (ca: Ca) => ok(ca.run(['audit', 'verify']), `${ca.what}: audit verify`).stdout;
    const before = { ls: ok(origin.run(['auth', 'ls', '--json']), 'ls').stdout, audit: auditOf(origin) };
    assert.match(before.audit, /: 3 entries, hash chain intact$/m);

    const dirCopy = w.file('copy-dir');
    const url2 = freshDatabase(pg);
    const toDir = w.clone(url, dirCopy);
    assert.equal(toDir.status, 0, toDir.stderr);
    assert.match(toDir.stdout, /^Cloned PostgreSQL postgresql:\/\/\S+ into data dir \S+copy-dir: \d+ keys, 2 issued certificate records, 0 revocations, 3 audit entries, last serial 2\.\n$/);
    const toPg = w.clone('copy-dir', url2);
    assert.equal(toPg.status, 0, toPg.stderr);
    assert.match(toPg.stdout, /^Cloned data dir \S+copy-dir into PostgreSQL postgresql:\/\/\S+: \d+ keys, 2 issued certificate records, 0 revocations, 3 audit entries, last serial 2\.\n$/);

    const copies: Array<[Ca, string]> = [
      [w.ca('data dir copy', { TCTL_DATA_DIR: dirCopy }), 'bob'],
      [w.ca('PostgreSQL copy', { TCTL_BACKEND: url2 }), 'carol'],
    ];
    for (const [copy, user] of copies) {
      assert.equal(auditOf(copy), before.audit, `${copy.what}: the audit chain came along whole`);
      assert.equal(ok(copy.run(['auth', 'ls', '--json']), 'ls').stdout, before.ls, `${copy.what}: the issuance log`);
      assert.equal(ok(copy.run(['auth', 'export', '--type=user']), 'export').stdout, userCa, `${copy.what}: the same user CA`);
      assert.equal(ok(copy.run(['auth', 'export', '--type=host']), 'export').stdout, hostCa, `${copy.what}: the same host CA`);
      // The copy is a working CA: its next serial follows the copied counter, and sshd takes it.
      signUser(copy, user);
      await logsIn(sshd, w, user, user, 3);
      assert.match(auditOf(copy), /: 4 entries, hash chain intact$/m);
    }
    // A copy is a fork, not a mirror: the original did not see what the copies signed.
    assert.equal(ok(origin.run(['auth', 'ls', '--json']), 'ls').stdout, before.ls);
  });

  test('clone into a data dir or database that holds a CA is refused and leaves it as it was', () => {
    const w = workspace();
    const url = freshDatabase(pg);
    const other = freshDatabase(pg);
    const dataDir = w.file('ca');
    ok(w.ca('source', { TCTL_BACKEND: url }).run(['auth', 'init', '--cluster-name=example.com']), 'init source');
    ok(w.ca('database target', { TCTL_BACKEND: other }).run(['auth', 'init', '--cluster-name=other.example.com']), 'init target');
    ok(w.clone(url, dataDir), 'clone into an empty data dir');
    const dirBefore = files(dataDir);
    const dbBefore = tables(pg, dbOf(other));
    const sourceBefore = tables(pg, dbOf(url));

    const cases: Array<[string, string, RegExp]> = [
      [url, dataDir, /^tctl: error: data dir \S+ is not empty: it holds a CA/],
      [url, other, /^tctl: error: PostgreSQL postgresql:\/\/\S+ is not empty: it holds a CA/],
      [dataDir, other, /^tctl: error: PostgreSQL postgresql:\/\/\S+ is not empty: it holds a CA/],
      [url, url, /^tctl: error: .*into itself/],
    ];
    for (const [from, to, re] of cases) {
      const r = w.clone(from, to);
      assert.equal(r.status, 1, `${from} -> ${to}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, re);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1, r.stderr);
    }
    assert.deepEqual(files(dataDir), dirBefore, 'the data dir target is unchanged');
    assert.equal(tables(pg, dbOf(other)), dbBefore, 'the database target is unchanged');
    assert.equal(tables(pg, dbOf(url)), sourceBefore, 'the source is unchanged');
  });
});
