// Rotation values that could brick the data dir: refused at the command line, and named (not
// acted on) when they are found in state.json, with rollback/standby still able to recover.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, tctl, tempDir } from '../helpers/run.js';

const read = (f: string) => fs.readFileSync(f);
/** stderr with the user's own quoted text removed: nothing tctl computed may say Infinity or NaN. */
const computed = (stderr: string) => stderr.replace(/"[^"]*"/g, '""');
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tctl: error:'));

const HOSTILE = [
  '8000000000h',
  `${'9'.repeat(400)}h`,
  `${'9'.repeat(40)}s`,
  '9007199254740993s',
  '99999999999h99999999999h',
  '1e400h',
  '1E400h',
  'Infinity',
  'NaNh',
  '0x7fffffffh',
  '87600h0.000000001s',
  '-1h',
  '1.5e3h',
  '0.0000000001s',
  `${'0.'.repeat(30)}h`,
  '1h'.repeat(40),
];
/** Over the grace-period cap, within the ttl cap. */
const GRACE_ONLY = ['8761h', '366d', '8760h1s', '31536000.5s1s'];

test('hostile --grace-period and --ttl values: exit 2, cap named, nothing written', () => {
  const { run, dataDir } = initialisedCa();
  const files = ['state.json', 'serial', 'audit.jsonl'].map((f) => path.join(dataDir, f));
  const before = files.map(read);
  const keys = fs.readdirSync(path.join(dataDir, 'keys')).sort();
  for (const v of [...HOSTILE, ...GRACE_ONLY]) {
    for (const args of [
      ['auth', 'rotate', '--type=user', `--grace-period=${v}`],
      ['auth', 'rotate', '--type=host', '--manual', '--phase=init', `--grace-period=${v}`],
      ...(GRACE_ONLY.includes(v) ? [] : [['auth', 'sign', '--user=a', `--ttl=${v}`]]),
    ]) {
      const r = run(args);
      const label = args.join(' ').slice(0, 120);
      assert.equal(r.status, 2, `${label}: ${r.stderr}`);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.doesNotMatch(computed(r.stderr), /Infinity|NaN|e\+\d|null/, label);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      if (/^[\d.smhd]+$/.test(v) && !/^[0.]+[smhd]?$|0\.0+1s$/.test(v)) {
        assert.match(r.stderr, label.includes('--ttl=') ? /maximum (of|is) 87600h \(10 years\)/ : /maximum (of|is) 8760h \(1 year\)/, label);
      }
      assert.equal(r.stdout, '');
    }
  }
  files.forEach((f, i) => assert.deepEqual(read(f), before[i], `${f} is byte-identical`));
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'keys')).sort(), keys, 'no key was created');
  assert.ok(!fs.existsSync(path.join(path.dirname(dataDir), 'a-cert.pub')));
  // The caps themselves are accepted.
  assert.equal(run(['auth', 'rotate', '--type=user', '--grace-period=8760h']).status, 0);
  assert.equal(run(['auth', 'sign', '--user=a', '--ttl=87600h']).status, 0);
});

type Rotation = Record<string, unknown>;

/** A data dir whose user CA is in `phase` of an auto rotation; a fresh copy per call. */
function dataDirIn(template: string, phase: string): { cwd: string; dataDir: string; run: (args: string[]) => ReturnType<typeof tctl> } {
  const cwd = tempDir();
  const dataDir = path.join(cwd, 'ca');
  fs.cpSync(template, dataDir, { recursive: true });
  const run = (args: string[]) => tctl(args, { cwd, env: { TCTL_DATA_DIR: dataDir } });
  if (phase !== 'init') {
    const steps = phase === 'rollback' ? ['rollback'] : phase === 'standby' ? ['rollback', 'standby'] : phase === 'update_clients' ? ['update_clients'] : ['update_clients', 'update_servers'];
    for (const p of steps) assert.equal(run(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`, '--yes']).status, 0);
  }
  return { cwd, dataDir, run };
}

function editRotation(dataDir: string, edit: (r: Rotation) => void): void {
  const file = path.join(dataDir, 'state.json');
  const state = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(state.authorities.user.rotation);
  // The user CA's TLS key rotates in lockstep: a damaged value is damaged in both records.
  if (state.tls?.user) state.tls.user.rotation = { ...state.authorities.user.rotation };
  // Written as text so values JSON.stringify cannot produce (1e400) reach the parser.
  fs.writeFileSync(file, JSON.stringify(state, null, 2).replaceAll('"__1e400__"', '1e400').replaceAll('"__-1e400__"', '-1e400'));
}

// [field, stored value, phase to put the CA in]: values a careless edit or an older bug leaves.
const BAD: Array<[string, unknown, string]> = [
  ['gracePeriodSeconds', null, 'init'],
  ['gracePeriodSeconds', '__1e400__', 'init'],
  ['gracePeriodSeconds', '__-1e400__', 'update_clients'],
  ['gracePeriodSeconds', 8760 * 3600 + 1, 'update_servers'],
  ['gracePeriodSeconds', 8000000000 * 3600, 'init'],
  ['gracePeriodSeconds', 9007199254740993, 'update_clients'],
  ['gracePeriodSeconds', 1.5, 'init'],
  ['gracePeriodSeconds', -30, 'update_servers'],
  ['gracePeriodSeconds', '30h', 'init'],
  ['gracePeriodSeconds', 'NaN', 'rollback'],
  ['gracePeriodSeconds', 0, 'init'],
  ['gracePeriodSeconds', undefined, 'update_clients'],
  ['startedAt', null, 'init'],
  ['startedAt', 'Invalid Date', 'update_clients'],
  ['startedAt', 'NaN', 'rollback'],
  ['startedAt', '+275760-09-13T00:00:00.000Z', 'init'],
  ['startedAt', '10000-01-01T00:00:00.000Z', 'update_servers'],
  ['startedAt', '2026-13-45T00:00:00Z', 'init'],
  ['startedAt', 1764547200000, 'init'],
  ['startedAt', undefined, 'update_servers'],
  ['phaseSince', '', 'update_clients'],
  ['phaseSince', '2026-01-01', 'standby'],
  ['mode', 'Auto', 'init'],
  ['mode', null, 'standby'],
];

test('bad rotation values in state.json: one named error line, nothing retired, rollback/standby recover', () => {
  const { dataDir: template, run: runTemplate } = initialisedCa();
  assert.equal(runTemplate(['auth', 'rotate', '--type=user', '--grace-period=3h']).status, 0);
  for (const [field, value, phase] of BAD) {
    const { dataDir, run } = dataDirIn(template, phase);
    const label = `${field}=${String(value)} in ${phase}`;
    editRotation(dataDir, (r) => {
      // An auto rotation whose schedule is long past: a command that trusted these values would complete it.
      r.mode = 'auto';
      r.startedAt = '2020-01-01T00:00:00.000Z';
      r.gracePeriodSeconds = 3 * 3600;
      r[field] = value;
    });
    const stateFile = path.join(dataDir, 'state.json');
    const stored = read(stateFile);
    const keys = fs.readdirSync(path.join(dataDir, 'keys')).sort();
    const named = new RegExp(`state\\.json: .*authorities\\.user\\.rotation\\.${field} (is not|is missing|is 0)`);
    for (const args of [['auth', 'sign', '--user=a'], ['auth', 'export', '--type=user'], ['status']]) {
      const r = run(args);
      assert.equal(r.status, 1, `${label}: ${args.join(' ')}: ${r.stderr}`);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, named, label);
      assert.match(r.stderr, /tctl: hint: .*--manual --phase=(rollback|standby)/, label);
      assert.doesNotMatch(computed(r.stderr), /Infinity|NaN|Invalid Date|Invalid time value/, label);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    }
    assert.match(run(['status']).stdout, /schedule DAMAGED \(ignored\)/, label);
    assert.deepEqual(read(stateFile), stored, `${label}: state.json untouched`);
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'keys')).sort(), keys, `${label}: no key file removed`);
    // Recover: rollback, then standby (from standby or rollback: standby alone).
    const steps = phase === 'standby' || phase === 'rollback' ? ['standby'] : ['rollback', 'standby'];
    for (const p of steps) {
      const r = run(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`, '--yes']);
      assert.equal(r.status, 0, `${label}: recover with ${p}: ${r.stderr}`);
    }
    const status = run(['status', '--json']);
    assert.equal(status.status, 0, `${label}: ${status.stderr}`);
    assert.equal(JSON.parse(status.stdout).authorities.user.rotation.phase, 'standby');
    assert.equal(run(['auth', 'sign', '--user=a']).status, 0, label);
    assert.equal(run(['audit', 'verify']).status, 0, label);
  }
});

test('a damaged CA blocks the other CA too, and forward steps are refused, until it is recovered', () => {
  const { run, dataDir } = initialisedCa();
  assert.equal(run(['auth', 'rotate', '--type=user', '--grace-period=3h']).status, 0);
  editRotation(dataDir, (r) => {
    r.gracePeriodSeconds = null;
    r.startedAt = '2020-01-01T00:00:00.000Z';
  });
  const stored = read(path.join(dataDir, 'state.json'));
  for (const args of [
    ['auth', 'rotate', '--type=host', '--manual', '--phase=init'],
    ['auth', 'rotate', '--type=host'],
    ['auth', 'rotate', '--type=user', '--manual', '--phase=update_clients'],
    ['auth', 'rotate', '--type=user', '--manual', '--phase=standby'],
    ['auth', 'ls'],
    ['auth', 'revoke', '--key-id=a'],
    ['audit', 'verify'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /authorities\.user\.rotation\.gracePeriodSeconds is not a valid duration: whole seconds up to 8760h \(1 year\)/);
  }
  assert.deepEqual(read(path.join(dataDir, 'state.json')), stored);
  const rb = run(['auth', 'rotate', '--type=user', '--manual', '--phase=rollback']);
  assert.equal(rb.status, 0, rb.stderr);
  const last = JSON.parse(fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').at(-1)!);
  assert.deepEqual(last.what.damagedSchedule, ['authorities.user.rotation.gracePeriodSeconds is not a valid duration: whole seconds up to 8760h (1 year)']);
  assert.equal(run(['auth', 'rotate', '--type=host', '--manual', '--phase=init']).status, 0, 'the host CA works again');
});
