// The clock's rotation steps seen through the CLI, and what happens to retired CA private keys.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

const HOUR = 3600_000;
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const auditLines = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** Moves the user CA's auto rotation into `phase`, started `hoursAgo` hours ago (grace period 3h: a step an hour). */
function backdate(dataDir: string, phase: string, hoursAgo: number): void {
  const file = path.join(dataDir, 'state.json');
  const state = readJson(file);
  const started = Date.now() - hoursAgo * HOUR;
  const r = state.authorities.user.rotation;
  r.phase = phase;
  r.startedAt = new Date(started).toISOString();
  r.phaseSince = new Date(started + { init: 0, update_clients: 1, update_servers: 2 }[phase as 'init']! * HOUR).toISOString();
  // The user CA's TLS key rotates in lockstep: state.json must say the same of both.
  if (state.tls?.user) state.tls.user.rotation = { ...r };
  fs.writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
}

test('any command that observes a due schedule makes every due step and audits each', () => {
  const order = ['init', 'update_clients', 'update_servers', 'standby'];
  // [phase the command first sees, hours since the start, the observing command]
  const cases: Array<[string, number, string[]]> = [
    ['init', 3.5, ['status']],
    ['init', 1.5, ['auth', 'export', '--type=user']],
    ['init', 2.5, ['auth', 'sign', '--user=a']],
    ['update_clients', 3.5, ['auth', 'sign', '--user=a']],
    ['update_clients', 2.5, ['status', '--json']],
    ['update_servers', 3.5, ['status']],
    ['update_servers', 3.5, ['auth', 'sign', '--user=a']],
    ['update_servers', 3.5, ['auth', 'export', '--type=user']],
    ['update_servers', 3.5, ['auth', 'rotate', '--type=host', '--manual', '--phase=init']],
  ];
  for (const [first, hours, command] of cases) {
    const { run, dataDir } = initialisedCa();
    assert.equal(run(['auth', 'rotate', '--type=user', '--grace-period=3h']).status, 0);
    const before = readJson(path.join(dataDir, 'state.json')).authorities.user;
    backdate(dataDir, first, hours);
    const seen = auditLines(dataDir).length;
    const r = run(command);
    const label = `${first} +${hours}h, ${command.join(' ')}`;
    assert.equal(r.status, 0, `${label}: ${r.stderr}`);
    const expected = order.slice(order.indexOf(first) + 1, Math.floor(hours) + 1);
    const after = readJson(path.join(dataDir, 'state.json')).authorities.user;
    assert.equal(after.rotation.phase, expected.at(-1), label);
    const steps = auditLines(dataDir).slice(seen).filter((e) => e.what.by === 'schedule');
    assert.deepEqual(steps.map((e) => `${e.what.from}>${e.what.to}`), expected.map((to, i) => `${i === 0 ? first : expected[i - 1]}>${to}`), label);
    for (const e of steps) assert.deepEqual([e.command, e.result, e.what.type, e.what.mode], ['auth rotate', 'ok', 'user', 'auto']);
    const verify = run(['audit', 'verify']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    if (after.rotation.phase === 'standby') {
      assert.equal(after.current.fingerprint, before.next.fingerprint);
      assert.equal(fs.existsSync(path.join(dataDir, before.current.file)), false, `${label}: retired key file removed`);
      assert.deepEqual(steps.at(-1).what.removedKeyFiles, [{ fingerprint: before.current.fingerprint, file: before.current.file, removed: true }]);
      assert.equal(after.retired[0].publicKey, before.current.publicKey);
      assert.equal(after.retired[0].file, undefined);
    }
  }
});

test('retired and rolled-back CA keys: private file removed, public key still identifies old certificates', () => {
  const { run, dataDir, cwd } = initialisedCa();
  const state = () => readJson(path.join(dataDir, 'state.json'));
  const ok = (args: string[]) => {
    const r = run(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const first = state().authorities.user.current;
  ok(['auth', 'sign', '--user=old']);

  // A rotation that completes: the first key is retired.
  for (const p of ['init', 'update_clients']) ok(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`]);
  const second = state().authorities.user.next;
  ok(['auth', 'sign', '--user=mid']);
  for (const p of ['update_servers', 'standby']) ok(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`, '--yes']);
  assert.equal(fs.existsSync(path.join(dataDir, first.file)), false, 'retired private key removed');
  assert.ok(fs.existsSync(path.join(dataDir, second.file)));
  assert.deepEqual(state().authorities.user.retired, [{ keyType: first.keyType, publicKey: first.publicKey, fingerprint: first.fingerprint, createdAt: first.createdAt }]);
  const done = auditLines(dataDir).at(-1);
  assert.deepEqual(done.what.removedKeyFiles, [{ fingerprint: first.fingerprint, file: first.file, removed: true }]);

  // A rotation rolled back: the key that never took over is retired.
  for (const p of ['init', 'update_clients']) ok(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`]);
  const third = state().authorities.user.next;
  ok(['auth', 'sign', '--user=rolled']);
  for (const p of ['rollback', 'standby']) ok(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`, '--yes']);
  assert.equal(fs.existsSync(path.join(dataDir, third.file)), false, 'rolled-back private key removed');
  assert.equal(state().authorities.user.current.fingerprint, second.fingerprint);
  assert.deepEqual(state().authorities.user.retired.map((k: { fingerprint: string }) => k.fingerprint), [first.fingerprint, third.fingerprint]);
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'keys')).filter((f) => !f.startsWith('tls-')).sort(), [path.basename(state().authorities.host.current.file), path.basename(second.file)].sort());

  // Status, export and signing never need a retired private key.
  ok(['status']);
  assert.equal(ok(['auth', 'export', '--type=user']).stdout.trim().split('\n').length, 1);
  ok(['auth', 'sign', '--user=new']);

  // Old certificates are still identified: inspect names the retired CA, ls lists them, revoke and the KRL reach them.
  const inspect = run(['auth', 'inspect', '--json', 'old-cert.pub', 'rolled-cert.pub', 'mid-cert.pub']);
  const found = JSON.parse(inspect.stdout) as Array<{ findings: Array<{ code: string; message: string }> }>;
  for (const [i, fp] of [[0, first.fingerprint], [1, third.fingerprint]] as const) {
    assert.deepEqual(found[i]!.findings.map((f) => f.code), ['untrusted-ca']);
    assert.ok(found[i]!.findings[0]!.message.includes(`signed by ${fp}, a user CA key of this cluster`), found[i]!.findings[0]!.message);
  }
  assert.deepEqual(found[2]!.findings, [], 'the current key signed mid');
  const ls = JSON.parse(ok(['auth', 'ls', '--json']).stdout) as Array<{ keyId: string; caFingerprint: string }>;
  assert.deepEqual(ls.map((r) => [r.keyId, r.caFingerprint]), [['old', first.fingerprint], ['mid', second.fingerprint], ['rolled', third.fingerprint], ['new', second.fingerprint]]);
  ok(['auth', 'revoke', '--cert=old-cert.pub']);
  ok(['auth', 'revoke', '--cert=rolled-cert.pub']);
  ok(['auth', 'export', '--type=krl', '-o', 'revoked.krl']);
  const q = openssh('ssh-keygen', ['-Q', '-f', 'revoked.krl', 'old-cert.pub', 'rolled-cert.pub', 'new-cert.pub'], { cwd });
  assert.match(q.stdout, /old-cert\.pub \(old\): REVOKED/);
  assert.match(q.stdout, /rolled-cert\.pub \(rolled\): REVOKED/);
  assert.match(q.stdout, /new-cert\.pub \(new\): ok/);
  assert.equal(run(['audit', 'verify']).status, 0);
});

test('a data dir from before this rule: retired records naming a file lose it at the next rotation step', () => {
  const { run, dataDir } = initialisedCa();
  const file = path.join(dataDir, 'state.json');
  assert.equal(run(['auth', 'rotate', '--type=user', '--grace-period=0']).status, 0);
  // What an older tctl left: the retired record names its private key file, which still exists.
  const s = readJson(file);
  const retired = s.authorities.user.retired[0];
  retired.file = 'keys/legacy-retired.pem';
  fs.writeFileSync(path.join(dataDir, retired.file), 'an old private key\n', { mode: 0o600 });
  fs.writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
  assert.equal(run(['status']).status, 0, 'loads as before');
  assert.equal(run(['auth', 'sign', '--user=a']).status, 0);
  assert.ok(fs.existsSync(path.join(dataDir, retired.file)), 'nothing is removed outside a rotation step');
  const r = run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.existsSync(path.join(dataDir, retired.file)), false);
  assert.equal(readJson(file).authorities.user.retired[0].file, undefined);
  const entry = auditLines(dataDir).at(-1);
  assert.deepEqual(entry.what.removedKeyFiles, [{ fingerprint: retired.fingerprint, file: retired.file, removed: true }]);
  assert.equal(run(['audit', 'verify']).status, 0);
});
