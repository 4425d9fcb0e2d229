// Two "hosts" (separate working dirs, homes and environments) share one CA in one PostgreSQL
// database, through the real tctl: concurrent signers never share a serial or lose a record, a
// rotation started on one host is what the other sees, a tctl killed mid-batch or cut off by a
// server shutdown leaves whole checkpoints only, and every way of not reaching the server is one
// clear error line.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fingerprintOfLine } from '../helpers/interop.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import type { Postgres } from '../helpers/postgres.js';
import { postgresSkip, startPostgres } from '../helpers/postgres.js';
import type { RunResult } from '../helpers/run.js';
import { openssh, tctl, tempDir } from '../helpers/run.js';
import type { Exit } from '../helpers/spawn.js';
import { startTctl, tctlAsync, until } from '../helpers/spawn.js';
import { freshDatabase, pgCtl } from '../helpers/stores.js';

interface Host {
  name: string;
  cwd: string;
  run(args: string[]): RunResult;
  start(args: string[]): ReturnType<typeof startTctl>;
  file(name: string): string;
}

let root: string | undefined;

/** A machine of its own: working dir, HOME and environment; only the URL is shared. */
function host(name: string, url: string): Host {
  root ??= tempDir('tctl-two-hosts-');
  const cwd = fs.mkdtempSync(path.join(root, `${name}-`));
  const env = { TCTL_BACKEND: url };
  return {
    name, cwd,
    run: (args) => tctl(args, { cwd, env, timeoutMs: 60_000 }),
    start: (args) => startTctl(args, { cwd, env }),
    file: (f) => path.join(cwd, f),
  };
}

function twoHosts(url: string): [Host, Host] {
  const a = host('a', url);
  const init = a.run(['auth', 'init', '--cluster-name=example.com']);
  assert.equal(init.status, 0, init.stderr);
  return [a, host('b', url)];
}

const ok = (r: RunResult, what: string): RunResult => {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}`);
  return r;
};
const serialOf = (certFile: string): bigint => BigInt(/Serial: (\d+)/.exec(ok(openssh('ssh-keygen', ['-L', '-f', certFile]), certFile).stdout)![1]!);
const issued = (h: Host): Array<{ serial: string; keyId: string }> => JSON.parse(ok(h.run(['auth', 'ls', '--json']), 'auth ls').stdout);

/** The requests of a --batch: many users, one key (signing cost, not key generation, is what a batch is about). */
function batchFile(h: Host, count: number): string {
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', h.file('batch-key')]), 'ssh-keygen');
  const key = fs.readFileSync(h.file('batch-key.pub'), 'utf8').trim();
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ user: `batch${i}`, public_key: key }));
  fs.writeFileSync(h.file('batch.jsonl'), lines.join('\n') + '\n');
  return 'batch.jsonl';
}

/** Certificate files are renamed into place only after their chunk is committed: the first one means a checkpoint passed. */
const firstChunk = (h: Host) =>
  until(() => fs.existsSync(h.file('certs')) && fs.readdirSync(h.file('certs')).some((f) => f.endsWith('-cert.pub')), 'the first chunk of certificates');

/**
 * The serials of the certificate files a batch wrote. An ed25519 certificate's serial sits at a
 * fixed offset (PROTOCOL.certkeys: type, nonce and public key are fixed-length strings before it).
 */
function writtenSerials(h: Host): bigint[] {
  const dir = h.file('certs');
  return fs.readdirSync(dir).filter((f) => f.endsWith('-cert.pub')).map((f) => {
    const blob = Buffer.from(fs.readFileSync(path.join(dir, f), 'utf8').split(' ')[1]!, 'base64');
    assert.equal(blob.subarray(4, 4 + blob.readUInt32BE(0)).toString(), 'ssh-ed25519-cert-v01@openssh.com', f);
    return blob.readBigUInt64BE(4 + 32 + 4 + 32 + 4 + 32);
  });
}

/** Exactly one error line (a hint may follow), nothing on stdout, no stack trace. */
function oneErrorLine(r: Exit | RunResult, what: string, re: RegExp): void {
  assert.equal(r.status, 1, `${what}: exit ${r.status}\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.filter((l) => l.startsWith('tctl: error: ')).length, 1, `${what}:\n${r.stderr}`);
  assert.ok(lines.every((l) => /^tctl: (error|hint|note): /.test(l)), `${what}: only tctl's own lines:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
  assert.match(lines[0]!, re, what);
}

/** What the issuance log and the serial counter must always satisfy, whatever was interrupted. */
function checkConsistent(h: Host, db: string, pg: Postgres): { serials: bigint[]; counter: bigint } {
  const rows = issued(h).filter((r) => /^\d+$/.test(r.serial));
  const serials = rows.map((r) => BigInt(r.serial));
  const counter = BigInt(pg.sql('SELECT last FROM tctl_serial', db).trim());
  assert.equal(new Set(serials).size, serials.length, 'no serial recorded twice');
  for (const s of serials) assert.ok(s >= 1n && s <= counter, `serial ${s} is past the counter ${counter}`);
  const verify = ok(h.run(['audit', 'verify']), 'audit verify');
  assert.match(verify.stdout, /hash chain intact/);
  return { serials, counter };
}

const dbOf = (url: string) => /\/(tctl_\d+_\d+)\?/.exec(url)![1]!;

describe('two hosts, one PostgreSQL', { skip: postgresSkip() }, () => {
  let pg: Postgres;
  let restarted = false;
  const password = 'Sw0rdfish-on-the-wire';
  before(async () => {
    // Twenty tctl processes at once plus the test's own psql: more than the helper's default 20.
    pg = await startPostgres({ config: ['max_connections = 40'], hba: 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' });
    pg.sql(`CREATE ROLE tctl LOGIN PASSWORD '${password}'`);
    pg.sql('CREATE DATABASE tctl_pw OWNER tctl');
  });
  after(async () => {
    // pg.stop() signals the postmaster it started; after a restart that one is gone.
    if (restarted) pgCtl(pg, ['stop', '-m', 'fast', '-w']);
    await pg?.stop();
  });

  test('20 signers at once, split over both hosts: 20 unique serials, 20 issuance rows, one audit chain', async () => {
    const [a, b] = twoHosts(freshDatabase(pg));
    const who = (i: number) => (i % 2 === 0 ? a : b);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => who(i).start(['auth', 'sign', `--user=u${i}`, `--out=u${i}`]).done));
    results.forEach((r, i) => assert.equal(r.status, 0, `signer ${i}: ${r.stderr}`));
    const serials = results.map((_, i) => serialOf(who(i).file(`u${i}-cert.pub`)));
    assert.deepEqual([...serials].sort((x, y) => (x < y ? -1 : 1)), Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
    for (const h of [a, b]) {
      const rows = issued(h);
      assert.equal(rows.length, 20, `${h.name} sees every row`);
      // Each row is the certificate that signer wrote: nothing crossed over.
      serials.forEach((s, i) => assert.equal(rows.find((r) => r.serial === s.toString())?.keyId, `u${i}`));
    }
    // auth init, then one line per signer: a single chain, no fork.
    assert.match(ok(b.run(['audit', 'verify']), 'audit verify').stdout, /: 21 entries, hash chain intact$/m);
  });

  test('a rotation started on one host is what the other exports; of two started at once, one wins', async () => {
    const [a, b] = twoHosts(freshDatabase(pg));
    const oldLine = ok(b.run(['auth', 'export', '--type=user']), 'export').stdout;
    ok(a.run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']), 'rotate on a');
    const lines = ok(b.run(['auth', 'export', '--type=user']), 'export on b').stdout.trim().split('\n');
    assert.equal(lines.length, 2, 'b trusts the old and the new key');
    assert.equal(lines[0], oldLine.trim());
    const statusOf = (h: Host) => JSON.parse(ok(h.run(['status', '--json']), 'status').stdout).authorities.user;
    const onB = statusOf(b);
    assert.equal(onB.rotation.phase, 'init');
    assert.deepEqual(onB.trusted.map((k: { fingerprint: string }) => k.fingerprint), lines.map(fingerprintOfLine));
    assert.deepEqual(statusOf(a).trusted, onB.trusted);

    // Both hosts start a rotation of the same CA at the same moment, in each form.
    const forms: Array<[string, string[]]> = [
      ['auto', ['auth', 'rotate', '--type=host', '--grace-period=30h']],
      ['manual', ['auth', 'rotate', '--type=host', '--manual', '--phase=init']],
      ['auto', ['auth', 'rotate', '--type=host', '--grace-period=30h']],
    ];
    for (const [form, args] of forms) {
      const [ra, rb] = await Promise.all([a.start(args).done, b.start(args).done]);
      const what = `${form}: a exit ${ra.status}, b exit ${rb.status}\n${ra.stderr}${rb.stderr}`;
      assert.deepEqual([ra.status, rb.status].sort(), [0, 1], what);
      const loser = ra.status === 1 ? ra : rb;
      oneErrorLine(loser, form, /^tctl: error: cannot start a rotation of the host CA while another is in progress \(phase "init"\)$/);
      assert.equal(loser.stdout, '');
      assert.equal(JSON.parse(ok(b.run(['status', '--json']), 'status').stdout).authorities.host.trusted.length, 2, 'one new key, not two');
      ok(b.run(['auth', 'rotate', '--type=host', '--manual', '--phase=rollback']), 'rollback');
      ok(a.run(['auth', 'rotate', '--type=host', '--manual', '--phase=standby']), 'standby');
    }
    ok(a.run(['audit', 'verify']), 'audit verify');
  });

  test('a batch SIGKILLed mid-run leaves whole checkpoints: no serial twice, none past the counter, the next one higher', async () => {
    const url = freshDatabase(pg);
    const [a, b] = twoHosts(url);
    ok(b.run(['auth', 'sign', '--user=before', '--out=before']), 'sign');
    const batch = a.start(['auth', 'sign', `--batch=${batchFile(a, 5000)}`, '--out-dir=certs']);
    await firstChunk(a);
    batch.child.kill('SIGKILL');
    const r = await batch.done;
    assert.equal(r.signal, 'SIGKILL', `the batch finished before it was killed:\n${r.stdout}${r.stderr}`);

    const { serials, counter } = checkConsistent(b, dbOf(url), pg);
    const fromBatch = serials.length - 1;
    // Logged a chunk of 1,000 certificates at a time, whichever thread signed them.
    assert.ok(fromBatch > 0 && fromBatch < 5000 && fromBatch % 1000 === 0, `${fromBatch} rows from the batch: whole chunks only`);
    // The log is ahead of the files: every certificate handed out is on record.
    const logged = new Set(serials);
    const files = writtenSerials(a);
    assert.ok(files.length > 0 && files.length <= fromBatch, `${files.length} files for ${fromBatch} rows`);
    for (const s of files) assert.ok(logged.has(s), `certificate serial ${s} was written but not logged`);
    const next = ok(b.run(['auth', 'sign', '--user=after', '--out=after']), 'sign after the kill');
    assert.equal(next.stderr, '');
    const s = serialOf(b.file('after-cert.pub'));
    assert.ok(s > counter, `new serial ${s} is past the counter ${counter}`);
    checkConsistent(a, dbOf(url), pg);
  });

  test('PostgreSQL unreachable, wrong port, wrong password, no such database or user: one clear error line, exit 1', async () => {
    const cwd = host('c', 'unused').cwd;
    const port = await freeLoopbackPort();
    const tcp = (user: string, pw: string, p: number, db: string) => `postgresql://${user}:${encodeURIComponent(pw)}@127.0.0.1:${p}/${db}`;
    const cases: Array<[string, string, RegExp]> = [
      ['nothing listening on the port', tcp('tctl', password, port, 'tctl_pw'), /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/tctl@127\.0\.0\.1:\d+\/tctl_pw: connection refused/],
      ['wrong password', tcp('tctl', 'not-the-Sw0rdfish', pg.port, 'tctl_pw'), /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/tctl@127\.0\.0\.1:\d+\/tctl_pw: password authentication failed for user "tctl"$/],
      ['no such user', tcp('nobody', password, pg.port, 'tctl_pw'), /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/nobody@127\.0\.0\.1:\d+\/tctl_pw: password authentication failed for user "nobody"$/],
      ['no such database', `postgresql://${pg.superuser}@/nope?host=${encodeURIComponent(pg.dir)}&port=${pg.port}`, /^tctl: error: cannot reach PostgreSQL at \S+\/nope\?\S+: database "nope" does not exist$/],
      ['no server socket', `postgresql://${pg.superuser}@/x?host=${encodeURIComponent(path.join(cwd, 'no-server'))}&port=${pg.port}`, /^tctl: error: cannot reach PostgreSQL at \S+: no server socket there/],
    ];
    const commands = [['status'], ['auth', 'sign', '--user=x', '--out=x'], ['auth', 'init', '--cluster-name=example.com']];
    const runs = cases.flatMap(([what, url]) => commands.map((args) => ({ what: `${what}: ${args.join(' ')}`, r: tctlAsync(args, { cwd, env: { TCTL_BACKEND: url }, timeoutMs: 30_000 }) })));
    for (const [i, { what, r }] of runs.entries()) {
      const got = await r;
      oneErrorLine(got, what, cases[Math.floor(i / commands.length)]![2]);
      assert.equal(got.stdout, '', what);
      assert.doesNotMatch(got.stderr, /Sw0rdfish/, `${what}: the password`);
    }
    assert.deepEqual(fs.readdirSync(cwd).filter((f) => !f.startsWith('.')), [], 'nothing written on failure');
  });

  // Last in the file: it stops and restarts the cluster.
  test('pg_ctl stop during a large batch: one error line, exit 1; after a restart no serial is reused', async () => {
    const url = freshDatabase(pg);
    const [a, b] = twoHosts(url);
    ok(b.run(['auth', 'sign', '--user=before', '--out=before']), 'sign');
    const batch = a.start(['auth', 'sign', `--batch=${batchFile(a, 10_000)}`, '--out-dir=certs']);
    await firstChunk(a);
    const stop = pgCtl(pg, ['stop', '-m', 'fast', '-w']);
    assert.equal(stop.status, 0, stop.stderr);
    const r = await batch.done;
    oneErrorLine(r, 'the batch', /^tctl: error: cannot reach PostgreSQL at postgresql:\/\/\S+: (terminating connection due to administrator command|the connection was lost|connection closed by the server|connection reset by the server|connection refused|no server socket there)/);
    assert.equal(r.stdout, '');
    // While it is down, every command says so in one line.
    oneErrorLine(b.run(['auth', 'sign', '--user=down', '--out=down']), 'sign while down', /^tctl: error: cannot reach PostgreSQL at \S+: no server socket there/);
    oneErrorLine(b.run(['status']), 'status while down', /^tctl: error: cannot reach PostgreSQL/);

    const start = pgCtl(pg, ['start', '-w', '-l', path.join(pg.dir, 'restart.log')]);
    restarted = true;
    assert.equal(start.status, 0, start.stderr);
    const { serials, counter } = checkConsistent(b, dbOf(url), pg);
    const fromBatch = serials.length - 1;
    assert.ok(fromBatch > 0 && fromBatch < 10_000 && fromBatch % 1000 === 0, `${fromBatch} rows from the batch: whole chunks only`);
    const logged = new Set(serials);
    for (const s of writtenSerials(a)) assert.ok(logged.has(s), `certificate serial ${s} was written but not logged`);
    ok(b.run(['auth', 'sign', '--user=after', '--out=after']), 'sign after the restart');
    const s = serialOf(b.file('after-cert.pub'));
    assert.ok(serials.every((x) => s > x) && s > counter, `new serial ${s}: higher than every logged serial and the counter ${counter}`);
    checkConsistent(a, dbOf(url), pg);
  });
});
