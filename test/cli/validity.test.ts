// --valid-after/--valid-before: ssh-keygen -L shows exactly the window asked for; the refusals
// exit 2 before a serial is spent.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';

// ssh-keygen -L prints local time; fix it so the expected text does not depend on the machine.
process.env.TZ = 'UTC';
const window = (file: string) => /Valid: (.*)\n/.exec(openssh('ssh-keygen', ['-L', '-f', file]).stdout)?.[1];
const year = new Date().getUTCFullYear() + 1;

test('a fixed window, as ssh-keygen -V: exactly the given edges, no back-dating', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const ok = (args: string[], env?: Record<string, string>) => {
    const r = run(['auth', 'sign', ...args], { env });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  ok(['--user=joe', '--out=a', `--valid-after=${year}-03-01T09:00:00Z`, `--valid-before=${year}-03-01T17:00:00Z`]);
  assert.equal(window(path.join(cwd, 'a-cert.pub')), `from ${year}-03-01T09:00:00 to ${year}-03-01T17:00:00`);
  ok(['--user=joe', '--out=b', `--valid-after=${year}0301Z`, '--ttl=8h']);
  assert.equal(window(path.join(cwd, 'b-cert.pub')), `from ${year}-03-01T00:00:00 to ${year}-03-01T08:00:00`);
  // Without Z, ssh-keygen's compact form is local time: tctl running at UTC+05:30.
  ok(['--user=joe', '--out=c', `--valid-after=${year}03010930`, `--valid-before=${year}0301173045`], { TZ: 'Asia/Kolkata' });
  assert.equal(window(path.join(cwd, 'c-cert.pub')), `from ${year}-03-01T04:00:00 to ${year}-03-01T12:00:45`);
  ok(['--user=joe', '--out=d', `--valid-after=${year}-03-01T09:00:00+02:00`]);
  assert.equal(window(path.join(cwd, 'd-cert.pub')), `from ${year}-03-01T07:00:00 to ${year}-03-01T19:00:00`, 'the default 12h counts from --valid-after');
  ok(['--host=web.example.com', '--out=h', `--valid-before=${year}-06-30T00:00:00Z`]);
  assert.match(window(path.join(cwd, 'h-cert.pub'))!, new RegExp(`^from \\S+ to ${year}-06-30T00:00:00$`));
  ok(['--host=web2.example.com', '--out=h2', `--valid-after=${year}-06-30T00:00:00Z`]);
  assert.equal(window(path.join(cwd, 'h2-cert.pub')), `after ${year}-06-30T00:00:00`, 'a host cert without an end still never expires');
  const log = fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log[0].validAfter, `${year}-03-01T09:00:00.000Z`);
  assert.equal(log[0].validBefore, `${year}-03-01T17:00:00.000Z`);
});

test('windows that are inverted, empty, too long, over, with --ttl, malformed or for TLS exit 2', () => {
  const { run, cwd, dataDir } = initialisedCa();
  const serial = fs.readFileSync(path.join(dataDir, 'serial'), 'utf8');
  const cases: Array<[string[], RegExp]> = [
    [[`--valid-after=${year}-03-02T00:00:00Z`, `--valid-before=${year}-03-01T00:00:00Z`], /--valid-after \S+ is not before --valid-before/],
    [[`--valid-after=${year}-03-01T00:00:00Z`, `--valid-before=${year}-03-01T00:00:00Z`], /--valid-after \S+ is not before/],
    [[`--valid-before=${year}-03-01T00:00:00Z`, '--ttl=1h'], /--ttl and --valid-before both say when/],
    [[`--valid-after=${year}-03-01T00:00:00Z`, `--valid-before=${year + 11}-03-01T00:00:00Z`], /the window \S+ to \S+ is longer than the maximum of 87600h/],
    [['--valid-before=2001-01-01T00:00:00Z'], /is in the past/],
    [[`--valid-before=${year + 11}0101Z`], /more than the maximum of 87600h \(10 years\) from now/],
    [[`--valid-after=${year + 10}0101Z`], /--valid-after \S+ puts the end .* more than the maximum of 87600h/],
    [['--valid-after=tomorrow'], /invalid --valid-after "tomorrow"/],
    [['--valid-after=+1d'], /invalid --valid-after/],
    [[`--valid-before=${year}-02-30T00:00:00Z`], /invalid --valid-before .*no such day/],
    [['--valid-after='], /--valid-after is empty/],
    [['--format=db', `--valid-before=${year}0101Z`], /--valid-before does not apply to --format=db/],
  ];
  for (const [args, re] of cases) {
    const r = run(['auth', 'sign', '--user=joe', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^tctl: error: /, args.join(' '));
    assert.match(r.stderr.split('\n')[0]!, re, args.join(' '));
  }
  assert.equal(fs.readFileSync(path.join(dataDir, 'serial'), 'utf8'), serial);
  assert.deepEqual(fs.readdirSync(cwd).filter((f) => f !== 'ca'), []);
});

test('batch "valid_after"/"valid_before" give the same window', () => {
  const { run, cwd } = initialisedCa();
  assert.equal(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(cwd, 'k')]).status, 0);
  const key = fs.readFileSync(path.join(cwd, 'k.pub'), 'utf8').trim();
  fs.writeFileSync(
    path.join(cwd, 'req.jsonl'),
    [
      { user: 'joe', public_key: key, valid_after: `${year}-03-01T09:00:00Z`, valid_before: `${year}0301170000Z` },
      { user: 'bad', public_key: key, valid_after: `${year}-03-02T00:00:00Z`, valid_before: `${year}-03-01T00:00:00Z` },
    ].map((l) => JSON.stringify(l)).join('\n') + '\n',
  );
  const r = run(['auth', 'sign', '--batch=req.jsonl', '--out-dir=certs', '--keep-going']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /req\.jsonl:2: --valid-after \S+ is not before --valid-before/);
  assert.equal(window(path.join(cwd, 'certs', 'joe-cert.pub')), `from ${year}-03-01T09:00:00 to ${year}-03-01T17:00:00`);
});
