// tctl auth rotate with no flags on a terminal: a guided walk through one rotation step, driven
// here through a real pseudo-terminal; off a terminal the same command stays a usage error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEY, inPty, plain } from '../helpers/pty.js';
import { TCTL, initialisedCa } from '../helpers/run.js';

test('guided rotation on a terminal: which CA, its phase, what now, confirm; every step of a manual rotation', () => {
  const { dataDir, cwd, run } = initialisedCa();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, NO_COLOR: '1', TERM: 'xterm', TCTL_DATA_DIR: dataDir };
  const rotate = (steps: Array<[string, string]>) => inPty([process.execPath, TCTL, 'auth', 'rotate'], steps, { cwd, env });
  const phase = (t: 'user' | 'host') => JSON.parse(run(['status', '--json']).stdout).authorities[t].rotation.phase;

  // host is the second CA in the list: one arrow down.
  const start = rotate([
    ['Rotate which certificate authority\\?.*user CA: at rest \\(standby\\).*host CA: at rest', KEY.down + KEY.enter],
    ['The host CA is in phase "standby".*What now\\?.*start a manual rotation.*start an automatic rotation.*nothing for now', KEY.enter],
    ['Move the host CA from "standby" to "init"\\?', 'y' + KEY.enter],
  ]);
  const out = plain(start.output);
  assert.equal(start.failed, null, out);
  assert.equal(start.status, 0, out);
  assert.match(out, /Updated rotation phase to "init"/);
  assert.match(out, /Next steps for the host CA \(phase "init"\)/);
  assert.equal(phase('host'), 'init');
  assert.equal(phase('user'), 'standby');

  for (const [from, to] of [['init', 'update_clients'], ['update_clients', 'update_servers']]) {
    const r = rotate([
      [`host CA: rotating: phase ${from}`, KEY.down + KEY.enter],
      [`The host CA is in phase "${from}".*What now\\?`, KEY.enter],
      [`Move the host CA from "${from}" to "${to}"\\?`, 'y' + KEY.enter],
    ]);
    assert.equal(r.status, 0, plain(r.output));
    assert.equal(phase('host'), to);
  }

  // Dropping a key: the confirmation names the cost and defaults to no.
  run(['auth', 'sign', '--host=web.example.com']);
  const declined = rotate([
    ['host CA: rotating: phase update_servers', KEY.down + KEY.enter],
    ['What now\\?', KEY.enter],
    ['Completing the rotation drops the old host CA key: 0 live certificates .*Move the host CA from "update_servers" to "standby"\\? \\(y/N\\)', KEY.enter],
  ]);
  assert.equal(declined.status, 1, plain(declined.output));
  assert.match(plain(declined.output), /tctl: error: not rotating the host CA/);
  assert.equal(phase('host'), 'update_servers');

  // "nothing for now" changes nothing; Ctrl-C cancels.
  const nothing = rotate([
    ['Rotate which', KEY.enter],
    ['What now\\?', KEY.down + KEY.down + KEY.enter],
  ]);
  assert.equal(nothing.status, 1, plain(nothing.output));
  assert.match(plain(nothing.output), /not rotating the user CA/);
  const cancelled = rotate([['Rotate which', KEY.ctrlC]]);
  assert.equal(cancelled.status, 1, plain(cancelled.output));
  assert.match(plain(cancelled.output), /tctl: error: cancelled; nothing was changed/);
  assert.equal(phase('user'), 'standby');
});

test('auth rotate with no flags off a terminal stays a usage error', () => {
  const { run } = initialisedCa();
  const r = run(['auth', 'rotate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^tctl: error: --type must be specified/);
  assert.equal(r.stdout, '');
});
