// A key id revocation names one CA, shows in that CA's KRL section only, and stops tctl from
// signing what would be born revoked.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');

function okRun(r: RunResult, what: string): RunResult {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r;
}

/** `ssh-keygen -Q -l`: the key ids and serials each CA key's section of a KRL lists. */
function krlSections(cwd: string, krl: string): Map<string, { ids: string[]; serials: string[] }> {
  const r = openssh('ssh-keygen', ['-Q', '-l', '-f', krl], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const sections = new Map<string, { ids: string[]; serials: string[] }>();
  let current: { ids: string[]; serials: string[] } | undefined;
  for (const line of r.stdout.split('\n')) {
    const ca = /^# CA key \S+ (SHA256:\S+)$/.exec(line);
    if (ca) sections.set(ca[1]!, (current = { ids: [], serials: [] }));
    const id = /^id: (.*)$/.exec(line);
    if (id) current!.ids.push(id[1]!);
    const serial = /^serial: (.*)$/.exec(line);
    if (serial) current!.serials.push(serial[1]!);
  }
  return sections;
}

function queryKrl(cwd: string, krl: string, cert: string): 'ok' | 'REVOKED' {
  const r = openssh('ssh-keygen', ['-Q', '-f', krl, cert], { cwd });
  const m = /: (ok|REVOKED)$/m.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  return m[1] as 'ok' | 'REVOKED';
}

function caFingerprints(run: (a: string[]) => RunResult): { user: string; host: string } {
  const status = JSON.parse(okRun(run(['status', '--json']), 'status').stdout) as { authorities: Record<'user' | 'host', { fingerprint: string }> };
  return { user: status.authorities.user.fingerprint, host: status.authorities.host.fingerprint };
}

test('revoke --key-id names one CA: KRL section, ls and later signing follow it', () => {
  const { run, cwd, dataDir } = initialisedCa();
  okRun(run(['auth', 'sign', '--user=carol']), 'sign user carol');
  okRun(run(['auth', 'sign', '--host=carol', '--out=carol-host']), 'sign host carol');
  okRun(run(['auth', 'sign', '--user=dave']), 'sign dave');

  // Issued under both CAs: which one is meant must be said.
  const ambiguous = run(['auth', 'revoke', '--key-id=carol']);
  assert.equal(ambiguous.status, 2, ambiguous.stderr);
  assert.match(ambiguous.stderr, /^tctl: error: key id "carol" was issued by both the user and the host CA; say which with --type=user or --type=host\n$/);
  assert.ok(!fs.existsSync(path.join(dataDir, 'revoked.jsonl')));

  const revoked = run(['auth', 'revoke', '--key-id=carol', '--type=user', '--reason=left the company']);
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.equal(revoked.stdout, 'Revoked key id "carol" for the user CA.\n');
  assert.match(run(['auth', 'revoke', '--key-id=carol', '--type=user']).stdout, /^Already revoked: key id "carol" for the user CA\./);
  // Found under one CA only: that CA, no --type needed.
  assert.equal(okRun(run(['auth', 'revoke', '--key-id=dave']), 'revoke dave').stdout, 'Revoked key id "dave" for the user CA.\n');

  okRun(run(['auth', 'export', '--type=krl', '-o', 'r.krl']), 'export krl');
  const sections = krlSections(cwd, 'r.krl');
  const fps = caFingerprints(run);
  assert.deepEqual(sections.get(fps.user)?.ids, ['carol', 'dave']);
  assert.equal(sections.get(fps.host), undefined, 'the host CA section has no key ids');
  assert.equal(queryKrl(cwd, 'r.krl', 'carol-cert.pub'), 'REVOKED');
  assert.equal(queryKrl(cwd, 'r.krl', 'carol-host-cert.pub'), 'ok');
  const ls = JSON.parse(run(['auth', 'ls', '--json']).stdout) as Array<{ keyId: string; type: string; status: string }>;
  assert.deepEqual(ls.map((r) => `${r.type}:${r.keyId}:${r.status}`), ['user:carol:revoked', 'host:carol:valid', 'user:dave:revoked']);

  // Signing what is already revoked is refused, with when, why and the way out; nothing is written.
  const again = run(['auth', 'sign', '--user=carol', '--out=again']);
  assert.equal(again.status, 1, again.stderr);
  assert.match(
    again.stderr,
    /^tctl: error: key id "carol" is revoked for the user CA \(revoked \d{4}-\d\d-\d\dT[\d:.]+Z, reason "left the company"\); a certificate for it would be revoked already\ntctl: hint: sign under another key id with the same logins, e\.g\. --user=carol-2 --principals=carol\n$/,
  );
  noStack(again.stderr);
  assert.ok(!fs.existsSync(path.join(cwd, 'again')) && !fs.existsSync(path.join(cwd, 'again-cert.pub')));
  // The host CA's carol is not revoked, and the hint's way out works.
  okRun(run(['auth', 'sign', '--host=carol', '--out=carol-host2']), 'host carol again');
  okRun(run(['auth', 'sign', '--user=carol-2', '--principals=carol']), 'the way out');
  assert.match(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'carol-2-cert.pub')]).stdout, /Principals: \n\s+carol\n/);
});

test('revoke --key-id: unknown ids need --type; --type is checked and applies to --key-id only', () => {
  const { run, cwd } = initialisedCa();
  okRun(run(['auth', 'sign', '--user=joe']), 'sign joe');
  const unknown = run(['auth', 'revoke', '--key-id=nobody']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^tctl: error: no certificate with key id "nobody" is in this CA's issuance log\ntctl: hint: .*give --type=user or --type=host/);
  // With --type it is revoked ahead of time, and said so.
  const ahead = run(['auth', 'revoke', '--key-id=nobody', '--type=user']);
  assert.equal(ahead.status, 0, ahead.stderr);
  assert.match(ahead.stderr, /No user certificate with key id "nobody" has been issued; tctl will refuse to sign one\./);
  assert.equal(run(['auth', 'sign', '--user=nobody']).status, 1);
  assert.ok(!fs.existsSync(path.join(cwd, 'nobody-cert.pub')));
  okRun(run(['auth', 'sign', '--host=nobody']), 'a host named nobody is another key id');

  for (const [args, re] of [
    [['--key-id=joe', '--type=users'], /invalid --type "users"; allowed values: "user", "host"/],
    [['--key-id=joe', '--type='], /--type is empty/],
    [['--serial=1', '--type=user'], /--type applies to --key-id only/],
    [['--cert=joe-cert.pub', '--type=host'], /--type applies to --key-id only/],
  ] as Array<[string[], RegExp]>) {
    const r = run(['auth', 'revoke', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    noStack(r.stderr);
  }
  assert.match(run(['auth', 'revoke', '--help']).stdout, /--type <type>\s+with --key-id: user or host/);
});

test('old key id revocations (no CA named) still cover both CAs, in the KRL and when signing', () => {
  const { run, cwd, dataDir } = initialisedCa();
  okRun(run(['auth', 'sign', '--user=erin']), 'sign erin');
  // What revoke wrote before revocations named a CA.
  fs.writeFileSync(path.join(dataDir, 'revoked.jsonl'), JSON.stringify({ kind: 'key-id', keyId: 'erin', revokedAt: '2025-01-01T00:00:00.000Z' }) + '\n', { mode: 0o600 });
  okRun(run(['auth', 'export', '--type=krl', '-o', 'r.krl']), 'export');
  const fps = caFingerprints(run);
  const sections = krlSections(cwd, 'r.krl');
  assert.deepEqual(sections.get(fps.user)?.ids, ['erin']);
  assert.deepEqual(sections.get(fps.host)?.ids, ['erin']);
  for (const args of [['--user=erin', '--out=e2'], ['--host=erin', '--out=e3']]) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /key id "erin" is revoked for both CAs \(revoked 2025-01-01T00:00:00\.000Z\)/);
  }
  // A narrower revocation of what the old record covers adds nothing; the KRL does not shrink.
  assert.match(run(['auth', 'revoke', '--key-id=erin', '--type=user']).stdout, /^Already revoked/);
  assert.equal(fs.readFileSync(path.join(dataDir, 'revoked.jsonl'), 'utf8').trim().split('\n').length, 1);
});

test('revoked public keys and key ids are refused in single and batch signing; serial revocations are unaffected', () => {
  const { run, cwd } = initialisedCa();
  const key = (name: string) => {
    assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(cwd, name)]).status, 0);
    return fs.readFileSync(path.join(cwd, `${name}.pub`), 'utf8').trim();
  };
  const lost = key('lost');
  const good = key('good');
  okRun(run(['auth', 'sign', '--user=frank', '--public-key=lost.pub', '--out=frank']), 'sign lost key');
  okRun(run(['auth', 'sign', '--user=gina', '--public-key=good.pub', '--out=gina']), 'sign gina');
  okRun(run(['auth', 'revoke', '--public-key=lost.pub', '--reason=laptop stolen']), 'revoke key');
  okRun(run(['auth', 'revoke', '--key-id=mallory', '--type=user']), 'revoke mallory ahead');
  okRun(run(['auth', 'revoke', '--cert=gina-cert.pub']), 'revoke by serial');

  const single = run(['auth', 'sign', '--user=henry', '--public-key=lost.pub', '--out=henry']);
  assert.equal(single.status, 1);
  assert.match(single.stderr, /^tctl: error: public key SHA256:\S+ is revoked \(revoked [^,]+, reason "laptop stolen"\); a certificate for it would be revoked already\ntctl: hint: generate a new key pair/);
  assert.ok(!fs.existsSync(path.join(cwd, 'henry-cert.pub')));
  // The serial revocation stopped gina's old certificate only: her key signs again.
  okRun(run(['auth', 'sign', '--user=gina', '--public-key=good.pub', '--out=gina2']), 'gina again');

  const lines = [
    { user: 'ivan', public_key: good, out: 'ivan' },
    { user: 'mallory', public_key: good, out: 'mallory' },
    { user: 'judy', public_key: lost, out: 'judy' },
    { host: 'web1.example.com', public_key: good, out: 'web1' },
  ].map((l) => JSON.stringify(l));
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), lines.join('\n') + '\n');
  const batch = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs']);
  assert.equal(batch.status, 1, batch.stderr);
  assert.match(batch.stderr, /req\.jsonl:2: key id "mallory" is revoked for the user CA/);
  assert.match(batch.stderr, /req\.jsonl:3: public key SHA256:\S+ is revoked/);
  assert.match(batch.stderr, /2 bad lines in the batch; nothing was signed/);
  assert.deepEqual(fs.existsSync(path.join(cwd, 'certs')) ? fs.readdirSync(path.join(cwd, 'certs')) : [], []);
  const kept = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs2', '--keep-going']);
  assert.equal(kept.status, 1, kept.stderr);
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'certs2')).sort(), ['ivan-cert.pub', 'web1-cert.pub']);

  okRun(run(['auth', 'export', '--type=krl', '-o', 'r.krl']), 'export');
  const serials = [...krlSections(cwd, 'r.krl').values()].flatMap((s) => s.serials);
  assert.equal(serials.length, 1, 'the one serial revocation is in the KRL');
  assert.equal(queryKrl(cwd, 'r.krl', 'gina-cert.pub'), 'REVOKED');
  assert.equal(queryKrl(cwd, 'r.krl', 'gina2-cert.pub'), 'ok');
  assert.equal(queryKrl(cwd, 'r.krl', 'frank-cert.pub'), 'REVOKED');
});

test('a serial counter rolled back behind a revoked serial: signing is refused, not born revoked', () => {
  const { run, cwd, dataDir } = initialisedCa();
  okRun(run(['auth', 'sign', '--user=a']), 'sign a');
  okRun(run(['auth', 'sign', '--user=b']), 'sign b');
  okRun(run(['auth', 'revoke', '--serial=2']), 'revoke serial 2');
  // A data dir restored from a backup taken after serial 1 was issued.
  fs.writeFileSync(path.join(dataDir, 'serial'), '1\n');
  const r = run(['auth', 'sign', '--user=c']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^tctl: error: serial 2 of CA SHA256:\S+ is already revoked \(revoked [^)]+\): the serial counter is behind the revocation list\ntctl: hint: /);
  assert.ok(!fs.existsSync(path.join(cwd, 'c-cert.pub')));
  // The refused serial is spent; the next one is fresh.
  okRun(run(['auth', 'sign', '--user=c']), 'sign c');
  assert.match(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'c-cert.pub')]).stdout, /Serial: 3\n/);
});
