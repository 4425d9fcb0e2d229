// What a certificate permits, as a real sshd enforces it: a default cert opens an `ssh -N -L`
// tunnel, a force-command cert (which now drops forwarding) has the forward refused, and
// --permit=pty gives a pty and nothing else.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { LOGIN, ok, sshdFor } from '../helpers/interop.js';
import { initialisedCa } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshArgs, sshEnv, sshRun } from '../helpers/sshd.js';
import type { SshRunOptions } from '../helpers/sshd.js';

const skip = interopSkip();

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** Connects to port, returns what arrives before the peer closes (or 3 s pass); undefined if nothing listens. */
function readFrom(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(data), 3000);
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => done(data));
    sock.on('error', () => done(undefined));
  });
}

/**
 * Runs `ssh -N -L local:127.0.0.1:target` with this certificate, reads through the tunnel once it
 * listens, and returns what came through and what ssh said on stderr.
 */
async function tunnel(o: SshRunOptions, target: number): Promise<{ through: string; stderr: string }> {
  const { ssh } = requireOpenSsh();
  const local = await freePort();
  const child = spawn(ssh, sshArgs(o, ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:127.0.0.1:${target}`]), { env: sshEnv(o), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ssh -N -L exited ${child.exitCode} before listening:\n${stderr}`);
      const through = await readFrom(local);
      if (through !== undefined) {
        // ssh reports a refused channel just after it closes the local connection.
        await new Promise((r) => setTimeout(r, 300));
        return { through, stderr };
      }
      if (Date.now() > deadline) throw new Error(`ssh -N -L never listened on ${local}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

test('a real sshd: force-command certs get no tunnel, default certs do; --permit=pty gives only a pty', { skip }, async (t) => {
  requireOpenSsh();
  const { cwd, run } = initialisedCa();
  const file = (name: string) => path.join(cwd, name);
  fs.writeFileSync(file('user_ca.pub'), ok(run(['auth', 'export', '--type=user']), 'export user').stdout);
  fs.writeFileSync(file('known_hosts'), ok(run(['auth', 'export', '--type=host']), 'export host').stdout);
  ok(run(['auth', 'sign', '--host=sshd.example.com', '--out=host']), 'sign host');
  const sshd = await sshdFor(t, {
    dir: file('sshd'),
    hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }],
    trustedUserCaKeys: file('user_ca.pub'),
  });
  const target = net.createServer((s) => s.end('through the tunnel\n'));
  const targetPort = await listen(target);
  t.after(() => target.close());

  ok(run(['auth', 'sign', `--user=${LOGIN}`, '--out=plain']), 'sign default');
  const forced = ok(run(['auth', 'sign', `--user=${LOGIN}`, '--out=forced', '--force-command=echo forced']), 'sign force-command');
  assert.match(forced.stderr, /tctl: note: a --force-command certificate gets no .*port-forwarding/);
  ok(run(['auth', 'sign', `--user=${LOGIN}`, '--out=forced-fwd', '--force-command=echo forced', '--permit=pty,port-forwarding']), 'sign force-command with forwarding');
  ok(run(['auth', 'sign', `--user=${LOGIN}`, '--out=pty-only', '--permit=pty']), 'sign pty only');
  ok(run(['auth', 'sign', `--user=${LOGIN}`, '--out=no-pty', '--no-pty']), 'sign no pty');
  const as = (key: string): SshRunOptions => ({ port: sshd.port, key: file(key), knownHosts: file('known_hosts'), hostKeyAlias: 'sshd.example.com' });

  // The forced command is what runs, whatever is asked.
  assert.equal(sshRun({ ...as('forced'), command: 'echo asked' }).stdout, 'forced\n');

  const open = await tunnel(as('plain'), targetPort);
  assert.equal(open.through, 'through the tunnel\n', `default cert: the tunnel works\n${open.stderr}`);
  const refused = await tunnel(as('forced'), targetPort);
  assert.equal(refused.through, '', 'force-command cert: nothing comes through');
  assert.match(refused.stderr, /open failed: administratively prohibited/);
  const asked = await tunnel(as('forced-fwd'), targetPort);
  assert.equal(asked.through, 'through the tunnel\n', `--permit=pty,port-forwarding: asked for, so it works\n${asked.stderr}`);
  const ptyOnly = await tunnel(as('pty-only'), targetPort);
  assert.equal(ptyOnly.through, '', '--permit=pty: no forwarding');
  assert.match(ptyOnly.stderr, /administratively prohibited/);

  // -tt asks for a pty even without a local terminal; sshd grants it only with permit-pty.
  const withPty = sshRun({ ...as('pty-only'), options: ['RequestTTY=force'], command: 'tty' });
  assert.equal(withPty.status, 0, withPty.stderr);
  assert.match(withPty.stdout, /^\/dev\/pts\/\d+\r?\n$/);
  const withoutPty = sshRun({ ...as('no-pty'), options: ['RequestTTY=force'], command: 'tty' });
  // sshd refuses the pty; ssh, told to insist on one, gives up rather than run without it.
  assert.match(withoutPty.stderr, /PTY allocation request failed/);
  assert.equal(withoutPty.status, 255, JSON.stringify(withoutPty));
  assert.doesNotMatch(withoutPty.stdout, /\/dev\/pts/);
});
