// --add-to-agent against a real ssh-agent started here: the key and certificate are loaded with
// the certificate's remaining lifetime, a real sshd accepts a login through the agent, and with
// no agent nothing is signed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { LOGIN, ok, sshdFor } from '../helpers/interop.js';
import { initialisedCa, openssh } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';

const skip = interopSkip();

/** ssh-agent -d in the foreground on a socket of our own; its debug log says each key's lifetime. */
async function startAgent(t: TestContext, dir: string): Promise<{ sock: string; log: () => string }> {
  const sock = path.join(dir, 'agent.sock');
  let log = '';
  const child: ChildProcess = spawn('ssh-agent', ['-d', '-a', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  t.after(() => {
    child.kill('SIGTERM');
  });
  const until = Date.now() + 10_000;
  while (!fs.existsSync(sock)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`ssh-agent did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { sock, log: () => log };
}

function sshAdd(sock: string, args: string[]) {
  const r = spawnSync('ssh-add', args, { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: sock }, encoding: 'utf8', input: '' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('--add-to-agent loads key and certificate for the certificate\'s lifetime; ssh logs in through the agent', { skip }, async (t) => {
  requireOpenSsh();
  const { cwd, run } = initialisedCa();
  const file = (name: string) => path.join(cwd, name);
  const agent = await startAgent(t, cwd);
  const withAgent = (args: string[]) => run(args, { env: { SSH_AUTH_SOCK: agent.sock } });

  const r = withAgent(['auth', 'sign', `--user=joe`, `--principals=${LOGIN}`, '--out=id_joe', '--ttl=8h', '--json', '--add-to-agent']);
  const signed = JSON.parse(ok(r, 'sign --add-to-agent').stdout);
  assert.match(r.stderr, /^Added id_joe and its certificate to the ssh-agent for (8h|7h59m\d+s) \(until \S+\)$/m);
  assert.ok(signed.agentLifetimeSeconds > 8 * 3600 - 60 && signed.agentLifetimeSeconds <= 8 * 3600, String(signed.agentLifetimeSeconds));
  const listed = sshAdd(agent.sock, ['-L']);
  assert.equal(listed.status, 0, listed.stderr);
  const cert = fs.readFileSync(file('id_joe-cert.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  assert.ok(listed.stdout.split('\n').some((l) => l.startsWith(cert)), `ssh-add -L lists the certificate:\n${listed.stdout}`);
  // The agent's own debug log names the lifetime it was given (ssh-agent.c: "(life: N)").
  await new Promise((r2) => setTimeout(r2, 100));
  const lives = [...agent.log().matchAll(/\(life: (\d+)\)/g)].map((m) => Number(m[1]));
  assert.ok(lives.length >= 1 && lives.every((l) => l === signed.agentLifetimeSeconds), `agent log:\n${agent.log()}`);

  // A real login that can only use the agent's keys.
  fs.writeFileSync(file('user_ca.pub'), ok(run(['auth', 'export', '--type=user']), 'export user').stdout);
  fs.writeFileSync(file('known_hosts'), ok(run(['auth', 'export', '--type=host']), 'export host').stdout);
  ok(run(['auth', 'sign', '--host=sshd.example.com', '--out=host']), 'sign host');
  const sshd = await sshdFor(t, { dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys: file('user_ca.pub') });
  fs.renameSync(file('id_joe'), file('moved-away'));
  const login = sshRun({ port: sshd.port, key: file('unused'), agent: agent.sock, knownHosts: file('known_hosts'), hostKeyAlias: 'sshd.example.com', command: 'echo via-agent' });
  assert.equal(login.status, 0, login.stderr);
  assert.equal(login.stdout, 'via-agent\n');
  await sshd.waitForLog(/Accepted publickey for \S+ .*ED25519-CERT.*ID joe/);

  // --public-key=KEY.pub with the private key beside it works too; a short certificate leaves the agent when it expires.
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('id_short')]).status, 0);
  ok(withAgent(['auth', 'sign', '--user=short', `--principals=${LOGIN}`, '--public-key=id_short.pub', '--ttl=3s', '--add-to-agent']), 'sign short');
  const fp = openssh('ssh-keygen', ['-l', '-f', file('id_short.pub')]).stdout.split(' ')[1]!;
  assert.match(sshAdd(agent.sock, ['-l']).stdout, new RegExp(fp.replace(/[+/]/g, '\\$&')));
  await new Promise((r2) => setTimeout(r2, 4500));
  assert.doesNotMatch(sshAdd(agent.sock, ['-l']).stdout, new RegExp(fp.replace(/[+/]/g, '\\$&')), 'gone when the certificate expired');
});

test('--add-to-agent with no agent, an unreachable one, a host or misplaced files: refused before signing', { skip }, () => {
  requireOpenSsh();
  const { cwd, dataDir, run } = initialisedCa();
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  fs.copyFileSync(path.join(cwd, 'k.pub'), path.join(cwd, 'lonely.pub'));
  const cases: Array<[string[], Record<string, string> | undefined, number, RegExp]> = [
    [['--user=joe'], undefined, 1, /^tctl: error: --add-to-agent: no ssh-agent \(SSH_AUTH_SOCK is not set\); nothing was signed\ntctl: hint: start one with: eval "\$\(ssh-agent\)"/],
    [['--user=joe'], { SSH_AUTH_SOCK: path.join(cwd, 'no-such.sock') }, 1, /^tctl: error: --add-to-agent: cannot reach the ssh-agent at \S+no-such\.sock \(.*\); nothing was signed/],
    [['--user=joe'], { SSH_AUTH_SOCK: path.join(cwd, 'k') }, 1, /cannot reach the ssh-agent/],
    [['--host=web.example.com'], undefined, 2, /^tctl: error: --add-to-agent applies to --user/],
    [['--user=joe', '--public-key=lonely.pub'], { SSH_AUTH_SOCK: '/x' }, 2, /needs the private key KEY beside it/],
    [['--user=joe', '--public-key=k.pub', '--out=elsewhere'], { SSH_AUTH_SOCK: '/x' }, 2, /needs the private key KEY beside it/],
    [['--format=db', '--user=joe'], undefined, 2, /--add-to-agent does not apply to --format=db/],
    [['--batch=x.jsonl', '--out-dir=c'], undefined, 2, /--add-to-agent cannot be used with --batch/],
  ];
  for (const [args, env, status, re] of cases) {
    const r = run(['auth', 'sign', '--add-to-agent', ...args], { env });
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial, 'no serial spent');
  assert.deepEqual(fs.readdirSync(cwd).filter((f) => !['ca', 'k', 'k.pub', 'lonely.pub'].includes(f)), [], 'no files written');
});
