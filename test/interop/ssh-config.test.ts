// `tctl ssh config`: the printed install commands work as written, and what they configure is what
// sshd (-t, -T) and ssh (-G, a real login) read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { LOGIN, ok, sshdFor } from '../helpers/interop.js';
import { initialisedCa, openssh } from '../helpers/run.js';
import { interopSkip, requireOpenSsh } from '../helpers/sshd.js';

/** Runs the "#   tctl ..." install lines of a snippet through a shell, as a reader pasting them would. */
function runInstallLines(snippet: string, cwd: string, env: Record<string, string>, replace: Record<string, string> = {}): string[] {
  const commands = snippet.split('\n').filter((l) => l.startsWith('#   tctl ')).map((l) => l.slice(4));
  assert.ok(commands.length >= 2, snippet);
  for (let c of commands) {
    for (const [from, to] of Object.entries(replace)) c = c.split(from).join(to);
    const r = spawnSync('bash', ['-c', c], { cwd, env: { ...env, PATH: `${path.join(cwd, 'bin')}:${process.env.PATH}` }, encoding: 'utf8' });
    assert.equal(r.status, 0, `${c}\n${r.stderr}`);
  }
  return commands;
}

function linkTctl(cwd: string): void {
  fs.mkdirSync(path.join(cwd, 'bin'), { recursive: true });
  const tctlBin = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'bin', 'tctl');
  fs.writeFileSync(path.join(cwd, 'bin', 'tctl'), `#!/bin/sh\nexec "${process.execPath}" "${tctlBin}" "$@"\n`, { mode: 0o755 });
}

test('ssh config --host: the install lines work and sshd reads the result', { skip: interopSkip() }, () => {
  const tools = requireOpenSsh();
  const { cwd, dataDir, run } = initialisedCa();
  linkTctl(cwd);
  const etc = path.join(cwd, 'etc');
  fs.mkdirSync(etc);
  const hostKey = path.join(etc, 'ssh_host_ed25519_key');
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]), 'ssh-keygen');
  const snippet = ok(run(['ssh', 'config', '--host', `--user-ca-keys=${etc}/user_ca.pub`, `--revoked-keys=${etc}/revoked.krl`, `--host-key=${hostKey}`]), 'ssh config').stdout;
  runInstallLines(snippet, cwd, { TCTL_DATA_DIR: dataDir, HOME: cwd }, { 'HOSTNAME.example.com': 'node.example.com' });
  for (const f of ['user_ca.pub', 'revoked.krl', 'ssh_host_ed25519_key-cert.pub']) assert.ok(fs.existsSync(path.join(etc, f)), f);
  const config = path.join(cwd, 'sshd_config');
  fs.writeFileSync(config, `ListenAddress 127.0.0.1\nPort 2\nPidFile ${cwd}/sshd.pid\n${snippet}`);
  const check = spawnSync(tools.sshd, ['-t', '-f', config], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const effective = spawnSync(tools.sshd, ['-T', '-f', config], { encoding: 'utf8' }).stdout;
  assert.match(effective, new RegExp(`^trustedusercakeys ${etc}/user_ca.pub$`, 'm'));
  assert.match(effective, new RegExp(`^revokedkeys ${etc}/revoked.krl$`, 'm'));
  assert.match(effective, new RegExp(`^hostcertificate ${hostKey}-cert.pub$`, 'm'));
  assert.match(effective, new RegExp(`^hostkey ${hostKey}$`, 'm'));
});

test('ssh config --user: ssh -G reads the block and a login through it verifies the host certificate', { skip: interopSkip() }, async (t) => {
  const { cwd, dataDir, run } = initialisedCa();
  linkTctl(cwd);
  const sshDir = path.join(cwd, '.ssh');
  fs.mkdirSync(sshDir, { mode: 0o700 });
  // ssh takes ~ from the password database, not $HOME, so the test names its own paths.
  const snippet = ok(
    run(['ssh', 'config', '--user', `--identity-file=${sshDir}/joe`, `--known-hosts=${sshDir}/known_hosts.example.com`, `--revoked-host-keys=${sshDir}/revoked.example.com.krl`]),
    'ssh config',
  ).stdout;
  assert.match(snippet, /^Host example\.com \*\.example\.com$/m);
  runInstallLines(snippet, cwd, { TCTL_DATA_DIR: dataDir, HOME: cwd });
  ok(run(['auth', 'sign', `--user=${LOGIN}`, `--out=${sshDir}/joe`, '--ttl=1h']), 'sign user');
  const config = path.join(sshDir, 'config');
  fs.writeFileSync(config, snippet, { mode: 0o600 });
  const g = spawnSync('ssh', ['-G', '-F', config, 'node.example.com'], { encoding: 'utf8', env: { ...process.env, HOME: cwd } });
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, new RegExp(`^userknownhostsfile ${sshDir}/known_hosts.example.com$`, 'm'));
  assert.match(g.stdout, /^stricthostkeychecking true$/m);
  assert.match(g.stdout, new RegExp(`^revokedhostkeys ${sshDir}/revoked.example.com.krl$`, 'm'));
  assert.match(g.stdout, new RegExp(`^identityfile ${sshDir}/joe$`, 'm'));
  // A host outside the patterns gets none of it.
  const other = spawnSync('ssh', ['-G', '-F', config, 'other.org'], { encoding: 'utf8', env: { ...process.env, HOME: cwd } }).stdout;
  assert.doesNotMatch(other, /known_hosts\.example\.com/);

  const srv = path.join(cwd, 'srv');
  fs.mkdirSync(srv);
  ok(run(['auth', 'sign', '--host=node.example.com', `--out=${srv}/host`]), 'sign host');
  ok(run(['auth', 'export', '--type=user', `-o`, `${srv}/user_ca.pub`]), 'export user');
  const sshd = await sshdFor(t, { dir: srv, hostKeys: [{ key: `${srv}/host`, certificate: `${srv}/host-cert.pub` }], trustedUserCaKeys: `${srv}/user_ca.pub` });
  const login = (extra: string[]) =>
    spawnSync('ssh', ['-F', config, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'Hostname=127.0.0.1', '-o', 'HostKeyAlias=node.example.com', '-p', String(sshd.port), ...extra, `${LOGIN}@node.example.com`, 'echo ok'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: cwd },
      timeout: 20_000,
    });
  const r = login([]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
  // Revoke the host certificate and re-export the client KRL: the same block now refuses the host.
  ok(run(['auth', 'revoke', `--cert=${srv}/host-cert.pub`]), 'revoke host');
  ok(run(['auth', 'export', '--type=krl', '-o', `${sshDir}/revoked.example.com.krl`]), 'export krl');
  const refused = login([]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /revoked|REVOKED|Host key verification failed/);
});

test('ssh config --user: the default KRL path is absolute (ssh does not expand ~ in RevokedHostKeys)', () => {
  const { cwd, run } = initialisedCa();
  const out = ok(run(['ssh', 'config', '--user']), 'ssh config').stdout;
  assert.match(out, new RegExp(`^    RevokedHostKeys ${cwd}/\\.ssh/revoked\\.example\\.com\\.krl$`, 'm'));
  assert.match(out, /^    UserKnownHostsFile ~\/\.ssh\/known_hosts\.example\.com$/m);
});

test('ssh config: usage errors', () => {
  const { run } = initialisedCa();
  for (const [args, re] of [
    [['ssh', 'config'], /exactly one of --host .* or --user/],
    [['ssh', 'config', '--host', '--user'], /exactly one of --host/],
    [['ssh', 'config', '--host', '--known-hosts=/x'], /--known-hosts applies to --user/],
    [['ssh', 'config', '--user', '--host-key=/x'], /--host-key applies to --host/],
    [['ssh', 'config', '--host', '--host-key=/etc/ssh/my key'], /must not contain spaces/],
    [['ssh', 'config', '--user', '--host-patterns=a, b'], /invalid --host-patterns/],
    [['ssh', 'config', '--user', '--revoked-host-keys=~/.ssh/r.krl'], /ssh does not expand it in RevokedHostKeys/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
});
