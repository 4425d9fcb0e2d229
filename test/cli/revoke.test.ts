import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');

function query(cwd: string, krl: string, certs: string[]): Record<string, string> {
  const r = openssh('ssh-keygen', ['-Q', '-f', krl, ...certs], { cwd });
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const m = /^(\S+) \([^)]*\): (ok|REVOKED)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  assert.equal(Object.keys(out).length, certs.length, r.stdout + r.stderr);
  return out;
}

test('revoke by serial, cert, key id and public key; ssh-keygen -Q agrees with auth ls', () => {
  const { run, cwd } = initialisedCa();
  for (const u of ['a', 'b', 'c', 'd', 'e']) assert.equal(run(['auth', 'sign', `--user=${u}`]).status, 0);
  assert.equal(run(['auth', 'sign', '--host=h.example.com']).status, 0);
  const certs = ['a-cert.pub', 'b-cert.pub', 'c-cert.pub', 'd-cert.pub', 'e-cert.pub', 'h.example.com-cert.pub'];

  // An empty list is still a valid KRL (a missing RevokedKeys file locks everyone out).
  assert.equal(run(['auth', 'export', '--type=krl', '-o', 'empty.krl']).status, 0);
  assert.ok(Object.values(query(cwd, 'empty.krl', certs)).every((v) => v === 'ok'));

  const bySerial = run(['auth', 'revoke', '--serial=2', '--reason=laptop lost']);
  assert.equal(bySerial.status, 0, bySerial.stderr);
  assert.match(bySerial.stdout, /^Revoked certificate serial 2 /);
  assert.match(run(['auth', 'revoke', '--serial=2']).stdout, /^Already revoked/);
  assert.equal(run(['auth', 'revoke', '--cert=c-cert.pub']).status, 0);
  assert.equal(run(['auth', 'revoke', '--key-id=d']).status, 0);
  fs.writeFileSync(path.join(cwd, 'e.pub'), openssh('ssh-keygen', ['-y', '-f', path.join(cwd, 'e')]).stdout);
  assert.equal(run(['auth', 'revoke', '--public-key=e.pub']).status, 0);

  const krl = run(['auth', 'export', '--type=krl', '-o', 'revoked.krl']);
  assert.equal(krl.status, 0, krl.stderr);
  assert.deepEqual(query(cwd, 'revoked.krl', certs), {
    'a-cert.pub': 'ok',
    'b-cert.pub': 'REVOKED',
    'c-cert.pub': 'REVOKED',
    'd-cert.pub': 'REVOKED',
    'e-cert.pub': 'REVOKED',
    'h.example.com-cert.pub': 'ok',
  });
  // Binary to a pipe is fine and identical in content apart from the generation time.
  const piped = run(['auth', 'export', '--type=krl']);
  assert.equal(piped.status, 0);

  const ls = JSON.parse(run(['auth', 'ls', '--json']).stdout) as Array<{ keyId: string; status: string }>;
  assert.deepEqual(Object.fromEntries(ls.map((r) => [r.keyId, r.status])), { a: 'valid', b: 'revoked', c: 'revoked', d: 'revoked', e: 'revoked', 'h.example.com': 'valid' });
  const revoked = run(['auth', 'ls', '--revoked']);
  assert.match(revoked.stdout, /^SERIAL\s+TYPE\s+KEY ID\s+PRINCIPALS\s+VALID UNTIL\s+STATUS\n/);
  assert.equal(revoked.stdout.trim().split('\n').length, 5);
  assert.equal(JSON.parse(run(['auth', 'ls', '--type=host', '--json']).stdout).length, 1);
  assert.equal(JSON.parse(run(['auth', 'ls', '--principal=a', '--valid', '--json']).stdout).length, 1);
  assert.equal(JSON.parse(run(['auth', 'ls', '--expired', '--json']).stdout).length, 0);
});

test('revocations survive a CA rotation', () => {
  const { run, cwd } = initialisedCa();
  run(['auth', 'sign', '--user=old']);
  run(['auth', 'revoke', '--cert=old-cert.pub']);
  for (const phase of ['init', 'update_clients', 'update_servers', 'standby']) {
    assert.equal(run(['auth', 'rotate', '--type=user', '--manual', `--phase=${phase}`]).status, 0);
  }
  run(['auth', 'sign', '--user=new']);
  run(['auth', 'export', '--type=krl', '-o', 'r.krl']);
  assert.deepEqual(query(cwd, 'r.krl', ['old-cert.pub', 'new-cert.pub']), { 'old-cert.pub': 'REVOKED', 'new-cert.pub': 'ok' });
});

test('revoke refuses what it cannot revoke safely', () => {
  const { run, cwd, dataDir } = initialisedCa();
  run(['auth', 'sign', '--user=joe']);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'otherca')]).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-s', path.join(cwd, 'otherca'), '-I', 'x', '-z', '1', '-n', 'joe', path.join(cwd, 'k.pub')]).status, 0);
  fs.writeFileSync(path.join(cwd, 'garbage-cert.pub'), 'ssh-ed25519-cert-v01@openssh.com AAAAB3Nz garbage\n');
  const cases: Array<[string[], number, RegExp]> = [
    [['--cert=k-cert.pub'], 1, /was not signed by any CA key of this cluster/],
    [['--cert=garbage-cert.pub'], 1, /invalid --cert garbage-cert\.pub: /],
    [['--cert=joe'], 1, /found a private key/],
    [['--cert=k.pub'], 1, /found a ssh-ed25519 public key, not a certificate/],
    [['--cert=nope'], 1, /cannot read --cert nope: no such file/],
    [['--serial=99'], 1, /serial 99 is not in this CA's issuance log/],
    [['--key-id=nobody'], 1, /no certificate with key id "nobody"/],
    [['--serial=0'], 2, /between 1 and 2\^64-1/],
    [['--serial=-1'], 2, /invalid --serial/],
    [['--serial=abc'], 2, /invalid --serial/],
    [[], 2, /one of --serial, --key-id, --cert or --public-key must be specified/],
    [['--serial=1', '--key-id=joe'], 2, /give only one of/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(['auth', 'revoke', ...args]);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    noStack(r.stderr);
  }
  assert.ok(!fs.existsSync(path.join(dataDir, 'revoked.jsonl')), 'nothing recorded');
  const mixed = run(['auth', 'export', '--type=krl', '--fingerprint=SHA256:x']);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /do not apply to --type=krl/);
});

test('audit log: every state change is chained; a tampered line is named', () => {
  const { run, dataDir } = initialisedCa();
  run(['auth', 'sign', '--user=joe']);
  run(['auth', 'rotate', '--type=host', '--manual', '--phase=init']);
  run(['auth', 'rotate', '--type=host', '--manual', '--phase=standby']); // refused: recorded as an error
  run(['auth', 'revoke', '--key-id=joe']);
  const ok = run(['audit', 'verify']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /5 entries, hash chain intact/);
  const file = path.join(dataDir, 'audit.jsonl');
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.command, l.result]), [
    ['auth init', 'ok'],
    ['auth sign', 'ok'],
    ['auth rotate', 'ok'],
    ['auth rotate', 'error'],
    ['auth revoke', 'ok'],
  ]);
  assert.ok(lines.every((l) => typeof l.who.user === 'string' && typeof l.who.host === 'string' && l.time));

  const original = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, original.replace('"keyId":"joe"', '"keyId":"eve"'));
  const edited = run(['audit', 'verify']);
  assert.equal(edited.status, 1);
  assert.match(edited.stderr, /^tctl: error: audit\.jsonl line 2 breaks the chain: its content does not match its hash/);
  const dropped = original.split('\n');
  dropped.splice(2, 1);
  fs.writeFileSync(file, dropped.join('\n'));
  assert.match(run(['audit', 'verify']).stderr, /line 3 breaks the chain/);
});
