// Keys whose signatures anyone could forge (or that OpenSSH cannot use) are refused wherever a
// key enters through the built CLI: `auth sign --public-key`, a `--batch` line, `auth revoke
// --public-key`, and `auth inspect` of a certificate that carries one. Every class is drawn
// several times with fresh random values; good keys from the real ssh-keygen still pass.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { signCertificate } from '../../src/ssh/certificate.js';
import { generatePrivateKey, parsePublicKeyBlob } from '../../src/ssh/keys.js';
import { SshReader } from '../../src/ssh/wire.js';
import { badKeyClasses, realModulus } from '../helpers/bad-keys.js';
import { initialisedCa, openssh } from '../helpers/run.js';

const SIGN_DRAWS = 3;
const BATCH_LINES = 6;
const INSPECT_DRAWS = 2;
const classes = badKeyClasses(realModulus());

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tctl: error:'));
const typeOf = (blob: Buffer) => new SshReader(blob).text();
const keyLine = (blob: Buffer, comment = 'bad') => `${typeOf(blob)} ${blob.toString('base64')} ${comment}\n`;

/** Everything in the data dir except audit.jsonl (refused commands are audited too), and the files of cwd. */
function snapshot(cwd: string, dataDir: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'audit.jsonl') h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(dataDir);
  h.update(fs.readdirSync(cwd).sort().join('\n'));
  return h.digest('hex');
}

test('auth sign --public-key and auth revoke --public-key refuse every class of bad key, one error line, nothing written', () => {
  const { cwd, dataDir, run } = initialisedCa();
  for (const c of classes) {
    for (let i = 0; i < SIGN_DRAWS; i++) {
      fs.writeFileSync(path.join(cwd, 'k.pub'), keyLine(c.make()));
      const before = snapshot(cwd, dataDir);
      const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
      for (const args of [
        ['auth', 'sign', '--user=root', '--public-key=k.pub'],
        ['auth', 'sign', '--host=web1.example.com', '--public-key=k.pub', '--out=web1'],
        ['auth', 'revoke', '--public-key=k.pub'],
      ]) {
        const r = run(args);
        assert.equal(r.status, 1, `${c.name}: ${args.join(' ')}: ${r.stderr}`);
        const errors = errorLines(r.stderr);
        assert.equal(errors.length, 1, `${c.name}: one error line in ${r.stderr}`);
        assert.match(errors[0]!, /^tctl: error: invalid --public-key k\.pub: /, c.name);
        assert.match(errors[0]!, c.reason, c.name);
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
        assert.equal(r.stdout, '');
      }
      assert.equal(snapshot(cwd, dataDir), before, `${c.name}: nothing signed, revoked or written`);
      assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
      assert.ok(!fs.existsSync(path.join(dataDir, 'issued.jsonl')) || !fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').includes('root'));
    }
  }
});

test('a --batch with bad keys names each bad line and signs nothing, not even its good lines', () => {
  const { cwd, dataDir, run } = initialisedCa();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'good')]).status, 0);
  const good = fs.readFileSync(path.join(cwd, 'good.pub'), 'utf8').trim();
  for (const c of classes) {
    const lines = [JSON.stringify({ host: 'good.example.com', public_key: good })];
    for (let i = 0; i < BATCH_LINES; i++) lines.push(JSON.stringify({ host: `h${i}.example.com`, public_key: keyLine(c.make()).trim() }));
    fs.writeFileSync(path.join(cwd, 'batch.jsonl'), lines.join('\n') + '\n');
    const before = snapshot(cwd, dataDir);
    const r = run(['auth', 'sign', '--batch=batch.jsonl', '--out-dir=out']);
    assert.equal(r.status, 1, `${c.name}: ${r.stderr}`);
    const errors = errorLines(r.stderr);
    for (let i = 0; i < BATCH_LINES; i++) {
      const mine = errors.filter((l) => l.startsWith(`tctl: error: batch.jsonl:${i + 2}: "public_key": `));
      assert.equal(mine.length, 1, `${c.name}: one error for line ${i + 2} in ${r.stderr}`);
      assert.match(mine[0]!, c.reason, c.name);
    }
    assert.ok(!errors.some((l) => l.includes('batch.jsonl:1:')), 'the good line is not reported');
    assert.deepEqual(errors.slice(BATCH_LINES), [`tctl: error: ${BATCH_LINES} bad lines in the batch; nothing was signed`]);
    fs.rmSync(path.join(cwd, 'out'), { recursive: true, force: true });
    assert.equal(snapshot(cwd, dataDir), before, `${c.name}: nothing signed`);
  }
});

test('auth inspect decodes a certificate for a bad key, shows it, and fails it with an invalid-key error', () => {
  const { cwd, run } = initialisedCa();
  const ca = generatePrivateKey('ed25519');
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'kca')]).status, 0);
  const now = BigInt(Math.floor(Date.now() / 1000));
  let n = 0;
  for (const c of classes) {
    for (let i = 0; i < INSPECT_DRAWS; i++) {
      const blob = c.make();
      const { key } = parsePublicKeyBlob(blob);
      const files: string[] = [];
      // Our own encoder builds the certificate for every class...
      const cert = signCertificate(
        { key, nonce: Buffer.alloc(32, 1), serial: 1n, type: 'user', keyId: 'k', principals: ['root'], validAfter: now - 60n, validBefore: now + 3600n, criticalOptions: [], extensions: [] },
        ca,
      );
      files.push(`c${n}-cert.pub`);
      fs.writeFileSync(path.join(cwd, files[0]!), `${typeOf(blob)}-cert-v01@openssh.com ${cert.toString('base64')} k\n`);
      // ...and the real ssh-keygen too, for the classes it signs (not off-curve ECDSA, nor RSA outside 1024..16384 bits).
      fs.writeFileSync(path.join(cwd, `s${n}.pub`), keyLine(blob));
      if (openssh('ssh-keygen', ['-q', '-s', 'kca', '-I', 'k', '-n', 'root', '-V', '+1h', `s${n}.pub`], { cwd }).status === 0) files.push(`s${n}-cert.pub`);
      n++;
      for (const file of files) {
        const r = run(['auth', 'inspect', file]);
        assert.equal(r.status, 1, `${c.name} ${file}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /Public key: \S+ SHA256:/, 'the certificate is still shown');
        const found = r.stdout.split('\n').filter((l) => l.startsWith('error: invalid-key: the certified key is refused: '));
        assert.equal(found.length, 1, `${c.name}: ${r.stdout}`);
        assert.match(found[0]!, c.reason);
        assert.deepEqual(errorLines(r.stderr), ['tctl: error: 1 certificate has errors']);
      }
    }
  }
});

test('good keys from the real ssh-keygen are still signed, batched, revoked and inspected clean of invalid-key', () => {
  const { cwd, run } = initialisedCa();
  const specs = [['ed25519'], ['ecdsa', '256'], ['ecdsa', '384'], ['ecdsa', '521'], ['rsa', '2048'], ['rsa', '3072'], ['rsa', '4096']];
  const lines: string[] = [];
  for (const [t, b] of specs) {
    const name = `k_${t}${b ?? ''}`;
    assert.equal(openssh('ssh-keygen', ['-q', '-t', t!, ...(b ? ['-b', b] : []), '-N', '', '-f', path.join(cwd, name)]).status, 0);
    const s = run(['auth', 'sign', `--user=${name}`, `--public-key=${name}.pub`, `--out=${name}`]);
    assert.equal(s.status, 0, `${name}: ${s.stderr}`);
    const i = run(['auth', 'inspect', `${name}-cert.pub`]);
    assert.doesNotMatch(i.stdout, /invalid-(ca-)?key/, name);
    assert.equal(i.status, 0, `${name}: ${i.stdout}`);
    assert.equal(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, `${name}-cert.pub`)]).status, 0);
    lines.push(JSON.stringify({ host: `${name.replace(/_/g, '-')}.example.com`, public_key: fs.readFileSync(path.join(cwd, `${name}.pub`), 'utf8').trim() }));
  }
  fs.writeFileSync(path.join(cwd, 'batch.jsonl'), lines.join('\n') + '\n');
  const b = run(['auth', 'sign', '--batch=batch.jsonl', '--out-dir=out']);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(fs.readdirSync(path.join(cwd, 'out')).length, specs.length);
  const r = run(['auth', 'revoke', `--public-key=k_rsa4096.pub`]);
  assert.equal(r.status, 0, r.stderr);
});
