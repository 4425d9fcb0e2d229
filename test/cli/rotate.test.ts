import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { TCTL, initialisedCa, openssh } from '../helpers/run.js';

const lastIssued = (dataDir: string) => JSON.parse(fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').at(-1)!);

test('manual rotation through every phase: exports, signer, status', () => {
  const { run, dataDir, cwd } = initialisedCa();
  const status = () => JSON.parse(run(['status', '--json']).stdout).authorities.user;
  const oldFp: string = status().fingerprint;
  const userLines = () => run(['auth', 'export', '--type=user']).stdout.trim().split('\n');

  const init = run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']);
  assert.equal(init.status, 0, init.stderr);
  assert.equal(init.stdout, `Updated rotation phase to "init". To check status use 'tctl status'\n`);
  assert.match(init.stderr, /TrustedUserCAKeys/);
  const s1 = status();
  assert.equal(s1.rotation.phase, 'init');
  assert.equal(s1.fingerprint, oldFp, 'old key still signs in init');
  assert.equal(s1.trusted.length, 2);
  assert.equal(userLines().length, 2, 'export lists both keys');
  assert.equal(run(['auth', 'export', '--type=host']).stdout.trim().split('\n').length, 1, 'host CA untouched');
  run(['auth', 'sign', '--user=a']);
  assert.equal(lastIssued(dataDir).caFingerprint, oldFp);

  assert.equal(run(['auth', 'rotate', '--type', 'openssh', '--manual', '--phase', 'update_clients']).status, 0);
  const newFp: string = status().fingerprint;
  assert.notEqual(newFp, oldFp);
  run(['auth', 'sign', '--user=b']);
  assert.equal(lastIssued(dataDir).caFingerprint, newFp);
  assert.match(openssh('ssh-keygen', ['-L', '-f', path.join(cwd, 'b-cert.pub')]).stdout, new RegExp(`Signing CA: ED25519 ${newFp.replace(/[+/]/g, '\\$&')}`));
  assert.equal(userLines().length, 2);

  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=update_servers']).status, 0);
  assert.equal(userLines().length, 2);
  const done = run(['auth', 'rotate', '--type=user', '--manual', '--phase=standby']);
  assert.equal(done.status, 0, done.stderr);
  assert.deepEqual(status().trusted.map((t: { fingerprint: string }) => t.fingerprint), [newFp]);
  assert.equal(userLines().length, 1);
  assert.ok(run(['auth', 'export', '--type=user', `--fingerprint=${oldFp}`]).stdout === '', 'old key retired from exports');
});

test('invalid transitions and bad flags fail without changing state', () => {
  const { run, dataDir } = initialisedCa();
  const state = () => fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8');
  const before = state();
  const cases: Array<[string[], number, RegExp]> = [
    [['--type=user', '--manual', '--phase=update_clients'], 1, /cannot move the rotation from "standby" to "update_clients"; from "standby" the next phase is "init"/],
    [['--type=user', '--manual', '--phase=standby'], 1, /the next phase is "init"/],
    [['--type=all'], 2, /invalid --type "all"; allowed values: "user", "host", "openssh"/],
    [['--type=USER'], 2, /invalid --type "USER"/],
    [[], 2, /--type must be specified/],
    [['--type=user', '--manual'], 2, /--manual needs --phase/],
    [['--type=user', '--phase=init'], 2, /--phase needs --manual/],
    [['--type=user', '--manual', '--phase=done'], 2, /invalid --phase "done"/],
    [['--type=user', '--grace-period=soon'], 2, /invalid --grace-period/],
    [['--type=user', '--grace-period='], 2, /--grace-period is empty/],
  ];
  for (const [args, code, re] of cases) {
    const r = run(['auth', 'rotate', ...args]);
    assert.equal(r.status, code, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(state(), before);
  }
  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']).status, 0);
  const mid = state();
  const again = run(['auth', 'rotate', '--type=user']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /cannot start a rotation of the user CA while another is in progress/);
  const manualAgain = run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']);
  assert.equal(manualAgain.status, 1);
  assert.match(manualAgain.stderr, /^tctl: error: cannot start a rotation of the user CA while another is in progress \(phase "init"\)$/m);
  assert.equal(state(), mid);
});

test('auto mode: status shows the schedule; grace period 0 completes at once', () => {
  const { run } = initialisedCa();
  const r = run(['auth', 'rotate', '--type=host', '--grace-period=30h']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `Initiated certificate authority rotation. To check status use 'tctl status'\n`);
  assert.match(r.stderr, /known_hosts/);
  const host = JSON.parse(run(['status', '--json']).stdout).authorities.host;
  assert.equal(host.rotation.phase, 'init');
  assert.equal(host.rotation.mode, 'auto');
  assert.equal(host.rotation.gracePeriod, '1d6h');
  assert.equal(host.rotation.nextPhase, 'update_clients');
  assert.equal(Date.parse(host.rotation.nextPhaseAt) - Date.parse(host.rotation.startedAt), 10 * 3600_000);
  assert.match(run(['status']).stdout, /rotation: init \(auto\).*\n\s+next: update_clients at /);

  const before = JSON.parse(run(['status', '--json']).stdout).authorities.user.fingerprint;
  const now = run(['auth', 'rotate', '--type=user', '--grace-period=0']);
  assert.equal(now.status, 0, now.stderr);
  const user = JSON.parse(run(['status', '--json']).stdout).authorities.user;
  assert.notEqual(user.fingerprint, before);
  assert.equal(user.trusted.length, 1);
  assert.equal(user.rotation.phase, 'standby');
});

test('on a terminal: rotate asks which CA, and asks before dropping a key; --yes skips', (t) => {
  if (spawnSync('script', ['--version']).error) return t.skip('script(1) not installed');
  const { dataDir, cwd, run } = initialisedCa();
  const inTty = (args: string, answer: string) =>
    spawnSync('script', ['-qec', `"${process.execPath}" "${TCTL}" auth rotate ${args} --data-dir "${dataDir}"`, '/dev/null'], {
      cwd,
      input: answer,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' },
    });
  const phase = (t: 'user' | 'host') => JSON.parse(run(['status', '--json']).stdout).authorities[t].rotation.phase;
  const picked = inTty('--manual --phase=init', 'host\n');
  assert.equal(picked.status, 0, picked.stdout);
  assert.match(picked.stdout, /Rotate which certificate authority\? \[user\/host\/both\]/);
  assert.equal(phase('host'), 'init');
  assert.equal(phase('user'), 'standby');
  for (const p of ['update_clients', 'update_servers']) assert.equal(run(['auth', 'rotate', '--type=host', '--manual', `--phase=${p}`]).status, 0);
  const no = inTty('--type=host --manual --phase=standby', 'n\n');
  assert.equal(no.status, 1);
  assert.match(no.stdout, /drops the old host CA key.*Continue\? \[y\/N\]/s);
  assert.match(no.stdout, /tctl: error: not rotating the host CA/);
  assert.equal(phase('host'), 'update_servers');
  const yes = inTty('--type=host --manual --phase=standby --yes', '');
  assert.equal(yes.status, 0, yes.stdout);
  assert.doesNotMatch(yes.stdout, /Continue\?/);
  assert.equal(phase('host'), 'standby');
});

test('a binary KRL is never written to a terminal', (t) => {
  if (spawnSync('script', ['--version']).error) return t.skip('script(1) not installed');
  const { dataDir, cwd } = initialisedCa();
  const r = spawnSync('script', ['-qec', `"${process.execPath}" "${TCTL}" auth export --type=krl --data-dir "${dataDir}"`, '/dev/null'], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' } });
  assert.equal(r.status, 2);
  assert.match(r.stdout, /tctl: error: refusing to write a binary KRL to a terminal/);
  assert.doesNotMatch(r.stdout, /SSHKRL/);
});
