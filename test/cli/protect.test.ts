// Passphrase-encrypted CA keys through the command line: init --protect, every key-using command
// with the passphrase file, wrong or missing passphrases, auth protect / unprotect in place.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { openssh, tctl, tempDir } from '../helpers/run.js';

const PASS = 'correct horse battery staple';

function setup(opts: { protect: boolean }) {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const passFile = path.join(cwd, 'pass');
  fs.writeFileSync(passFile, `${PASS}\n`, { mode: 0o600 });
  const run = (args: string[], env: Record<string, string | undefined> = {}, input?: string) => tctl(args, { cwd, env: { TCTL_DATA_DIR: dataDir, ...env }, input });
  const init = run(['auth', 'init', '--cluster-name=example.com', ...(opts.protect ? ['--protect', `--passphrase-file=${passFile}`] : [])]);
  assert.equal(init.status, 0, init.stderr);
  const keyFiles = () => fs.readdirSync(path.join(dataDir, 'keys')).map((f) => path.join(dataDir, 'keys', f));
  return { cwd, dataDir, passFile, run, keyFiles, withPass: { TCTL_CA_PASSPHRASE_FILE: passFile } };
}

const pkey = (file: string, passin?: string) => spawnSync('openssl', ['pkey', '-in', file, '-noout', ...(passin ? ['-passin', passin] : [])], { encoding: 'utf8', input: '' });
const state = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8'));
const liveRecords = (s: any) => [s.authorities.user.current, s.authorities.host.current, ...Object.values(s.tls).map((a: any) => a.current)];

/** Every file of the data dir, by name, with its bytes: "nothing written" is an equal snapshot. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'lock') out.set(path.relative(dir, p), fs.readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out;
}

test('init --protect: every CA key file (SSH and TLS) is encrypted; openssl opens it only with the passphrase', () => {
  const { dataDir, passFile, keyFiles } = setup({ protect: true });
  const files = keyFiles();
  assert.equal(files.length, 6, 'user, host and four TLS CA keys');
  for (const f of files) {
    assert.match(fs.readFileSync(f, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assert.notEqual(pkey(f).status, 0, `${f} opens without a passphrase`);
    assert.notEqual(pkey(f, 'pass:not the passphrase').status, 0, `${f} opens with a wrong passphrase`);
    const ok = pkey(f, `file:${passFile}`);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  }
  for (const r of liveRecords(state(dataDir))) assert.equal(r.encrypted, true);
});

test('with the passphrase file every key-using command works: SSH and TLS sign, batch, rotate, crl, export, status', () => {
  const { cwd, dataDir, run, keyFiles, withPass } = setup({ protect: true });
  const sign = run(['auth', 'sign', '--user=joe', '--out=joe', '--ttl=1h'], withPass);
  assert.equal(sign.status, 0, sign.stderr);
  const l = openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'joe-cert.pub')]);
  assert.equal(l.status, 0, l.stderr);

  const db = run(['auth', 'sign', '--format=db', '--host=db.example.com', '--out=db', '--ttl=1h'], withPass);
  assert.equal(db.status, 0, db.stderr);
  fs.writeFileSync(path.join(cwd, 'db-ca.crt'), run(['auth', 'export', '--type=db'], withPass).stdout);
  const v = spawnSync('openssl', ['verify', '-CAfile', 'db-ca.crt', 'db.crt'], { cwd, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);

  const keys = ['a', 'b', 'c'].map((n) => {
    openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, n)]);
    return { host: `${n}.example.com`, public_key: fs.readFileSync(path.join(cwd, `${n}.pub`), 'utf8').trim() };
  });
  const batch = run(['auth', 'sign', '--batch=-', '--out-dir=certs'], withPass, keys.map((k) => JSON.stringify(k)).join('\n') + '\n');
  assert.equal(batch.status, 0, batch.stderr);
  assert.equal(fs.readdirSync(path.join(cwd, 'certs')).length, 3);

  const before = new Set(keyFiles());
  const rot = run(['auth', 'rotate', '--type=user', '--manual', '--phase=init'], withPass);
  assert.equal(rot.status, 0, rot.stderr);
  const added = keyFiles().filter((f) => !before.has(f));
  assert.equal(added.length, 2, 'a new SSH and a new TLS user CA key');
  for (const f of added) assert.equal(pkey(f, `file:${path.join(cwd, 'pass')}`).status, 0, 'the new key opens with the same passphrase');
  for (const f of added) assert.notEqual(pkey(f).status, 0, 'and not without it');
  assert.equal(state(dataDir).authorities.user.next.encrypted, true);

  const crl = run(['auth', 'crl', '--type=db-client', '--format=pem'], withPass);
  assert.equal(crl.status, 0, crl.stderr);
  assert.match(crl.stdout, /BEGIN X509 CRL/);

  for (const env of [withPass, {}]) {
    const exp = run(['auth', 'export', '--type=user'], env);
    assert.equal(exp.status, 0, exp.stderr);
    const st = run(['status', '--json'], env);
    assert.equal(st.status, 0, st.stderr);
    const key = JSON.parse(st.stdout).authorities.user.key;
    assert.equal(key.storage, 'encrypted');
    assert.equal(key.checked, env === withPass, 'status opens the keys only when given the passphrase, and never asks');
  }
  const text = run(['status'], withPass);
  assert.match(text.stdout, /user CA .*\n {10}key: encrypted file keys\/user-ca-/);
});

test('a wrong passphrase: one error line, exit 1, nothing written; no passphrase off a terminal: a clear error, no hang', () => {
  const { cwd, dataDir, run } = setup({ protect: true });
  const wrong = path.join(cwd, 'wrong');
  fs.writeFileSync(wrong, 'not it\n');
  const before = snapshot(dataDir);
  for (const args of [
    ['auth', 'sign', '--user=joe', '--out=joe'],
    ['auth', 'sign', '--format=db', '--host=db.example.com', '--out=db'],
    ['auth', 'rotate', '--type=host', '--manual', '--phase=init'],
    ['auth', 'crl', '--type=db'],
    ['auth', 'protect'],
    ['auth', 'unprotect'],
  ]) {
    const r = run(args, { TCTL_CA_PASSPHRASE_FILE: wrong });
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^tctl: error: wrong passphrase for CA key \S+\ntctl: hint: /, args.join(' '));
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1);
    assert.deepEqual(snapshot(dataDir), before, `${args.join(' ')} wrote nothing`);
    assert.equal(fs.existsSync(path.join(cwd, 'joe')), false);
  }
  const none = run(['auth', 'sign', '--user=joe', '--out=joe']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^tctl: error: the CA keys are passphrase-protected and no passphrase was given\ntctl: hint: pass --passphrase-file FILE or set TCTL_CA_PASSPHRASE_FILE=FILE/);
  assert.deepEqual(snapshot(dataDir), before);
});

test('auth protect encrypts a plain data dir in place (audited), auth unprotect reverses it; signing works at each step', () => {
  const { cwd, dataDir, run, keyFiles, passFile, withPass } = setup({ protect: false });
  const publicBefore = run(['auth', 'export']).stdout;
  for (const f of keyFiles()) assert.equal(pkey(f).status, 0);
  const p = run(['auth', 'protect', `--passphrase-file=${passFile}`]);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^Encrypted 6 CA keys in /);
  for (const f of keyFiles()) {
    assert.notEqual(pkey(f).status, 0);
    assert.equal(pkey(f, `file:${passFile}`).status, 0);
  }
  for (const r of liveRecords(state(dataDir))) assert.equal(r.encrypted, true);
  assert.equal(run(['auth', 'export']).stdout, publicBefore, 'the same keys');
  assert.equal(run(['auth', 'sign', '--user=joe', '--out=joe'], withPass).status, 0);
  // Again: nothing left to do, said so.
  const again = run(['auth', 'protect'], withPass);
  assert.match(again.stdout, /^Encrypted 0 CA keys in .* \(6 already encrypted\)/);

  const u = run(['auth', 'unprotect'], withPass);
  assert.equal(u.status, 0, u.stderr);
  for (const f of keyFiles()) assert.equal(pkey(f).status, 0, 'plain again');
  for (const r of liveRecords(state(dataDir))) assert.equal(r.encrypted, undefined);
  assert.equal(run(['auth', 'sign', '--user=ann', '--out=ann']).status, 0, 'no passphrase needed any more');
  const audit = fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cmds = audit.map((a) => `${a.command} ${a.result}`);
  assert.ok(cmds.includes('auth protect ok') && cmds.includes('auth unprotect ok'), cmds.join(', '));
  assert.equal(audit.find((a) => a.command === 'auth protect').what.changed.length, 6);
  assert.equal(fs.existsSync(path.join(cwd, 'ann-cert.pub')), true);
});

test('a plain key file put where state.json records an encrypted one is refused', () => {
  const { dataDir, run, withPass } = setup({ protect: true });
  const rec = state(dataDir).authorities.user.current;
  // The same key, decrypted: an attacker who swapped the file could not have done better.
  const plain = spawnSync('openssl', ['pkey', '-in', path.join(dataDir, rec.file), '-passin', `file:${withPass.TCTL_CA_PASSPHRASE_FILE}`], { encoding: 'utf8' });
  fs.writeFileSync(path.join(dataDir, rec.file), plain.stdout);
  const r = run(['auth', 'sign', '--user=joe', '--out=joe'], withPass);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^tctl: error: CA key \S+ is not encrypted, but \S+state\.json says it is\n/);
});
