// The passphrase prompt on a real pseudo-terminal (python3's pty), and its absence off one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { generateKey } from '../../src/keys/generate.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { encryptPrivateKeyPem } from '../../src/keys/encrypted.js';
import { tempDir } from '../helpers/run.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'passphrase-probe.js');

// Runs argv on a pty; waits for the prompt before typing (typing earlier would be echoed by the
// terminal before the prompt turns echo off), then types the answer and collects everything shown.
const DRIVER = `
import os, pty, sys, time
answer = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b''
typed = False
deadline = time.time() + 20
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not typed and b'Passphrase' in out:
        time.sleep(0.2)
        os.write(fd, answer + b'\\r')
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function onPty(answer: string, args: string[], cwd: string) {
  const r = spawnSync('python3', ['-c', DRIVER, answer, process.execPath, PROBE, ...args], { cwd, encoding: 'utf8', timeout: 40_000, env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: r.stdout };
}

function encryptedKey(dir: string, passphrase: string) {
  const key = generateKey({ type: 'ed25519' }).privateKey;
  const file = path.join(dir, 'user.key');
  fs.writeFileSync(file, encryptPrivateKeyPem(key, passphrase), { mode: 0o600 });
  const digest = createHash('sha256').update(createPublicKey(key).export({ type: 'spki', format: 'der' })).digest('hex');
  return { file, digest };
}

const skip = spawnSync('python3', ['-c', 'import pty']).status === 0 ? false : 'python3 with pty is not available';

test('on a terminal the passphrase is asked once, masked, for every key of the command', { skip }, () => {
  const dir = tempDir();
  const { file, digest } = encryptedKey(dir, 'tr0ub4dor&3');
  const r = onPty('tr0ub4dor&3', [file], dir);
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output.split(`key ${digest}`).length - 1, 2, r.output);
  // inquirer redraws its one line per keystroke; a second question would be a second line.
  assert.equal(r.output.split('\n').filter((l) => l.includes('Passphrase for the CA keys')).length, 1, 'asked once');
  assert.ok(!r.output.includes('tr0ub4dor'), 'the passphrase is never shown');
  assert.match(r.output, /\*{11}/);
});

test('a wrong passphrase typed at the prompt is one error line, exit 1', { skip }, () => {
  const dir = tempDir();
  const { file } = encryptedKey(dir, 'right');
  const r = onPty('wrong', [file], dir);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /tctl: error: wrong passphrase for CA key file\r?\n/);
});

test('off a terminal with no passphrase source: a clear error at once, never a hang', () => {
  const dir = tempDir();
  const { file, digest } = encryptedKey(dir, 'pw');
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [PROBE, file, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000, input: 'pw\n', env: { PATH: process.env.PATH!, HOME: dir, ...env } });
  const none = run([]);
  assert.equal(none.error, undefined);
  assert.equal(none.status, 2);
  assert.equal(none.stdout, '');
  assert.equal(
    none.stderr,
    'tctl: error: the CA keys are passphrase-protected and no passphrase was given\n' +
      'tctl: hint: pass --passphrase-file FILE or set TCTL_CA_PASSPHRASE_FILE=FILE (on a terminal tctl asks)\n',
  );
  fs.writeFileSync(path.join(dir, 'pass'), 'pw\n');
  const viaFlag = run(['--passphrase-file', path.join(dir, 'pass')]);
  assert.equal(viaFlag.status, 0, viaFlag.stderr);
  assert.equal(viaFlag.stdout, `key ${digest}\nkey ${digest}\n`);
  const viaEnv = run([], { TCTL_CA_PASSPHRASE_FILE: path.join(dir, 'pass') });
  assert.equal(viaEnv.stdout, `key ${digest}\nkey ${digest}\n`);
  fs.writeFileSync(path.join(dir, 'wrong'), 'pW\n');
  const wrong = run(['--passphrase-file', path.join(dir, 'wrong')]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /^tctl: error: wrong passphrase for CA key file\n/);
});
