// --json on auth sign (single and batch), auth revoke, audit verify and auth rotate: stdout is
// exactly one JSON document, whatever the command also says on stderr.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';

/** The whole of stdout parsed as one JSON value (JSON.parse refuses anything around it). */
function doc(r: RunResult, status = 0): any {
  assert.equal(r.status, status, r.stderr);
  return JSON.parse(r.stdout);
}
const serialIn = (file: string) => /Serial: (\d+)/.exec(openssh('ssh-keygen', ['-L', '-f', file]).stdout)?.[1];

test('auth sign --json: serial, validity, permits and every file written', () => {
  const { run, cwd } = initialisedCa();
  const u = doc(run(['auth', 'sign', '--user=joe', '--principals=joe,ubuntu', '--ttl=8h', '--json', '--force-command=uptime']));
  assert.equal(u.serial, serialIn(path.join(cwd, 'joe-cert.pub')));
  assert.deepEqual(u.files, ['joe', 'joe.pub', 'joe-cert.pub']);
  assert.equal(u.type, 'user');
  assert.equal(u.keyId, 'joe');
  assert.deepEqual(u.principals, ['joe', 'ubuntu']);
  assert.deepEqual(u.permits, ['pty']);
  assert.equal((Date.parse(u.validBefore) - Date.parse(u.validAfter)) / 1000, 8 * 3600 + 60);
  assert.match(u.caFingerprint, /^SHA256:/);
  const h = doc(run(['auth', 'sign', '--host=web.example.com', '--public-key=joe.pub', '--out=web', '--json']));
  assert.deepEqual(h.files, ['web-cert.pub']);
  assert.equal(h.validBefore, 'forever');
  assert.equal(h.permits, undefined);
  const t = doc(run(['auth', 'sign', '--format=db', '--host=db.example.com', '--out=server', '--json']));
  assert.deepEqual(t.files, ['server.key', 'server.crt', 'server.cas']);
  assert.equal(t.format, 'x509');
});

test('auth sign --batch --json: one document with a line per certificate, the skipped lines, totals', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  const key = fs.readFileSync(path.join(cwd, 'k.pub'), 'utf8').trim();
  const lines = [{ user: 'a', public_key: key }, { host: '*.bad', public_key: key }, { host: 'b.example.com', public_key: key, ttl: '1h' }];
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs', '--keep-going', '--json']);
  const d = doc(r, 1);
  assert.match(r.stderr, /req\.jsonl:2: /);
  assert.match(r.stderr, /Signed 2 certificates into certs/);
  assert.equal(d.outDir, 'certs');
  assert.equal(d.count, 2);
  assert.deepEqual(d.skippedLines, [2]);
  assert.deepEqual(d.certificates.map((c: any) => [c.line, c.keyId, c.file]), [[1, 'a', path.join('certs', 'a-cert.pub')], [3, 'b.example.com', path.join('certs', 'b.example.com-cert.pub')]]);
  for (const c of d.certificates) assert.equal(c.serial, serialIn(path.join(cwd, c.file)));
  assert.equal(d.firstSerial, d.certificates[0].serial);
  assert.equal(d.lastSerial, d.certificates[1].serial);
  assert.equal((Date.parse(d.certificates[1].validBefore) - Date.parse(d.certificates[1].validAfter)) / 1000, 3600 + 60);

  // Large enough to cross a chunk (1000 certificates): still one well-formed document.
  fs.writeFileSync(path.join(cwd, 'many.jsonl'), Array.from({ length: 1200 }, (_, i) => JSON.stringify({ user: `u${i}`, public_key: key })).join('\n') + '\n');
  const many = doc(run(['auth', 'sign', '--batch=many.jsonl', '--out-dir=many', '--json']));
  assert.equal(many.certificates.length, 1200);
  assert.equal(new Set(many.certificates.map((c: any) => c.serial)).size, 1200);
});

test('auth revoke --json; a host certificate is deployed to clients (RevokedHostKeys), a user one to servers', () => {
  const { run } = initialisedCa();
  const u = doc(run(['auth', 'sign', '--user=joe', '--json']));
  const h = doc(run(['auth', 'sign', '--host=web.example.com', '--json']));
  const ru = run(['auth', 'revoke', `--serial=${u.serial}`, '--reason=lost', '--json']);
  const du = doc(ru);
  assert.equal(du.added, true);
  assert.equal(du.revocation.kind, 'serial');
  assert.equal(du.revocation.serial, u.serial);
  assert.equal(du.revocation.reason, 'lost');
  assert.deepEqual(du.deploy.map((d: any) => d.to), ['every server']);
  assert.match(ru.stderr, /^Deploy the new list to every server: tctl auth export --type=krl .*RevokedKeys/m);
  assert.doesNotMatch(ru.stderr, /RevokedHostKeys/);

  const rh = run(['auth', 'revoke', '--cert=web.example.com-cert.pub']);
  assert.equal(rh.status, 0, rh.stderr);
  assert.match(rh.stdout, /^Revoked certificate serial \d+/);
  assert.match(rh.stderr, /^Deploy the new list to every client: tctl auth export --type=krl .*RevokedHostKeys.*@revoked.*sshd's RevokedKeys does not check host certificates/m);
  assert.doesNotMatch(rh.stderr, /every server/);
  const byId = doc(run(['auth', 'revoke', '--key-id=web.example.com', '--type=host', '--json']));
  assert.deepEqual(byId.deploy.map((d: any) => d.to), ['every client']);
  const again = doc(run(['auth', 'revoke', `--serial=${h.serial}`, '--json']));
  assert.equal(again.added, false);
  // A public key may be either kind: both sides get the list.
  const key = doc(run(['auth', 'revoke', '--public-key=joe.pub', '--json']));
  assert.deepEqual(key.deploy.map((d: any) => d.to), ['every server', 'every client']);
});

test('audit verify --json: intact, then broken with the line and reason (exit 1)', () => {
  const { run, dataDir } = initialisedCa();
  run(['auth', 'sign', '--user=joe']);
  const ok = doc(run(['audit', 'verify', '--json']));
  assert.deepEqual(Object.keys(ok), ['file', 'intact', 'entries']);
  assert.equal(ok.intact, true);
  assert.ok(ok.entries >= 2);
  const file = path.join(dataDir, 'audit.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('"ok"', '"OK"');
  fs.writeFileSync(file, lines.join('\n'));
  const r = run(['audit', 'verify', '--json']);
  const bad = doc(r, 1);
  assert.equal(bad.intact, false);
  assert.equal(bad.brokenLine, 2);
  assert.equal(bad.intactEntries, 1);
  assert.equal(typeof bad.reason, 'string');
  assert.match(r.stderr, /^tctl: error: audit\.jsonl line 2 breaks the chain/);
});

test('auth rotate --json: phase, keys and schedule; --json needs --type', () => {
  const { run } = initialisedCa();
  const r = run(['auth', 'rotate', '--type=user', '--grace-period=30h', '--json']);
  const d = doc(r);
  assert.match(r.stderr, /Initiated certificate authority rotation/);
  assert.match(r.stderr, /Next steps for the user CA/);
  assert.equal(d.type, 'user');
  assert.equal(d.from, 'standby');
  assert.equal(d.phase, 'init');
  assert.equal(d.mode, 'auto');
  assert.equal(d.trusted.length, 2);
  assert.ok(d.trusted.includes(d.signer));
  assert.deepEqual(d.schedule.map((s: any) => s.phase), ['init', 'update_clients', 'update_servers', 'standby']);
  const m = doc(run(['auth', 'rotate', '--type=host', '--manual', '--phase=init', '--json']));
  assert.equal(m.mode, 'manual');
  assert.deepEqual(m.schedule, []);
  const noType = run(['auth', 'rotate', '--json']);
  assert.equal(noType.status, 2);
  assert.match(noType.stderr, /^tctl: error: --json needs --type/);
  assert.equal(noType.stdout, '');
});
