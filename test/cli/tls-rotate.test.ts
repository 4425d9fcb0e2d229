// Rotation of the TLS CAs: db and db_client on their own schedule (audited steps, retired key files
// removed), host and user in lockstep with their SSH CA, and a state.json where they disagree.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initialisedCa } from '../helpers/run.js';

const HOUR = 3600e3;
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const auditLines = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('db_client auto rotation: the clock makes every due step, audited; the old key file goes at standby; exports follow', () => {
  const { run, dataDir } = initialisedCa();
  const file = path.join(dataDir, 'state.json');
  const old = readJson(file).tls.db_client.current;
  const r = run(['auth', 'rotate', '--type=db_client', '--grace-period=3h']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Next steps for the db_client CA \(phase "init"\)/);
  // Started 3.5 hours ago: update_clients, update_servers and standby are all due.
  const state = readJson(file);
  const started = Date.now() - 3.5 * HOUR;
  Object.assign(state.tls.db_client.rotation, { startedAt: new Date(started).toISOString(), phaseSince: new Date(started).toISOString() });
  fs.writeFileSync(file, JSON.stringify(state, null, 2) + '\n');
  const newKey = state.tls.db_client.next;
  assert.equal(run(['status']).status, 0);
  const steps = auditLines(dataDir).filter((e) => e.command === 'auth rotate' && e.what.by === 'schedule');
  assert.deepEqual(steps.map((e) => [e.what.type, e.what.from, e.what.to]), [['db_client', 'init', 'update_clients'], ['db_client', 'update_clients', 'update_servers'], ['db_client', 'update_servers', 'standby']]);
  assert.deepEqual(steps.at(-1).what.removedKeyFiles, [{ fingerprint: old.fingerprint, file: old.file, removed: true }]);
  assert.ok(!fs.existsSync(path.join(dataDir, old.file)));
  const after = readJson(file).tls.db_client;
  assert.equal(after.current.fingerprint, newKey.fingerprint);
  assert.deepEqual(after.retired, [{ keyType: old.keyType, certificate: old.certificate, fingerprint: old.fingerprint, createdAt: old.createdAt }]);
  assert.equal(run(['auth', 'export', '--type=db-client']).stdout, newKey.certificate);
  // The SSH CAs did not move.
  assert.equal(readJson(file).authorities.user.rotation.phase, 'standby');
});

test('host rotation moves the SSH and TLS keys together, one audit entry per step; --ca-key-type maps to the TLS key; ed25519 refused for db', () => {
  const { run, dataDir } = initialisedCa();
  const file = path.join(dataDir, 'state.json');
  assert.equal(run(['auth', 'rotate', '--type=host', '--manual', '--phase=init', '--ca-key-type=rsa']).status, 0);
  let s = readJson(file);
  assert.equal(s.authorities.host.next.keyType, 'rsa');
  assert.equal(s.tls.host.next.keyType, 'rsa-2048');
  assert.deepEqual(s.tls.host.rotation, s.authorities.host.rotation);
  const entry = auditLines(dataDir).at(-1);
  assert.deepEqual(entry.what.tls.trusted, [s.tls.host.current.fingerprint, s.tls.host.next.fingerprint]);
  for (const phase of ['update_clients', 'update_servers', 'standby']) assert.equal(run(['auth', 'rotate', '--type=host', '--manual', `--phase=${phase}`, '--yes']).status, 0);
  s = readJson(file);
  assert.equal(s.tls.host.current.keyType, 'rsa-2048');
  assert.equal(s.tls.host.retired.length, 1);
  assert.equal(s.tls.host.retired[0].file, undefined);
  assert.equal(run(['auth', 'export', '--type=tls-host']).stdout.match(/BEGIN CERTIFICATE/g)?.length, 1);
  // The default ed25519 for a host rotation keeps the TLS key type.
  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=init', '--ca-key-type=ed25519']).status, 0);
  assert.equal(readJson(file).tls.user.next.keyType, 'ecdsa-p256');
  const refused = run(['auth', 'rotate', '--type=db', '--manual', '--phase=init', '--ca-key-type=ed25519']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--ca-key-type=ed25519 is refused for a TLS CA/);
  assert.equal(run(['auth', 'rotate', '--type=db', '--manual', '--phase=init', '--ca-key-type=ecdsa']).status, 0);
  assert.equal(readJson(file).tls.db.next.keyType, 'ecdsa-p256');
});

test('state.json whose TLS host rotation differs from the SSH host rotation is damaged; a damaged db schedule names its recovery', () => {
  const { run, dataDir } = initialisedCa();
  const file = path.join(dataDir, 'state.json');
  const good = fs.readFileSync(file, 'utf8');
  const s = readJson(file);
  s.tls.host.rotation = { phase: 'init', mode: 'manual', startedAt: s.createdAt, phaseSince: s.createdAt };
  s.tls.host.next = s.tls.host.current;
  fs.writeFileSync(file, JSON.stringify(s, null, 2));
  for (const args of [['status'], ['auth', 'export', '--type=user'], ['auth', 'sign', '--user=joe']]) {
    const r = run(args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, /^tctl: error: .*state\.json is damaged: tls\.host\.rotation does not match authorities\.host\.rotation$/m);
  }
  fs.writeFileSync(file, good);
  assert.equal(run(['auth', 'rotate', '--type=db', '--grace-period=3h']).status, 0);
  const d = readJson(file);
  d.tls.db.rotation.gracePeriodSeconds = -5;
  fs.writeFileSync(file, JSON.stringify(d, null, 2));
  const damaged = run(['auth', 'sign', '--format=db', '--host=a.example.com']);
  assert.equal(damaged.status, 1);
  assert.match(damaged.stderr, /tls\.db\.rotation\.gracePeriodSeconds is not a valid duration/);
  assert.match(damaged.stderr, /hint: .*"tctl auth rotate --type=db --manual --phase=rollback"/);
  assert.equal(run(['auth', 'rotate', '--type=db', '--manual', '--phase=rollback']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=db', '--manual', '--phase=standby', '--yes']).status, 0);
  assert.equal(run(['auth', 'sign', '--format=db', '--host=a.example.com']).status, 0);
});

test('status counts what a retiring TLS key still signed, as it does for SSH: live certificates only, per CA, text and JSON', () => {
  const { run, dataDir } = initialisedCa();
  const file = path.join(dataDir, 'state.json');
  for (const user of ['a', 'b', 'c']) assert.equal(run(['auth', 'sign', '--format=db', `--user=${user}`, `--out=${user}`]).status, 0);
  assert.equal(run(['auth', 'sign', '--format=tls', '--user=joe', '--out=joe']).status, 0);
  const serial = (out: string) => JSON.parse(run(['auth', 'ls', '--json']).stdout).find((r: { keyId: string; format?: string }) => r.keyId === out && r.format === 'x509')?.serial as string;
  assert.equal(run(['auth', 'revoke', `--serial=${serial('b')}`]).status, 0);
  const before = readJson(file).tls;
  assert.equal(run(['auth', 'rotate', '--type=db-client', '--manual', '--phase=init']).status, 0);
  assert.equal(run(['auth', 'rotate', '--type=user', '--manual', '--phase=init']).status, 0);

  const json = JSON.parse(run(['status', '--json']).stdout);
  assert.deepEqual(json.tls.db_client.retiring, { fingerprint: before.db_client.current.fingerprint, liveCertificates: 2 });
  assert.deepEqual(json.tls.user.retiring, { fingerprint: before.user.current.fingerprint, liveCertificates: 1 });
  assert.equal(json.tls.db.retiring, null, 'the db CA is not rotating');
  assert.equal(json.tls.host.retiring, null);

  const text = run(['status']).stdout;
  const block = (name: string) => text.slice(text.indexOf(name), text.indexOf('\ntls ', text.indexOf(name) + 1) >>> 0);
  assert.match(block('tls db-client CA'), new RegExp(`to do: distribute the export.*\\n\\s+retiring ${before.db_client.current.fingerprint}: 2 live certificates \\(unexpired, unrevoked\\) still signed by it`));
  assert.match(block('tls user CA'), new RegExp(`rotation: with the user CA \\(init\\)\\n\\s+retiring ${before.user.current.fingerprint}: 1 live certificate \\(unexpired`));
  assert.doesNotMatch(block('tls db CA'), /retiring/);
});
