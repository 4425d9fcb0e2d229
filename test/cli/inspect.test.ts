import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh, tctl, tempDir } from '../helpers/run.js';

// Until main.ts registers the command, `tctl auth inspect --help` prints the help of `auth` (exit 0).
const probe = tctl(['auth', 'inspect', '--help'], { cwd: tempDir() });
const skip = probe.status === 0 && /Usage: tctl auth inspect/.test(probe.stdout) ? false : '"tctl auth inspect" is not wired into main.ts yet';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tctl: error:'));

/** A temp dir with an ssh-keygen CA and subject key, and a runner with no initialised data dir. */
function workspace() {
  const cwd = tempDir();
  const keygen = (args: string[]) => {
    const r = openssh('ssh-keygen', args, { cwd });
    assert.equal(r.status, 0, r.stderr);
  };
  keygen(['-q', '-t', 'ed25519', '-N', '', '-f', 'ca']);
  keygen(['-q', '-t', 'ed25519', '-N', '', '-f', 'subject']);
  const cert = (name: string, args: string[]) => {
    fs.copyFileSync(path.join(cwd, 'subject.pub'), path.join(cwd, `${name}.pub`));
    keygen(['-q', '-s', 'ca', '-I', name, ...args, `${name}.pub`]);
    return `${name}-cert.pub`;
  };
  const run = (args: string[]) => tctl(['auth', 'inspect', ...args], { cwd, env: { TCTL_DATA_DIR: path.join(cwd, 'no-ca') } });
  return { cwd, cert, run };
}

test('error findings exit 1, warnings alone exit 0; the summary reads like ssh-keygen -L', { skip }, () => {
  const { cert, run } = workspace();
  const clean = cert('clean', ['-n', 'joe', '-V', '+1h']);
  const forever = cert('forever', ['-n', 'joe']);
  const expired = cert('expired', ['-n', 'joe', '-V', '20200101:20200102']);

  const ok = run([clean]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^clean-cert\.pub:\n\s+Type: ssh-ed25519-cert-v01@openssh\.com user certificate\n/);
  assert.match(ok.stdout, /Public key: ssh-ed25519 SHA256:/);
  assert.match(ok.stdout, /Signing CA: ssh-ed25519 SHA256:\S+ \(using ssh-ed25519\)/);
  assert.match(ok.stdout, /Key ID: "clean"\n\s+Serial: 0\n\s+Valid: from \S+Z to \S+Z\n\s+Principals:\n\s+joe\n\s+Critical Options: \(none\)\n\s+Extensions:\n\s+permit-X11-forwarding/);
  assert.doesNotMatch(ok.stdout, /^(error|warning):/m);
  assert.match(ok.stderr, /^tctl: note: data dir .* is not initialised; not checking which CA signed/);

  const warned = run([forever]);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stdout, /Valid: forever/);
  assert.match(warned.stdout, /^warning: infinite-user-cert: /m);

  const failed = run([clean, forever, expired]);
  assert.equal(failed.status, 1);
  assert.match(failed.stdout, /^error: expired: expired at 2020-01-02T00:00:00Z$/m);
  assert.deepEqual(errorLines(failed.stderr), ['tctl: error: 1 of 3 certificates has errors']);
  assert.equal(failed.stderr.split('\n').filter((l) => l.startsWith('tctl: note:')).length, 1, 'the note is said once');
  noStack(failed.stderr);
});

test('--json is one parseable document with every field and finding', { skip }, () => {
  const { cert, run, cwd } = workspace();
  const host = cert('host', ['-h', '-n', '*.example.com', '-O', 'extension:permit-pty', '-z', '18446744073709551615']);
  fs.writeFileSync(path.join(cwd, 'garbage-cert.pub'), 'hello\n');
  const r = run(['--json', host, 'garbage-cert.pub']);
  assert.equal(r.status, 1);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.length, 2);
  const [h, g] = doc;
  assert.equal(h.file, host);
  assert.equal(h.certificate.type, 'host');
  assert.equal(h.certificate.serial, '18446744073709551615', 'serials are strings: they do not fit a JSON number');
  assert.equal(h.certificate.validBefore, 'forever');
  assert.deepEqual(h.certificate.principals, ['*.example.com']);
  assert.deepEqual(h.certificate.extensions, [{ name: 'permit-pty', value: '' }]);
  assert.match(h.certificate.signingCa.fingerprint, /^SHA256:/);
  assert.deepEqual(
    h.findings.map((f: { level: string; code: string }) => `${f.level}:${f.code}`),
    ['error:wildcard-principal', 'warning:user-extension-on-host-cert'],
  );
  assert.equal(g.certificate, null);
  assert.deepEqual(g.findings.map((f: { code: string }) => f.code), ['unreadable']);
  assert.deepEqual(errorLines(r.stderr), ['tctl: error: 2 of 2 certificates have errors']);
});

test('files that are not certificates: one error line each, exit 1, no stack trace', { skip }, () => {
  const { cert, run, cwd } = workspace();
  const good = cert('good', ['-n', 'joe', '-V', '+1h']);
  const line = fs.readFileSync(path.join(cwd, good), 'utf8');
  const [type, b64] = line.split(' ') as [string, string];
  fs.writeFileSync(path.join(cwd, 'truncated-cert.pub'), `${type} ${b64.slice(0, -40)}\n`);
  fs.writeFileSync(path.join(cwd, 'corrupt-cert.pub'), `${type} ${b64.slice(0, 100)}%%%${b64.slice(100)}\n`);
  const cases: Array<[string, RegExp]> = [
    ['missing-cert.pub', /^tctl: error: missing-cert\.pub: cannot read: no such file or directory$/],
    ['subject', /^tctl: error: subject: found a private key, not a certificate$/],
    ['subject.pub', /^tctl: error: subject\.pub: found a ssh-ed25519 public key, not a certificate$/],
    ['truncated-cert.pub', /^tctl: error: truncated-cert\.pub: malformed certificate: truncated data$/],
    ['corrupt-cert.pub', /^tctl: error: corrupt-cert\.pub: not an OpenSSH certificate$/],
    ['.', /^tctl: error: \.: is a directory$/],
  ];
  for (const [file, re] of cases) {
    const r = run([file]);
    assert.equal(r.status, 1, file);
    assert.equal(r.stdout, '', file);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, `${file}: ${r.stderr}`);
    assert.match(errors[0]!, re, file);
    noStack(r.stderr);
  }
  // With several files, each bad one is named and the good ones still print.
  const many = run([good, 'subject', 'missing-cert.pub']);
  assert.equal(many.status, 1);
  assert.match(many.stdout, /^good-cert\.pub:$/m);
  assert.deepEqual(errorLines(many.stderr), [
    'tctl: error: subject: found a private key, not a certificate',
    'tctl: error: missing-cert.pub: cannot read: no such file or directory',
    'tctl: error: 2 of 3 certificates have errors',
  ]);
  noStack(many.stderr);

  const none = tctl(['auth', 'inspect'], { cwd });
  assert.equal(none.status, 2, 'a file is required');
});

test('certificate fields cannot inject control characters into the output', { skip }, () => {
  const { cwd, run } = workspace();
  // ssh-keygen takes a key id with an escape sequence and a newline as is.
  const s = openssh('ssh-keygen', ['-q', '-s', 'ca', '-I', 'a\u001b[31mred\nfake: line', '-n', 'joe', '-V', '+1h', 'subject.pub'], { cwd });
  assert.equal(s.status, 0, s.stderr);
  const out = run(['subject-cert.pub']);
  assert.equal(out.status, 0, out.stderr);
  assert.doesNotMatch(out.stdout, /\u001b/);
  assert.doesNotMatch(out.stdout, /^fake: line/m);
  assert.match(out.stdout, /Key ID: "a\\u001b\[31mred\\nfake: line"/);
});

test('with an initialised data dir: our certs are trusted, an ssh-keygen CA or a rotated-out key is not', { skip }, () => {
  const { run, cwd } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--user=joe', '--ttl=1h']).status, 0);
  assert.equal(run(['auth', 'sign', '--host=api.example.com']).status, 0);
  const ours = run(['auth', 'inspect', 'joe-cert.pub', 'api.example.com-cert.pub']);
  assert.equal(ours.status, 0, ours.stdout + ours.stderr);
  assert.doesNotMatch(ours.stdout, /untrusted-ca/);
  assert.doesNotMatch(ours.stderr, /note:/, 'the trust check ran');

  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', 'other_ca'], { cwd }).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', 'k'], { cwd }).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-s', 'other_ca', '-I', 'k', '-n', 'joe', '-V', '+1h', 'k.pub'], { cwd }).status, 0);
  const foreign = run(['auth', 'inspect', 'k-cert.pub']);
  assert.equal(foreign.status, 1);
  assert.match(foreign.stdout, /^error: untrusted-ca: signed by SHA256:\S+, which is not a CA key of this cluster$/m);

  const rotated = run(['auth', 'rotate', '--type=user', '--grace-period=0']);
  assert.equal(rotated.status, 0, rotated.stderr);
  const old = run(['auth', 'inspect', '--json', 'joe-cert.pub', 'api.example.com-cert.pub']);
  assert.equal(old.status, 1);
  const [joe, api] = JSON.parse(old.stdout);
  assert.deepEqual(joe.findings.map((f: { code: string }) => f.code), ['untrusted-ca']);
  assert.match(joe.findings[0].message, /user CA key of this cluster that is not trusted now/);
  assert.deepEqual(api.findings, [], 'the host CA did not rotate');
});
