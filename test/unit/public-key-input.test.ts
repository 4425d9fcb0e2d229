// A --public-key file holds exactly one key, in any format we read: a second key, whatever its
// format, is refused rather than silently ignored ("first one wins" would certify a key the
// operator may not have meant).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parsePublicKeyText } from '../../src/formats/public-key.js';
import { initialisedCa, openssh, tempDir } from '../helpers/run.js';

const dir = tempDir();
const keygen = (args: string[]) => {
  const r = openssh('ssh-keygen', args, { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
const formats: Record<string, string[]> = {};
for (const [name, t] of [['a', 'ed25519'], ['b', 'ecdsa'], ['c', 'rsa']] as const) {
  keygen(['-q', '-t', t, '-N', '', '-f', name]);
  // ssh-keygen has no PKCS#8 form of ed25519 keys.
  formats[name] = [t === 'ed25519' ? '' : keygen(['-e', '-m', 'PKCS8', '-f', `${name}.pub`]), keygen(['-e', '-m', 'RFC4716', '-f', `${name}.pub`]), fs.readFileSync(path.join(dir, `${name}.pub`), 'utf8')];
}

test('one key in PEM or RFC 4716 is read; two keys in any mix of formats are refused', async () => {
  for (const name of ['b', 'c']) {
    const [pem, rfc] = formats[name]!;
    const want = fs.readFileSync(path.join(dir, `${name}.pub`), 'utf8').split(' ')[1];
    assert.equal((await parsePublicKeyText(pem!)).blob.toString('base64'), want);
    assert.equal((await parsePublicKeyText(rfc!)).blob.toString('base64'), want);
  }
  const firsts = [formats.b![0]!, formats.c![0]!, formats.b![1]!, formats.a![1]!];
  const seconds = [formats.b![0]!, formats.c![0]!, formats.a![1]!, formats.b![2]!, formats.c![2]!];
  for (const first of firsts) {
    for (const second of seconds) {
      for (const sep of ['', '\n', '\n\n']) {
        await assert.rejects(parsePublicKeyText(first + sep + second), /found more than one key; give one key per file/, `${first.slice(0, 40)} + ${second.slice(0, 40)}`);
      }
    }
    await assert.rejects(parsePublicKeyText(first + 'hello\n'), /found text after the end of the key/);
    await assert.rejects(parsePublicKeyText(first + fs.readFileSync(path.join(dir, 'c'), 'utf8')), /found a private key/);
  }
});

test('auth sign --public-key with two PEM keys: one error line, nothing signed', () => {
  const { cwd, dataDir, run } = initialisedCa();
  fs.writeFileSync(path.join(cwd, 'two.pem'), formats.b![0]! + formats.c![0]!);
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const r = run(['auth', 'sign', '--host=web.example.com', '--public-key=two.pem']);
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('tctl: error:')), ['tctl: error: invalid --public-key two.pem: found more than one key; give one key per file']);
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
  assert.ok(!fs.existsSync(path.join(cwd, 'web.example.com-cert.pub')));
});
