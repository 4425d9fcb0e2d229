// What a user certificate permits: --permit (exactly these), --no-* (all but these), and the
// force-command default (a pty only), checked with ssh-keygen -L; the refusals exit 2.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

const ALL = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'];
/** The extensions ssh-keygen -L lists, in file order. */
function extensions(file: string): string[] {
  const l = openssh('ssh-keygen', ['-L', '-f', file]);
  assert.equal(l.status, 0, l.stderr);
  const block = /Extensions:\s*\n([\s\S]*)$/.exec(l.stdout)?.[1] ?? '';
  return block.split('\n').map((x) => x.trim().split(' ')[0]!).filter(Boolean);
}
const permits = (file: string) => extensions(file).filter((e) => e.startsWith('permit-'));

test('--permit gives exactly the listed permissions, --no-* takes them away, sorted and unique', () => {
  const { run, cwd } = initialisedCa();
  const cases: Array<[string[], string[]]> = [
    [[], ALL],
    [['--permit=pty,port-forwarding'], ['permit-port-forwarding', 'permit-pty']],
    [['--permit=port-forwarding,pty,pty,port-forwarding'], ['permit-port-forwarding', 'permit-pty']],
    [['--permit=x11-forwarding'], ['permit-X11-forwarding']],
    [['--permit=none'], []],
    [['--no-port-forwarding'], ALL.filter((e) => e !== 'permit-port-forwarding')],
    [['--no-port-forwarding', '--no-agent-forwarding', '--no-x11-forwarding', '--no-user-rc'], ['permit-pty']],
    [['--no-pty'], ALL.filter((e) => e !== 'permit-pty')],
    [['--permit=pty,agent-forwarding', '--no-user-rc'], ['permit-agent-forwarding', 'permit-pty']],
  ];
  for (const [i, [flags, want]] of cases.entries()) {
    const r = run(['auth', 'sign', '--user=joe', `--out=k${i}`, ...flags]);
    assert.equal(r.status, 0, `${flags.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${flags.join(' ')}: no note without --force-command`);
    const ext = extensions(path.join(cwd, `k${i}-cert.pub`));
    assert.deepEqual(ext.filter((e) => e.startsWith('permit-')), want, flags.join(' '));
    // ssh-keygen prints them in the order of the file: strictly increasing bytewise, Teleport's after.
    assert.deepEqual(ext, [...new Set(ext)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), flags.join(' '));
    assert.ok(ext.includes('teleport-roles'));
  }
});

test('--force-command drops forwarding and user-rc unless --permit asks, and says so on stderr', () => {
  const { run, cwd } = initialisedCa();
  const r = run(['auth', 'sign', '--user=ci', '--out=ci', '--force-command=uptime', '--source-address=10.0.0.0/8']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(permits(path.join(cwd, 'ci-cert.pub')), ['permit-pty']);
  assert.match(r.stderr, /^tctl: note: a --force-command certificate gets no agent-forwarding, port-forwarding, user-rc, x11-forwarding unless --permit lists them .*this one permits pty\n$/);
  assert.equal(r.stdout, 'The credentials have been written to ci, ci.pub, ci-cert.pub\n', 'stdout unchanged: the note is on stderr');

  const asked = run(['auth', 'sign', '--user=ci', '--out=ci2', '--force-command=uptime', '--permit=pty,port-forwarding']);
  assert.equal(asked.status, 0, asked.stderr);
  assert.equal(asked.stderr, '', 'asked for explicitly: nothing to say');
  assert.deepEqual(permits(path.join(cwd, 'ci2-cert.pub')), ['permit-port-forwarding', 'permit-pty']);

  const bare = run(['auth', 'sign', '--user=ci', '--out=ci3', '--force-command=uptime', '--no-pty']);
  assert.equal(bare.status, 0, bare.stderr);
  assert.deepEqual(permits(path.join(cwd, 'ci3-cert.pub')), []);
  assert.match(bare.stderr, /this one permits nothing\n$/);
});

test('--permit and --no-* refusals: unknown names, contradictions, host certificates, TLS, --batch', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const cases: Array<[string[], RegExp]> = [
    [['--user=joe', '--permit=pty,tunnel'], /invalid --permit "tunnel"; allowed values: "agent-forwarding", "port-forwarding", "pty", "user-rc", "x11-forwarding", or none/],
    [['--user=joe', '--permit=permit-pty'], /invalid --permit "permit-pty"/],
    [['--user=joe', '--permit=PTY'], /invalid --permit "PTY"/],
    [['--user=joe', '--permit='], /--permit is empty/],
    [['--user=joe', '--permit=none,pty'], /--permit: "none" cannot be combined/],
    [['--user=joe', '--permit=pty', '--no-pty'], /--permit lists "pty" and --no-pty refuses it/],
    [['--host=web.example.com', '--permit=pty'], /--permit applies to --user/],
    [['--host=web.example.com', '--no-port-forwarding'], /--no-port-forwarding applies to --user/],
    // Critical options on a host certificate make ssh refuse it: refused, never silently dropped.
    [['--host=web.example.com', '--force-command=uptime'], /--force-command and --source-address apply to user certificates only/],
    [['--host=web.example.com', '--source-address=10.0.0.0/8'], /--force-command and --source-address apply to user certificates only/],
    [['--format=db', '--user=alice', '--permit=pty'], /--permit does not apply to --format=db/],
    [['--format=tls', '--host=a.example.com', '--no-pty'], /--no-pty does not apply to --format=tls/],
    [['--batch=x.jsonl', '--out-dir=c', '--no-agent-forwarding'], /--no-agent-forwarding cannot be used with --batch/],
    [['--batch=x.jsonl', '--out-dir=c', '--permit=pty'], /--permit cannot be used with --batch/],
  ];
  for (const [args, re] of cases) {
    const r = run(['auth', 'sign', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^tctl: error: ${re.source}`), args.join(' '));
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial, 'no serial spent');
  assert.deepEqual(fs.readdirSync(cwd).filter((f) => f !== 'ca'), []);
});

test('batch "permit": a list, [] or "none" for none; default for force_command; bad values name the line', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  const key = fs.readFileSync(path.join(cwd, 'k.pub'), 'utf8').trim();
  const lines = [
    { user: 'a', public_key: key, permit: ['pty', 'port-forwarding'] },
    { user: 'b', public_key: key, permit: 'pty,agent-forwarding' },
    { user: 'c', public_key: key, permit: [] },
    { user: 'd', public_key: key, permit: 'none' },
    { user: 'e', public_key: key, force_command: 'uptime' },
    { user: 'f', public_key: key, force_command: 'uptime', permit: ['port-forwarding'] },
    { user: 'g', public_key: key },
  ];
  fs.writeFileSync(path.join(cwd, 'req.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^tctl: note: 1 force_command request without "permit"/);
  const got = Object.fromEntries(lines.map((l) => [l.user, permits(path.join(cwd, 'certs', `${l.user}-cert.pub`))]));
  assert.deepEqual(got, {
    a: ['permit-port-forwarding', 'permit-pty'],
    b: ['permit-agent-forwarding', 'permit-pty'],
    c: [],
    d: [],
    e: ['permit-pty'],
    f: ['permit-port-forwarding'],
    g: ALL,
  });

  const bad = [
    { user: 'x', public_key: key, permit: ['tunnel'] },
    { host: 'h.example.com', public_key: key, permit: ['pty'] },
    { user: 'y', public_key: key, permit: 7 },
    { user: 'z', public_key: key, permit: ['pty,port-forwarding'] },
  ];
  fs.writeFileSync(path.join(cwd, 'bad.jsonl'), bad.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const b = run(['auth', 'sign', '--batch=bad.jsonl', '--out-dir=bad']);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad\.jsonl:1: invalid "permit" "tunnel"/);
  assert.match(b.stderr, /bad\.jsonl:2: .*"permit" apply to user requests only/);
  assert.match(b.stderr, /bad\.jsonl:3: "permit" must be a non-empty string or array of strings/);
  assert.match(b.stderr, /bad\.jsonl:4: invalid "permit" entry "pty,port-forwarding": must not contain ","/);
  assert.equal(fs.existsSync(path.join(cwd, 'bad')), false);
});

test('auth inspect warns about a force-command certificate that still permits forwarding', () => {
  const { run, cwd } = initialisedCa();
  // ssh-keygen's own defaults keep every permit-* next to force-command: the README's old CI cert.
  const k = (n: string) => path.join(cwd, n);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k('kca')]).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k('u')]).status, 0);
  assert.equal(openssh('ssh-keygen', ['-q', '-s', k('kca'), '-I', 'ci', '-n', 'deploy', '-V', '+1h', '-O', 'force-command=uptime', k('u.pub')]).status, 0);
  const loose = run(['auth', 'inspect', 'u-cert.pub']);
  assert.match(loose.stdout, /^warning: force-command-permits-forwarding: force-command with "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-user-rc": .*"ssh -N -L"/m);
  const json = JSON.parse(run(['auth', 'inspect', '--json', 'u-cert.pub']).stdout);
  assert.ok(json[0].findings.some((f: { code: string; level: string }) => f.code === 'force-command-permits-forwarding' && f.level === 'warning'));

  // Only agent forwarding left: still a warning, naming just that one.
  assert.equal(openssh('ssh-keygen', ['-q', '-s', k('kca'), '-I', 'ci', '-n', 'deploy', '-V', '+1h', '-O', 'clear', '-O', 'permit-agent-forwarding', '-O', 'force-command=uptime', k('u.pub')]).status, 0);
  assert.match(run(['auth', 'inspect', 'u-cert.pub']).stdout, /^warning: force-command-permits-forwarding: force-command with "permit-agent-forwarding": /m);

  // tctl's own force-command cert, and a pty-only ssh-keygen one: no such warning.
  assert.equal(run(['auth', 'sign', '--user=ci', '--out=ours', '--force-command=uptime']).status, 0);
  const ours = run(['auth', 'inspect', 'ours-cert.pub']);
  assert.equal(ours.status, 0, ours.stderr);
  assert.doesNotMatch(ours.stdout, /force-command-permits-forwarding/);
  assert.equal(openssh('ssh-keygen', ['-q', '-s', k('kca'), '-I', 'ci', '-n', 'deploy', '-V', '+1h', '-O', 'clear', '-O', 'permit-pty', '-O', 'force-command=uptime', k('u.pub')]).status, 0);
  assert.doesNotMatch(run(['auth', 'inspect', 'u-cert.pub']).stdout, /force-command-permits-forwarding/);
});
