// After a rotation, the inventory tells the truth: certificates of the retired key are listed as
// untrusted-ca, and before the key goes, status and the standby step count the live ones it signed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialisedCa } from '../helpers/run.js';

test('auth ls says untrusted-ca after a rotation; status and standby count what the retiring key still signed', async () => {
  const { run } = initialisedCa();
  const ok = (args: string[]) => {
    const r = run(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const serial = (args: string[]) => JSON.parse(ok([...args, '--json']).stdout).serial as string;
  const old1 = serial(['auth', 'sign', '--user=a']);
  const old2 = serial(['auth', 'sign', '--user=b']);
  const oldRevoked = serial(['auth', 'sign', '--user=c']);
  const oldExpired = serial(['auth', 'sign', '--user=d', '--ttl=1s']);
  const oldHost = serial(['auth', 'sign', '--host=web.example.com']);
  ok(['auth', 'revoke', `--serial=${oldRevoked}`]);
  await new Promise((r) => setTimeout(r, 1500));

  ok(['auth', 'rotate', '--type=user', '--manual', '--phase=init']);
  ok(['auth', 'rotate', '--type=user', '--manual', '--phase=update_clients']);
  const fresh = serial(['auth', 'sign', '--user=a', '--out=a2']);
  ok(['auth', 'rotate', '--type=user', '--manual', '--phase=update_servers']);

  // Two live user certificates (a, b) are still signed by the old key; c is revoked, d expired.
  const st = JSON.parse(ok(['status', '--json']).stdout);
  assert.equal(st.authorities.user.retiring.liveCertificates, 2);
  assert.ok(st.authorities.user.trusted.some((k: { fingerprint: string }) => k.fingerprint === st.authorities.user.retiring.fingerprint));
  assert.equal(st.authorities.host.retiring, null, 'the host CA is not rotating');
  assert.match(ok(['status']).stdout, /retiring SHA256:\S+: 2 live certificates \(unexpired, unrevoked\) still signed by it/);
  const before = JSON.parse(ok(['auth', 'ls', '--json']).stdout);
  assert.ok(before.every((r: { status: string }) => r.status !== 'untrusted-ca'), 'both keys trusted until standby');

  // Off a terminal standby is not asked, but the cost is still said.
  const done = ok(['auth', 'rotate', '--type=user', '--manual', '--phase=standby']);
  assert.match(done.stderr, /tctl: note: Completing the rotation drops the old user CA key: 2 live certificates \(unexpired, unrevoked\) signed by it stop working once the export is redeployed\./);

  const rows = Object.fromEntries(JSON.parse(ok(['auth', 'ls', '--json']).stdout).map((r: { serial: string; type: string; status: string }) => [`${r.type}:${r.serial}`, r.status]));
  assert.deepEqual(rows, {
    [`user:${old1}`]: 'untrusted-ca',
    [`user:${old2}`]: 'untrusted-ca',
    [`user:${oldRevoked}`]: 'revoked',
    [`user:${oldExpired}`]: 'expired',
    [`host:${oldHost}`]: 'valid',
    [`user:${fresh}`]: 'valid',
  });
  const table = ok(['auth', 'ls', '--type=user']).stdout;
  assert.match(table, new RegExp(`^${old1}\\s+user\\s+a\\s.*untrusted-ca$`, 'm'));
  assert.deepEqual(JSON.parse(ok(['auth', 'ls', '--untrusted', '--json']).stdout).map((r: { serial: string }) => r.serial), [old1, old2]);
  assert.deepEqual(JSON.parse(ok(['auth', 'ls', '--valid', '--json']).stdout).map((r: { serial: string }) => r.serial).sort(), [oldHost, fresh].sort());
  assert.equal(JSON.parse(ok(['status', '--json']).stdout).authorities.user.retiring, null);
  const both = run(['auth', 'ls', '--valid', '--untrusted']);
  assert.equal(both.status, 2);
});

test('a rotation with --grace-period=0 names the live certificates it cuts off', () => {
  const { run } = initialisedCa();
  for (const u of ['a', 'b', 'c']) assert.equal(run(['auth', 'sign', `--user=${u}`]).status, 0);
  const r = run(['auth', 'rotate', '--type=user', '--grace-period=0', '--yes']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /tctl: note: --grace-period=0 replaces the user CA at once: 3 live certificates \(unexpired, unrevoked\) signed by it stop working now\./);
  assert.equal(JSON.parse(run(['auth', 'ls', '--untrusted', '--json']).stdout).length, 3);
});
