// A batch-signed host certificate and user certificate, used by a real sshd and ssh.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import { interopSkip, sshRun, startSshd } from '../helpers/sshd.js';

test('certificates from auth sign --batch log in through a real sshd', { skip: interopSkip() }, async (t) => {
  const { run, cwd } = initialisedCa();
  const file = (name: string) => path.join(cwd, name);
  for (const k of ['host', 'user']) assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file(k)]).status, 0);
  const login = os.userInfo().username;
  const requests = [
    { host: 'api.example.com,127.0.0.1', public_key: fs.readFileSync(file('host.pub'), 'utf8').trim(), out: 'host' },
    { user: 'alice', principals: [login], ttl: '1h', public_key: fs.readFileSync(file('user.pub'), 'utf8').trim(), out: 'user' },
  ];
  fs.writeFileSync(file('req.jsonl'), requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const signed = run(['auth', 'sign', '--batch=req.jsonl', `--out-dir=${cwd}`]);
  assert.equal(signed.status, 0, signed.stderr);
  fs.writeFileSync(file('ca.pub'), run(['auth', 'export', '--type=user']).stdout);
  fs.writeFileSync(file('known_hosts'), run(['auth', 'export', '--type=host']).stdout);

  const sshd = await startSshd({ dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys: file('ca.pub') });
  t.after(() => sshd.stop());
  const r = sshRun({ port: sshd.port, key: file('user'), knownHosts: file('known_hosts'), hostKeyAlias: 'api.example.com', command: 'echo batch-ok' });
  assert.equal(r.status, 0, `${r.stderr}\n${sshd.log()}`);
  assert.equal(r.stdout, 'batch-ok\n');
  assert.match(sshd.log(), /Accepted publickey for .* ED25519-CERT .* ID alice \(serial 2\)/);
});
