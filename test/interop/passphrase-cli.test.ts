// The real tctl asking for the CA passphrase on a terminal: masked, once per command, and a wrong
// one refused with nothing written. (test/interop/passphrase-prompt.test.ts covers the library.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { inPty, plain } from '../helpers/pty.js';
import { TCTL, tctl, tempDir } from '../helpers/run.js';

const skip = spawnSync('python3', ['-c', 'import pty']).status === 0 ? false : 'python3 with pty is not available';

function protectedCa(passphrase: string) {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const pwFile = path.join(cwd, 'pw');
  fs.writeFileSync(pwFile, passphrase + '\n', { mode: 0o600 });
  const env = { TCTL_DATA_DIR: dataDir };
  const init = tctl(['auth', 'init', '--cluster-name=example.com', '--protect', `--passphrase-file=${pwFile}`], { cwd, env });
  assert.equal(init.status, 0, init.stderr);
  const ptyEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir, TERM: 'xterm' };
  return { cwd, dataDir, env, ptyEnv };
}

test('auth sign on a terminal asks for the passphrase once, masked, and signs', { skip }, () => {
  const secret = 'c0rrect horse';
  const { cwd, ptyEnv } = protectedCa(secret);
  const r = inPty([process.execPath, TCTL, 'auth', 'sign', '--user=joe', '--out=joe', '--ttl=1h'], [['Passphrase for the CA keys', `${secret}\r`]], { cwd, env: ptyEnv });
  assert.equal(r.failed, null, r.output);
  assert.equal(r.status, 0, r.output);
  const out = plain(r.output);
  assert.ok(!out.includes(secret), 'the passphrase is never shown');
  assert.match(out, /\*{13}/);
  assert.equal(out.split('\n').filter((l) => l.includes('Passphrase for the CA keys')).length, 1, out);
  assert.match(out, /The credentials have been written to joe/);
  assert.ok(fs.existsSync(path.join(cwd, 'joe-cert.pub')));
});

test('a wrong passphrase typed at the terminal: one error line, exit 1, no certificate', { skip }, () => {
  const { cwd, dataDir, ptyEnv } = protectedCa('right one');
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const r = inPty([process.execPath, TCTL, 'auth', 'sign', '--user=joe', '--out=joe'], [['Passphrase for the CA keys', 'wrong one\r']], { cwd, env: ptyEnv });
  assert.equal(r.failed, null, r.output);
  assert.equal(r.status, 1, r.output);
  const out = plain(r.output);
  assert.equal(out.split('\n').filter((l) => l.startsWith('tctl: error:')).length, 1, out);
  assert.match(out, /tctl: error: wrong passphrase/);
  assert.ok(!fs.existsSync(path.join(cwd, 'joe-cert.pub')));
  assert.ok(!fs.existsSync(path.join(cwd, 'joe')));
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
});

test('off a terminal with no passphrase source, auth sign fails at once instead of waiting', () => {
  const { cwd, env } = protectedCa('pw');
  const started = Date.now();
  const r = tctl(['auth', 'sign', '--user=joe', '--out=joe'], { cwd, env });
  assert.notEqual(r.status, 0);
  assert.ok(Date.now() - started < 15_000);
  assert.match(r.stderr, /^tctl: error: .*passphrase/m);
  assert.ok(!fs.existsSync(path.join(cwd, 'joe-cert.pub')));
});

test('auth init --protect on a terminal asks for a new passphrase twice; a mismatch creates nothing', { skip }, () => {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, NO_COLOR: '1', TCTL_DATA_DIR: dataDir, TERM: 'xterm' };
  const argv = [process.execPath, TCTL, 'auth', 'init', '--cluster-name=example.com', '--protect'];
  const bad = inPty(argv, [['New passphrase for the CA keys', 'one\r'], ['Repeat the passphrase', 'two\r']], { cwd, env });
  assert.equal(bad.failed, null, bad.output);
  assert.notEqual(bad.status, 0, bad.output);
  assert.match(plain(bad.output), /tctl: error: the passphrases do not match/);
  assert.ok(!fs.existsSync(path.join(dataDir, 'state.json')));
  const good = inPty(argv, [['New passphrase for the CA keys', 'same pass\r'], ['Repeat the passphrase', 'same pass\r']], { cwd, env });
  assert.equal(good.failed, null, good.output);
  assert.equal(good.status, 0, good.output);
  for (const f of fs.readdirSync(path.join(dataDir, 'keys'))) {
    assert.match(fs.readFileSync(path.join(dataDir, 'keys', f), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/, f);
  }
});
