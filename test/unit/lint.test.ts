// Lints over certificates made by the real ssh-keygen with deliberately bad options, plus the
// ones ssh-keygen cannot make (unsorted or repeated options), crafted on the wire by hand.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { inspectCertificateText, lintCertificate } from '../../src/ca/lint.js';
import type { Finding, LintContext } from '../../src/ca/lint.js';
import { BACKDATE_SECONDS } from '../../src/ca/request.js';
import { FOREVER, certificateKeyType, parseCertificate, signCertificate } from '../../src/ssh/certificate.js';
import type { Certificate, CertificateBody, CertOption } from '../../src/ssh/certificate.js';
import { fingerprint, generatePrivateKey, publicKeyLine, sshPublicKey, sshSign } from '../../src/ssh/keys.js';
import { SshReader, SshWriter } from '../../src/ssh/wire.js';
import { openssh, tempDir } from '../helpers/run.js';

const dir = tempDir('tctl-lint-');
const keygen = (args: string[]) => {
  const r = openssh('ssh-keygen', args);
  assert.equal(r.status, 0, `ssh-keygen ${args.join(' ')}: ${r.stderr}`);
  return r;
};
keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'ca', '-f', path.join(dir, 'ca')]);
keygen(['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'rsa_ca', '-f', path.join(dir, 'rsa_ca')]);
keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'subject', '-f', path.join(dir, 'subject')]);
const caFingerprint = keygen(['-l', '-f', path.join(dir, 'ca.pub')]).stdout.split(' ')[1]!;

let counter = 0;
/** Signs a fresh copy of the subject key with ssh-keygen; returns the *-cert.pub text. */
function sshKeygenCert(args: string[]): string {
  const name = path.join(dir, `c${counter++}`);
  fs.copyFileSync(path.join(dir, 'subject.pub'), `${name}.pub`);
  keygen(['-q', ...args, `${name}.pub`]);
  return fs.readFileSync(`${name}-cert.pub`, 'utf8');
}

const ctx = (extra: Partial<LintContext> = {}): LintContext => ({ now: new Date(), ...extra });
function lintText(text: string, extra: Partial<LintContext> = {}): Finding[] {
  const r = inspectCertificateText(text, ctx(extra));
  assert.notEqual(r.cert, null, `not decoded: ${r.findings[0]?.message}`);
  return r.findings;
}
const codes = (findings: Finding[], level?: Finding['level']) => findings.filter((f) => level === undefined || f.level === level).map((f) => f.code);
const only = (findings: Finding[], code: string) => {
  const f = findings.filter((x) => x.code === code);
  assert.equal(f.length, 1, `one ${code} finding in ${JSON.stringify(findings)}`);
  return f[0]!;
};
const ca = ['-s', path.join(dir, 'ca'), '-I', 'id'];

test('a clean ssh-keygen user certificate has no findings', () => {
  const findings = lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '+1h']));
  assert.deepEqual(findings, []);
});

test('a clean ssh-keygen host certificate has no findings (host certs may be valid forever)', () => {
  assert.deepEqual(lintText(sshKeygenCert([...ca, '-h', '-n', 'api.example.com'])), []);
});

test('empty principals: ssh-keygen -n "" refuses, omitting -n signs a cert with none, an error', () => {
  const r = openssh('ssh-keygen', [...ca, '-h', '-n', '', path.join(dir, 'subject.pub')]);
  assert.notEqual(r.status, 0, 'ssh-keygen 9.2 says "Empty principal name"');
  for (const type of [['-h'], []]) {
    const f = only(lintText(sshKeygenCert([...ca, ...type, '-V', '+1h'])), 'empty-principals');
    assert.equal(f.level, 'error');
    assert.match(f.message, type.length ? /any host name/ : /any user/);
  }
});

test('wildcard principals: an error on host certs, a warning on user certs', () => {
  const host = only(lintText(sshKeygenCert([...ca, '-h', '-n', 'api.example.com,*.example.com'])), 'wildcard-principal');
  assert.equal(host.level, 'error');
  assert.match(host.message, /"\*\.example\.com"/);
  const user = only(lintText(sshKeygenCert([...ca, '-n', 'joe,dev?', '-V', '+1h'])), 'wildcard-principal');
  assert.equal(user.level, 'warning');
  assert.match(user.message, /"dev\?"/);
});

test('user-only extensions on a host certificate are a warning', () => {
  const findings = lintText(sshKeygenCert([...ca, '-h', '-n', 'h.example.com', '-O', 'extension:permit-pty', '-O', 'extension:permit-agent-forwarding']));
  const f = only(findings, 'user-extension-on-host-cert');
  assert.equal(f.level, 'warning');
  assert.match(f.message, /"permit-agent-forwarding", "permit-pty"/);
  assert.deepEqual(codes(findings, 'error'), []);
});

test('critical options: unknown ones on user certs and any on host certs are errors', () => {
  const unknown = lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '+1h', '-O', 'critical:foo=bar', '-O', 'force-command=ls']));
  // ssh-keygen's default permits stay beside its force-command: a warning of its own.
  assert.deepEqual(codes(unknown), ['unknown-critical-option', 'force-command-permits-forwarding']);
  assert.match(unknown[0]!.message, /"foo"/);
  assert.doesNotMatch(unknown[0]!.message, /force-command/);
  const known = lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '+1h', '-O', 'verify-required', '-O', 'source-address=10.0.0.0/8']));
  assert.deepEqual(known, []);
  const host = lintText(sshKeygenCert([...ca, '-h', '-n', 'h.example.com', '-O', 'force-command=ls']));
  assert.deepEqual(codes(host), ['critical-option-on-host-cert']);
  assert.equal(host[0]!.level, 'error');
});

test('validity: expired is an error, not yet valid a warning, a user cert without -V a warning', () => {
  const expired = lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '20200101:20200102']));
  assert.deepEqual(codes(expired), ['expired']);
  assert.equal(expired[0]!.level, 'error');
  const future = lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '20300101:20300102']));
  assert.deepEqual(codes(future), ['not-yet-valid']);
  assert.equal(future[0]!.level, 'warning');
  // ssh-keygen -V +52w starts a minute in the past, so it is valid now.
  assert.deepEqual(lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '+52w'])), []);
  const forever = lintText(sshKeygenCert([...ca, '-n', 'joe']));
  assert.deepEqual(codes(forever), ['infinite-user-cert']);
  assert.equal(forever[0]!.level, 'warning');
});

test('an RSA CA signing with -t ssh-rsa makes a SHA-1 signature, an error; rsa-sha2-256/512 are fine', () => {
  const rsa = ['-s', path.join(dir, 'rsa_ca'), '-I', 'id', '-n', 'joe', '-V', '+1h'];
  const sha1 = sshKeygenCert([...rsa, '-t', 'ssh-rsa']);
  const r = inspectCertificateText(sha1, ctx());
  assert.ok(r.cert, 'a SHA-1 signature still verifies');
  assert.deepEqual(codes(r.findings), ['sha1-signature']);
  assert.equal(r.findings[0]!.level, 'error');
  assert.deepEqual(lintText(sshKeygenCert([...rsa, '-t', 'rsa-sha2-256'])), []);
  assert.deepEqual(lintText(sshKeygenCert(rsa)), [], 'ssh-keygen 9.2 defaults to rsa-sha2-512');
});

test('several problems at once: errors listed before warnings', () => {
  const findings = lintText(sshKeygenCert([...ca, '-h', '-n', '*.example.com', '-O', 'extension:permit-pty', '-V', '20200101:20200102']));
  assert.deepEqual(codes(findings), ['wildcard-principal', 'expired', 'user-extension-on-host-cert']);
});

/** A certificate whose option sections are written exactly as given (ssh-keygen always sorts them). */
function craftedCertificate(opts: { extensions: CertOption[]; criticalOptions: CertOption[] }): Certificate {
  const caKey = generatePrivateKey('ed25519');
  const subject = sshPublicKey(generatePrivateKey('ed25519'));
  const section = (o: CertOption[]) =>
    o.reduce((w, x) => w.string(x.name).string(x.value === '' ? Buffer.alloc(0) : new SshWriter().string(x.value).toBuffer()), new SshWriter()).toBuffer();
  const keyParts = new SshReader(subject.blob);
  keyParts.string();
  const now = BigInt(Math.floor(Date.now() / 1000));
  const tbs = new SshWriter()
    .string(certificateKeyType(subject.type))
    .string(Buffer.alloc(32, 1))
    .raw(keyParts.rest())
    .uint64(7n)
    .uint32(1)
    .string('joe')
    .string(new SshWriter().string('joe').toBuffer())
    .uint64(now - 60n)
    .uint64(now + 3600n)
    .string(section(opts.criticalOptions))
    .string(section(opts.extensions))
    .string('')
    .string(sshPublicKey(caKey).blob)
    .toBuffer();
  const blob = Buffer.concat([tbs, new SshWriter().string(sshSign(caKey, tbs)).toBuffer()]);
  return parseCertificate(blob);
}

test('unsorted and repeated extensions and critical options (crafted by hand) are errors', () => {
  const flag = (name: string) => ({ name, value: '' });
  const cert = craftedCertificate({
    // bytewise, "permit-X11-forwarding" sorts before "permit-pty" (X < p)
    extensions: [flag('permit-pty'), flag('permit-X11-forwarding'), flag('permit-user-rc'), flag('permit-user-rc')],
    criticalOptions: [
      { name: 'source-address', value: '10.0.0.0/8' },
      { name: 'force-command', value: 'ls' },
      { name: 'force-command', value: 'id' },
    ],
  });
  assert.deepEqual(
    cert.rawExtensions.map((o) => o.name),
    ['permit-pty', 'permit-X11-forwarding', 'permit-user-rc', 'permit-user-rc'],
    'parseCertificate keeps wire order',
  );
  const findings = lintCertificate(cert, ctx());
  assert.deepEqual(codes(findings, 'error'), ['unsorted-extensions', 'duplicate-extension', 'unsorted-critical-options', 'duplicate-critical-option']);
  assert.deepEqual(codes(findings, 'warning'), ['force-command-permits-forwarding']);
  assert.match(only(findings, 'unsorted-extensions').message, /"permit-pty" before "permit-X11-forwarding"/);
  assert.match(only(findings, 'duplicate-extension').message, /"permit-user-rc"/);
  assert.match(only(findings, 'duplicate-critical-option').message, /"force-command"/);

  const sorted = craftedCertificate({ extensions: [flag('permit-X11-forwarding'), flag('permit-pty')], criticalOptions: [] });
  assert.deepEqual(lintCertificate(sorted, ctx()), []);
});

function ourCertificate(overrides: Partial<CertificateBody> = {}, caKey = generatePrivateKey('ed25519')): Certificate {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const body: CertificateBody = {
    key: sshPublicKey(generatePrivateKey('ed25519')),
    nonce: Buffer.alloc(32, 2),
    serial: 5n,
    type: 'user',
    keyId: 'joe',
    principals: ['joe'],
    validAfter: now - BigInt(BACKDATE_SECONDS),
    validBefore: now + 3600n,
    criticalOptions: [],
    extensions: [{ name: 'permit-pty', value: '' }],
    ...overrides,
  };
  return parseCertificate(signCertificate(body, caKey));
}

test('validity boundaries: our one-minute back-dating, and OpenSSH treating valid_before itself as expired', () => {
  const now = new Date(1_800_000_000_000);
  const t = 1_800_000_000n;
  const at = (validAfter: bigint, validBefore: bigint) => codes(lintCertificate(ourCertificate({ validAfter, validBefore }), { now }));
  assert.deepEqual(at(t + 60n, t + 3600n), [], 'a minute ahead is clock skew');
  assert.deepEqual(at(t + 61n, t + 3600n), ['not-yet-valid']);
  assert.deepEqual(at(t - 3600n, t + 1n), []);
  assert.deepEqual(at(t - 3600n, t), ['expired']);
  assert.deepEqual(codes(lintCertificate(ourCertificate({ type: 'host', principals: ['h.example.com'], extensions: [], validBefore: FOREVER }), { now })), []);
});

test('untrusted-ca names a retired key, a key of the other CA, or an unknown key', () => {
  const userCa = generatePrivateKey('ed25519');
  const retiredUserCa = generatePrivateKey('ed25519');
  const hostCa = generatePrivateKey('ed25519');
  const fp = (k: ReturnType<typeof generatePrivateKey>) => fingerprint(sshPublicKey(k).blob);
  const trust: Partial<LintContext> = {
    trustedCaFingerprints: { user: [fp(userCa)], host: [fp(hostCa)] },
    untrustedCaFingerprints: { user: [fp(retiredUserCa)], host: [] },
  };
  assert.deepEqual(lintCertificate(ourCertificate({}, userCa), ctx(trust)), []);
  const retired = only(lintCertificate(ourCertificate({}, retiredUserCa), ctx(trust)), 'untrusted-ca');
  assert.equal(retired.level, 'error');
  assert.match(retired.message, /user CA key of this cluster that is not trusted now/);
  assert.match(only(lintCertificate(ourCertificate({}, hostCa), ctx(trust)), 'untrusted-ca').message, /a host CA key of this cluster, not by the user CA/);
  const foreign = only(lintText(sshKeygenCert([...ca, '-n', 'joe', '-V', '+1h']), trust), 'untrusted-ca');
  assert.match(foreign.message, new RegExp(`${caFingerprint.replace(/[+/]/g, '\\$&')}, which is not a CA key of this cluster`));
  // No data dir, no trust check.
  assert.deepEqual(lintCertificate(ourCertificate({}, hostCa), ctx()), []);
});

test('revoked comes from the callback', () => {
  const cert = ourCertificate();
  const f = only(lintCertificate(cert, ctx({ isRevoked: (c) => c.serial === 5n })), 'revoked');
  assert.equal(f.level, 'error');
  assert.match(f.message, /serial 5, key id "joe"/);
  assert.deepEqual(lintCertificate(cert, ctx({ isRevoked: () => false })), []);
});

test('what is not a certificate becomes one unreadable finding with a one-line reason', () => {
  const good = sshKeygenCert([...ca, '-n', 'joe', '-V', '+1h']);
  const [type, b64] = good.split(' ') as [string, string];
  const blob = Buffer.from(b64, 'base64');
  const tampered = Buffer.from(blob);
  const at = tampered.indexOf(Buffer.from('joe')) + 1;
  tampered[at] = tampered[at]! ^ 1;
  const cases: Array<[string, string, RegExp]> = [
    ['private key', fs.readFileSync(path.join(dir, 'subject'), 'utf8'), /found a private key/],
    ['plain public key', fs.readFileSync(path.join(dir, 'subject.pub'), 'utf8'), /public key, not a certificate/],
    ['empty', '', /empty/],
    ['not base64', `${type} !!!not-base64!!! x\n`, /not an OpenSSH certificate/],
    ['truncated', publicKeyLine(type, blob.subarray(0, blob.length - 30)), /malformed certificate: truncated/],
    ['bad signature', publicKeyLine(type, tampered), /signature does not verify/],
    ['type mismatch', publicKeyLine('ssh-rsa-cert-v01@openssh.com', blob), /does not match/],
  ];
  for (const [what, text, re] of cases) {
    const r = inspectCertificateText(text, ctx());
    assert.equal(r.cert, null, what);
    assert.equal(r.findings.length, 1, what);
    assert.equal(r.findings[0]!.code, 'unreadable', what);
    assert.equal(r.findings[0]!.level, 'error', what);
    assert.match(r.findings[0]!.message, re, what);
    assert.doesNotMatch(r.findings[0]!.message, /\n/, what);
  }
});
