// Files where OpenSSH looks for them: KEY-cert.pub beside --public-key=KEY.pub, KEY.pub beside a
// generated KEY, and the overwrite rules checked for every output before anything is signed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const serialOf = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
const certKey = (file: string) => /Public key: (\S+ \S+)/.exec(openssh('ssh-keygen', ['-L', '-f', file]).stdout)?.[1];
const signingCa = (file: string) => /Signing CA: \S+ (\S+)/.exec(openssh('ssh-keygen', ['-L', '-f', file]).stdout)?.[1];
const keyFp = (file: string) => openssh('ssh-keygen', ['-l', '-f', file]).stdout.split(' ').slice(0, 2).join(' ');

test('--public-key=PATH.pub without --out writes PATH-cert.pub beside the key', () => {
  const { run, cwd } = initialisedCa();
  fs.mkdirSync(path.join(cwd, 'etc'));
  const key = path.join(cwd, 'etc', 'ssh_host_ed25519_key');
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
  const r = run(['auth', 'sign', '--host=web.example.com', `--public-key=etc/ssh_host_ed25519_key.pub`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to etc/ssh_host_ed25519_key-cert.pub\n');
  assert.equal(mode(`${key}-cert.pub`), 0o644);
  assert.equal(certKey(`${key}-cert.pub`)?.split(' ')[1], keyFp(`${key}.pub`).split(' ')[1]);
  assert.deepEqual(fs.readdirSync(cwd).sort(), ['ca', 'etc'], 'nothing in the current directory');

  // --out=x.pub means x-cert.pub, as ssh-keygen names it, never x.pub-cert.pub.
  const o = run(['auth', 'sign', '--host=web.example.com', '--public-key=etc/ssh_host_ed25519_key.pub', '--out=etc/other.pub']);
  assert.equal(o.status, 0, o.stderr);
  assert.equal(o.stdout, 'The credentials have been written to etc/other-cert.pub\n');
  assert.ok(!fs.existsSync(path.join(cwd, 'etc', 'other.pub-cert.pub')));

  // A key file not named .pub: ssh-keygen appends -cert.pub to the whole name.
  fs.copyFileSync(`${key}.pub`, path.join(cwd, 'etc', 'plain'));
  const p = run(['auth', 'sign', '--host=web.example.com', '--public-key=etc/plain']);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stdout, 'The credentials have been written to etc/plain-cert.pub\n');

  // Beside the key means the overwrite rules apply there: refused, nothing signed.
  const serial = serialOf(path.join(cwd, 'ca'));
  const again = run(['auth', 'sign', '--host=web.example.com', '--public-key=etc/ssh_host_ed25519_key.pub']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /destination file\(s\) etc\/ssh_host_ed25519_key-cert\.pub exist/);
  assert.equal(serialOf(path.join(cwd, 'ca')), serial);
  assert.equal(run(['auth', 'sign', '--host=web.example.com', '--public-key=etc/ssh_host_ed25519_key.pub', '--overwrite']).status, 0);
});

test('generated key pairs get <out>.pub (0644), so a rotation re-signs them with --public-key=<out>.pub', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const r = run(['auth', 'sign', '--user=joe', '--out=id_joe']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'The credentials have been written to id_joe, id_joe.pub, id_joe-cert.pub\n');
  assert.equal(mode(path.join(cwd, 'id_joe')), 0o600);
  assert.equal(mode(path.join(cwd, 'id_joe.pub')), 0o644);
  assert.equal(fs.readFileSync(path.join(cwd, 'id_joe.pub'), 'utf8'), openssh('ssh-keygen', ['-y', '-f', path.join(cwd, 'id_joe')]).stdout);
  const firstCert = fs.readFileSync(path.join(cwd, 'id_joe-cert.pub'), 'utf8');
  const firstCa = signingCa(path.join(cwd, 'id_joe-cert.pub'));
  assert.match(firstCa!, /^SHA256:/);

  // The rotation: the same key, a new certificate, in the same place.
  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=update_clients']).status, 0);
  const re = run(['auth', 'sign', '--user=joe', '--public-key=id_joe.pub', '--overwrite']);
  assert.equal(re.status, 0, re.stderr);
  assert.equal(re.stdout, 'The credentials have been written to id_joe-cert.pub\n');
  assert.notEqual(fs.readFileSync(path.join(cwd, 'id_joe-cert.pub'), 'utf8'), firstCert);
  assert.equal(certKey(path.join(cwd, 'id_joe-cert.pub'))?.split(' ')[1], keyFp(path.join(cwd, 'id_joe.pub')).split(' ')[1]);
  assert.notEqual(signingCa(path.join(cwd, 'id_joe-cert.pub')), firstCa, 'signed by the new CA key');

  // Every output is checked before signing: only the .pub existing refuses, and creates nothing.
  fs.writeFileSync(path.join(cwd, 'solo.pub'), 'keep me');
  const serial = serialOf(dataDir);
  const solo = run(['auth', 'sign', '--user=solo']);
  assert.equal(solo.status, 1);
  assert.match(solo.stderr, /destination file\(s\) solo\.pub exist/);
  assert.ok(!fs.existsSync(path.join(cwd, 'solo')) && !fs.existsSync(path.join(cwd, 'solo-cert.pub')));
  assert.equal(fs.readFileSync(path.join(cwd, 'solo.pub'), 'utf8'), 'keep me');
  assert.equal(serialOf(dataDir), serial);

  // --out names the private key: x.pub would be a private key called .pub.
  const bad = run(['auth', 'sign', '--user=joe', '--out=x.pub']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^tctl: error: --out names the private key, not "x\.pub"\ntctl: hint: give --out=x: tctl writes x, x\.pub and x-cert\.pub\n$/);
});
