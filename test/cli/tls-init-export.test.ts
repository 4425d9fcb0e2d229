// TLS CAs in the data dir: what auth init creates, how an older data dir gets them (and nothing
// else changes), and every TLS export type, checked with openssl.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TCTL, initialisedCa } from '../helpers/run.js';
import { openssl } from '../unit/x509-helpers.js';

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const mode = (p: string) => fs.statSync(p).mode & 0o777;
const oneErrorLine = (stderr: string) => assert.equal(stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1, stderr);
const auditLines = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** Turns a data dir into one written before TLS support: no "tls" in state.json, no TLS key files. */
function makePreTls(dataDir: string): void {
  const file = path.join(dataDir, 'state.json');
  const state = readJson(file);
  delete state.tls;
  fs.writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
  for (const f of fs.readdirSync(path.join(dataDir, 'keys'))) if (f.startsWith('tls-')) fs.rmSync(path.join(dataDir, 'keys', f));
}

test('auth init creates the four TLS CAs: balanced-v1 key types, CA certificates as Teleport writes them', () => {
  const { dataDir, run, cwd } = initialisedCa();
  const state = readJson(path.join(dataDir, 'state.json'));
  assert.deepEqual(Object.fromEntries(Object.entries(state.tls).map(([k, v]) => [k, (v as { current: { keyType: string } }).current.keyType])), {
    host: 'ecdsa-p256', user: 'ecdsa-p256', db: 'rsa-2048', db_client: 'rsa-2048',
  });
  for (const ca of ['host', 'user', 'db', 'db_client']) {
    const rec = state.tls[ca].current;
    assert.match(rec.fingerprint, /^sha256:[0-9a-f]{64}$/);
    assert.match(rec.file, new RegExp(`^keys/tls-${ca}-ca-\\d{8}T\\d{6}Z-${rec.fingerprint.slice(7, 15)}\\.pem$`));
    assert.equal(mode(path.join(dataDir, rec.file)), 0o600);
    fs.writeFileSync(path.join(cwd, 'ca.pem'), rec.certificate);
    const text = openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], { cwd }).stdout;
    assert.match(text, /Subject: O ?= ?example\.com, CN ?= ?example\.com/);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    const [nb, na] = [/Not Before: (.*)/.exec(text)![1]!, /Not After : (.*)/.exec(text)![1]!].map((d) => new Date(d));
    assert.equal(na!.getUTCFullYear() - nb!.getUTCFullYear(), 10);
    // The pin is the SHA-256 of the SubjectPublicKeyInfo, as Teleport's --ca-pin.
    const spki = openssl(['x509', '-in', 'ca.pem', '-noout', '-pubkey'], { cwd }).stdout;
    const der = spawnSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: spki });
    assert.equal(`sha256:${spawnSync('sha256sum', { input: der.stdout, encoding: 'utf8' }).stdout.split(' ')[0]}`, rec.fingerprint);
  }
  const init = auditLines(dataDir)[0];
  assert.deepEqual(Object.keys(init.what.tls), ['host', 'user', 'db', 'db_client']);
  const rsa = initialisedCa('rsa');
  const rsaState = readJson(path.join(rsa.dataDir, 'state.json'));
  assert.deepEqual(['host', 'user', 'db', 'db_client'].map((c) => rsaState.tls[c].current.keyType), ['rsa-2048', 'rsa-2048', 'rsa-2048', 'rsa-2048']);
  assert.equal(run(['status']).status, 0);
});

test('a data dir from before TLS support: TLS commands say to run auth init; auth init adds exactly the TLS CAs, audited; SSH exports are byte-identical', () => {
  const { dataDir, run } = initialisedCa();
  assert.equal(run(['auth', 'sign', '--host=web.example.com', '--out=web']).status, 0);
  // The host CA mid-rotation: its TLS CA must join in the same phase, with a next key.
  assert.equal(run(['auth', 'rotate', '--type=host', '--manual', '--phase=init']).status, 0);
  makePreTls(dataDir);
  const sshExport = run(['auth', 'export']).stdout;
  // The KRL with its generation time (bytes 20-27, PROTOCOL.krl) zeroed.
  const krlOf = () => {
    assert.equal(run(['auth', 'export', '--type=krl', '-o', 'r.krl']).status, 0);
    return fs.readFileSync(path.join(dataDir, '..', 'r.krl')).fill(0, 20, 28).toString('hex');
  };
  const krl = krlOf();
  const stateBefore = readJson(path.join(dataDir, 'state.json'));
  const keysBefore = fs.readdirSync(path.join(dataDir, 'keys')).sort();

  for (const args of [
    ['auth', 'export', '--type=db'],
    ['auth', 'export', '--type=tls-user-der', '-o', 'x.der'],
    ['auth', 'sign', '--format=db', '--host=db.example.com', '--out=db'],
    ['auth', 'sign', '--format=tls', '--user=joe'],
    ['auth', 'rotate', '--type=db', '--manual', '--phase=init'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr, 'tctl: error: this cluster has no TLS certificate authorities (initialised before TLS support)\n' +
      'tctl: hint: run "tctl auth init" once to add them; SSH keys and certificates are not changed\n', args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.ok(!fs.existsSync(path.join(dataDir, '..', 'db.key')));

  const st = run(['status']);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /^TLS CAs   none: run "tctl auth init" once to add them$/m);
  assert.equal(JSON.parse(run(['status', '--json']).stdout).tls, null);
  const wrong = run(['auth', 'init', '--cluster-name=other.example.com']);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /^tctl: error: data dir .* holds cluster "example\.com", not "other\.example\.com"$/m);

  const added = run(['auth', 'init', '--cluster-name=example.com']);
  assert.equal(added.status, 0, added.stderr);
  assert.match(added.stdout, /^Added the TLS certificate authorities to cluster "example\.com"/);
  for (const ca of ['host', 'user', 'db', 'db-client']) assert.match(added.stdout, new RegExp(`tls ${ca} CA\\s+(ecdsa-p256|rsa-2048)\\s+sha256:[0-9a-f]{64}`));

  const state = readJson(path.join(dataDir, 'state.json'));
  assert.deepEqual(state.authorities, stateBefore.authorities);
  assert.deepEqual({ ...state, tls: undefined }, { ...stateBefore, tls: undefined });
  assert.deepEqual(state.tls.host.rotation, stateBefore.authorities.host.rotation);
  assert.ok(state.tls.host.next, 'the host TLS CA has a next key, as its SSH CA does');
  assert.equal(state.tls.user.next, undefined);
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'keys')).filter((f) => !f.startsWith('tls-')).sort(), keysBefore);
  assert.equal(fs.readdirSync(path.join(dataDir, 'keys')).filter((f) => f.startsWith('tls-')).length, 5);
  const last = auditLines(dataDir).at(-1);
  assert.equal(last.command, 'auth init');
  assert.equal(last.result, 'ok');
  assert.deepEqual(Object.keys(last.what.addedTls), ['host', 'user', 'db', 'db_client']);

  assert.equal(run(['auth', 'export']).stdout, sshExport);
  assert.equal(krlOf(), krl);
  assert.equal(run(['auth', 'export', '--type=tls-host']).stdout.match(/BEGIN CERTIFICATE/g)?.length, 2);
  const again = run(['auth', 'init', '--cluster-name=example.com']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is already initialised/);
  // Rotation goes on in lockstep.
  assert.equal(run(['auth', 'rotate', '--type=host', '--manual', '--phase=update_clients']).status, 0);
  const after = readJson(path.join(dataDir, 'state.json'));
  assert.equal(after.tls.host.rotation.phase, 'update_clients');
});

test('auth export: every TLS type in PEM and DER, with -o, --fingerprint, and the rotation rules', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const state = readJson(path.join(dataDir, 'state.json'));
  const types: Array<[string, string, boolean]> = [
    ['tls-host', 'host', false], ['tls', 'host', false], ['tls-user', 'user', false], ['tls-user-der', 'user', true], ['windows', 'user', true],
    ['db', 'db', false], ['db-der', 'db', true], ['db-client', 'db_client', false], ['db_client', 'db_client', false],
    ['db-client-der', 'db_client', true], ['db_client-der', 'db_client', true],
  ];
  for (const [type, ca, der] of types) {
    const out = path.join(cwd, `${type}.out`);
    const r = run(['auth', 'export', `--type=${type}`, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(mode(out), 0o644);
    const fp = openssl(['x509', '-inform', der ? 'DER' : 'PEM', '-in', out, '-noout', '-fingerprint', '-sha256'], { cwd });
    assert.equal(fp.status, 0, `${type}: ${fp.stderr}`);
    const pemFp = spawnSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: state.tls[ca].current.certificate, encoding: 'utf8' }).stdout;
    assert.equal(fp.stdout, pemFp, type);
    if (!der) assert.equal(fs.readFileSync(out, 'utf8'), state.tls[ca].current.certificate);
  }
  // Mid-rotation: PEM carries both (signer first), DER refuses and says how to pick.
  assert.equal(run(['auth', 'rotate', '--type=db_client', '--manual', '--phase=init']).status, 0);
  const both = run(['auth', 'export', '--type=db-client']);
  assert.equal(both.stdout.match(/BEGIN CERTIFICATE/g)?.length, 2);
  const s2 = readJson(path.join(dataDir, 'state.json'));
  assert.ok(both.stdout.startsWith(s2.tls.db_client.current.certificate));
  const refused = run(['auth', 'export', '--type=db-client-der', '-o', 'x.der']);
  assert.equal(refused.status, 1);
  oneErrorLine(refused.stderr);
  assert.match(refused.stderr, /the db-client CA trusts 2 certificates during its rotation and DER holds one/);
  assert.match(refused.stderr, new RegExp(`hint: pick one with --fingerprint=${s2.tls.db_client.current.fingerprint} or --fingerprint=${s2.tls.db_client.next.fingerprint}, or get them all in PEM with --type=db-client`));
  assert.ok(!fs.existsSync(path.join(cwd, 'x.der')));
  const picked = run(['auth', 'export', '--type=db-client-der', `--fingerprint=${s2.tls.db_client.next.fingerprint}`, '-o', 'next.der']);
  assert.equal(picked.status, 0, picked.stderr);
  assert.equal(openssl(['x509', '-inform', 'DER', '-in', 'next.der', '-noout'], { cwd }).status, 0);
  for (const [args, code, re] of [
    [['--type=db', '--fingerprint=SHA256:abc'], 2, /invalid --fingerprint "SHA256:abc" for a TLS CA/],
    [['--type=db', `--fingerprint=sha256:${'0'.repeat(64)}`], 1, /no trusted db CA certificate has fingerprint/],
    [['--type=db', '--format=authorized_keys'], 2, /--format and --host-patterns do not apply to --type=db/],
    [['--type=db-cert'], 2, /invalid --type "db-cert"; allowed values: .*"db-client-der"/],
  ] as const) {
    const r = run(['auth', 'export', ...args]);
    assert.equal(r.status, code, args.join(' '));
    assert.match(r.stderr, re);
    oneErrorLine(r.stderr);
  }
  // DER refused on a terminal, before anything is read (script(1) gives tctl a tty).
  const tty = spawnSync('script', ['-qec', `"${process.execPath}" "${TCTL}" auth export --type=db-der`, '/dev/null'], {
    cwd, env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir }, encoding: 'utf8',
  });
  assert.equal(tty.status, 2);
  assert.match(tty.stdout, /refusing to write a binary certificate to a terminal/);
  assert.match(tty.stdout, /hint: use -o FILE or redirect/);
});
