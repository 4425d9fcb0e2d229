// CA rotation against a real fleet of one: sshd rereads the TrustedUserCAKeys file we re-export
// at every phase, ssh reads the known_hosts we re-export, and host certificates are re-signed and
// sshd restarted the way an operator would. Passing means no phase locks anyone out too early
// and the last phase really does lock out what it should.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';
import type { Sshd } from '../helpers/sshd.js';
import { LOGIN, esc, fingerprintOfLine, ok, sshdFor } from '../helpers/interop.js';
import type { Run } from '../helpers/interop.js';

const skip = interopSkip();
const HOST = 'api.example.com';




/** The fingerprints an export lists, in its order: what sshd or ssh will trust once it is deployed. */
function exportedFingerprints(text: string): string[] {
  return text.trim().split('\n').filter(Boolean).map(fingerprintOfLine);
}

/** What ssh-keygen -L says about a certificate: the CA that signed it and its serial. */
function certificate(file: string): { signingCa: string; serial: string; keyId: string } {
  const r = ok(openssh('ssh-keygen', ['-L', '-f', file]), `ssh-keygen -L -f ${file}`);
  const signingCa = /^\s+Signing CA: \S+ (SHA256:\S+) /m.exec(r.stdout)?.[1];
  const serial = /^\s+Serial: (\d+)$/m.exec(r.stdout)?.[1];
  const keyId = /^\s+Key ID: "(.*)"$/m.exec(r.stdout)?.[1];
  assert.ok(signingCa && serial && keyId !== undefined, r.stdout);
  return { signingCa, serial, keyId };
}

/** The issuance log's record of the certificate with this serial. */
function issued(dataDir: string, serial: string): { caFingerprint: string; keyId: string } {
  const records = fs.readFileSync(path.join(dataDir, 'issued.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const record = records.find((r) => r.serial === serial);
  assert.ok(record, `serial ${serial} is not in issued.jsonl`);
  return record;
}

interface Authority {
  fingerprint: string;
  trusted: Array<{ fingerprint: string }>;
  rotation: { phase: string };
}

function status(run: Run, caType: 'user' | 'host'): { signer: string; trusted: string[]; phase: string } {
  const a = JSON.parse(ok(run(['status', '--json']), 'status --json').stdout).authorities[caType] as Authority;
  return { signer: a.fingerprint, trusted: a.trusted.map((k) => k.fingerprint), phase: a.rotation.phase };
}

function rotate(run: Run, caType: 'user' | 'host', phase: string): void {
  ok(run(['auth', 'rotate', `--type=${caType}`, '--manual', `--phase=${phase}`]), `rotate ${caType} to ${phase}`);
  assert.equal(status(run, caType).phase, phase);
}

/** `tctl auth export --type=... > file`: rewrites the file sshd or ssh reads on the next login. */
function deploy(run: Run, caType: 'user' | 'host', file: string): string[] {
  const text = ok(run(['auth', 'export', `--type=${caType}`]), `export ${caType}`).stdout;
  fs.writeFileSync(file, text);
  return exportedFingerprints(text);
}

/** A user certificate as a login check needs it: KEY-cert.pub sits beside the private key. */
interface Cert {
  key: string;
  keyId: string;
  serial: string;
  ca: string;
}

/**
 * Signs a user certificate and checks that ssh-keygen, the issuance log and `status --json` agree
 * on which CA key signed it. Returns what a login check needs.
 */
function signUser(run: Run, dataDir: string, cwd: string, name: string, expectedCa: string): Cert {
  const out = path.join(cwd, name);
  ok(run(['auth', 'sign', `--user=${name}`, `--principals=${LOGIN}`, '--ttl=1h', `--out=${out}`]), `sign ${name}`);
  const c = certificate(`${out}-cert.pub`);
  assert.equal(c.signingCa, expectedCa, `${name}: ssh-keygen -L Signing CA`);
  assert.equal(issued(dataDir, c.serial).caFingerprint, expectedCa, `${name}: issued.jsonl caFingerprint`);
  assert.equal(status(run, 'user').signer, expectedCa, `${name}: status --json signer`);
  return { key: out, keyId: c.keyId, serial: c.serial, ca: expectedCa };
}


/** Logs in with a user certificate and checks that sshd accepted it as signed by its CA. */
async function logsIn(sshd: Sshd, cert: Cert, knownHosts: string, when: string): Promise<void> {
  const mark = sshd.mark();
  const r = sshRun({ port: sshd.port, key: cert.key, knownHosts, hostKeyAlias: HOST });
  assert.equal(r.status, 0, `${when}: ${cert.keyId} should log in:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
  assert.equal(r.stdout, 'ok\n', when);
  await sshd.waitForLog(
    new RegExp(`Accepted publickey for ${esc(LOGIN)} from .* ID ${esc(cert.keyId)} \\(serial ${cert.serial}\\) CA \\S+ ${esc(cert.ca)}`),
    mark,
  );
}

/** The login fails on the user certificate (not the host), and sshd says it was this CA it did not trust. */
async function loginRefused(sshd: Sshd, cert: Cert, knownHosts: string, when: string): Promise<void> {
  const mark = sshd.mark();
  const r = sshRun({ port: sshd.port, key: cert.key, knownHosts, hostKeyAlias: HOST });
  assert.equal(r.status, 255, `${when}: ${cert.keyId} should be refused; stdout=${JSON.stringify(r.stdout)}\n${r.stderr}`);
  assert.equal(r.stdout, '', when);
  assert.match(r.stderr, /Permission denied \(publickey\)/, when);
  const log = await sshd.waitForLog(
    new RegExp(`Failed publickey for ${esc(LOGIN)} from .* ID ${esc(cert.keyId)} \\(serial ${cert.serial}\\) CA \\S+ ${esc(cert.ca)}`),
    mark,
  );
  assert.doesNotMatch(log, /Accepted/, when);
}

/** A CA, a host certificate and the exported trust files: everything one test's fleet needs. */
function fleet() {
  const ca = initialisedCa('ed25519');
  const file = (name: string) => path.join(ca.cwd, name);
  deploy(ca.run, 'user', file('user_ca.pub'));
  deploy(ca.run, 'host', file('known_hosts'));
  ok(ca.run(['auth', 'sign', `--host=${HOST}`, `--out=${file('host')}`]), 'sign host');
  return {
    ...ca,
    file,
    knownHosts: file('known_hosts'),
    trustFile: file('user_ca.pub'),
    sign: (name: string, expectedCa: string) => signUser(ca.run, ca.dataDir, ca.cwd, name, expectedCa),
    /** sshd with the fleet's host certificate, trusting whatever user_ca.pub holds at each login. */
    serve: (t: TestContext) => sshdFor(t, { dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys: file('user_ca.pub') }),
  };
}

test('user CA rotation: sshd rereads the export at each phase; old certificates work until standby, new ones throughout', { skip }, async (t) => {
  requireOpenSsh();
  const { run, sign, serve, knownHosts, trustFile } = fleet();
  const oldCa = status(run, 'user').signer;
  const before = sign('before', oldCa);
  const sshd = await serve(t);
  await logsIn(sshd, before, knownHosts, 'standby');

  rotate(run, 'user', 'init');
  const { signer, trusted } = status(run, 'user');
  const newCa = trusted.find((fp) => fp !== oldCa)!;
  assert.ok(newCa, `init adds a key: ${trusted.join(', ')}`);
  assert.equal(signer, oldCa, 'init: the old key still signs');
  const initExport = deploy(run, 'user', trustFile);
  assert.deepEqual(new Set(initExport), new Set([oldCa, newCa]), 'init: the export lists both keys');
  await logsIn(sshd, before, knownHosts, 'init');
  assert.equal(sign('during-init', oldCa).ca, oldCa);

  rotate(run, 'user', 'update_clients');
  const during = sign('during', newCa);
  // The point of init: servers that got its export already accept what the new key signs.
  await logsIn(sshd, during, knownHosts, 'update_clients, servers still on the init export');
  assert.deepEqual(new Set(deploy(run, 'user', trustFile)), new Set(initExport), 'update_clients: same keys as init');
  await logsIn(sshd, before, knownHosts, 'update_clients');
  await logsIn(sshd, during, knownHosts, 'update_clients');

  rotate(run, 'user', 'update_servers');
  assert.equal(status(run, 'user').signer, newCa, 'update_servers: the new key signs');
  assert.deepEqual(new Set(deploy(run, 'user', trustFile)), new Set(initExport), 'update_servers: same keys as init');
  await logsIn(sshd, before, knownHosts, 'update_servers');
  await logsIn(sshd, during, knownHosts, 'update_servers');

  rotate(run, 'user', 'standby');
  assert.deepEqual(status(run, 'user'), { signer: newCa, trusted: [newCa], phase: 'standby' });
  // Nothing is revoked by tctl itself: until the fleet gets the new export, the old key works.
  await logsIn(sshd, before, knownHosts, 'standby, export not yet redeployed');
  assert.deepEqual(deploy(run, 'user', trustFile), [newCa], 'standby: only the new key is exported');
  await loginRefused(sshd, before, knownHosts, 'standby');
  await logsIn(sshd, during, knownHosts, 'standby');
  await logsIn(sshd, sign('after', newCa), knownHosts, 'standby');
});

test('user CA rollback: the old key signs again, and standby drops only the rolled-back key', { skip }, async (t) => {
  requireOpenSsh();
  const { run, sign, serve, knownHosts, trustFile } = fleet();
  const oldCa = status(run, 'user').signer;
  const before = sign('before', oldCa);
  const sshd = await serve(t);

  rotate(run, 'user', 'init');
  deploy(run, 'user', trustFile);
  rotate(run, 'user', 'update_clients');
  deploy(run, 'user', trustFile);
  const newCa = status(run, 'user').signer;
  assert.notEqual(newCa, oldCa);
  const fresh = sign('fresh', newCa);
  await logsIn(sshd, fresh, knownHosts, 'update_clients');

  rotate(run, 'user', 'rollback');
  assert.deepEqual(new Set(status(run, 'user').trusted), new Set([oldCa, newCa]), 'rollback: both keys stay trusted');
  assert.deepEqual(new Set(deploy(run, 'user', trustFile)), new Set([oldCa, newCa]), 'rollback: the export lists both keys');
  const rolled = sign('rolled', oldCa);
  await logsIn(sshd, rolled, knownHosts, 'rollback');
  await logsIn(sshd, before, knownHosts, 'rollback');
  // Not yet dropped: holders of new-key certificates have until standby to get re-signed.
  await logsIn(sshd, fresh, knownHosts, 'rollback');

  rotate(run, 'user', 'standby');
  assert.deepEqual(status(run, 'user'), { signer: oldCa, trusted: [oldCa], phase: 'standby' });
  assert.deepEqual(deploy(run, 'user', trustFile), [oldCa], 'standby after rollback: only the old key is exported');
  await loginRefused(sshd, fresh, knownHosts, 'standby after rollback');
  await logsIn(sshd, before, knownHosts, 'standby after rollback');
  await logsIn(sshd, rolled, knownHosts, 'standby after rollback');
  await logsIn(sshd, sign('after', oldCa), knownHosts, 'standby after rollback');
});

test('host CA rotation: clients re-export known_hosts at each phase; a re-signed sshd verifies throughout, an old host certificate only until standby', { skip }, async (t) => {
  requireOpenSsh();
  const { run, file, sign, dataDir } = fleet();
  const userCa = status(run, 'user').signer;
  const alice = sign('alice', userCa);
  const userExport = fs.readFileSync(file('user_ca.pub'), 'utf8');
  const knownHosts = file('known_hosts');
  const oldCa = status(run, 'host').signer;

  // The host keys sshd was installed with; tctl only certifies their public halves.
  const hostKey = file('ssh_host_ed25519_key');
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'root@api', '-f', hostKey]), 'ssh-keygen host key');
  const signHost = (expectedCa: string) => {
    ok(run(['auth', 'sign', `--host=${HOST}`, `--public-key=${hostKey}.pub`, `--out=${hostKey}`, '--overwrite']), 'sign host key');
    const c = certificate(`${hostKey}-cert.pub`);
    assert.equal(c.signingCa, expectedCa, 'host certificate: ssh-keygen -L Signing CA');
    assert.equal(issued(dataDir, c.serial).caFingerprint, expectedCa, 'host certificate: issued.jsonl caFingerprint');
    assert.equal(status(run, 'host').signer, expectedCa, 'host certificate: status --json signer');
    return c;
  };
  const oldHostCert = signHost(oldCa);
  // A server nobody re-signs: it presents the pre-rotation certificate for the whole test.
  fs.copyFileSync(`${hostKey}-cert.pub`, file('straggler-cert.pub'));
  const straggler = await sshdFor(t, { dir: file('sshd-straggler'), hostKeys: [{ key: hostKey, certificate: file('straggler-cert.pub') }], trustedUserCaKeys: file('user_ca.pub') });
  let server = await sshdFor(t, { dir: file('sshd-1'), hostKeys: [{ key: hostKey, certificate: `${hostKey}-cert.pub` }], trustedUserCaKeys: file('user_ca.pub') });

  /** ssh verifies the host certificate with our known_hosts (strict checking) and logs in. */
  const verifies = async (sshd: Sshd, hostCa: string, when: string, hosts = knownHosts) => {
    const mark = sshd.mark();
    const r = sshRun({ port: sshd.port, key: alice.key, knownHosts: hosts, hostKeyAlias: HOST, verbose: true });
    assert.equal(r.status, 0, `${when}: ssh should verify the host and log in:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
    assert.equal(r.stdout, 'ok\n');
    assert.match(r.stderr, new RegExp(`Server host certificate: \\S+ SHA256:\\S+, serial \\d+ ID "${esc(HOST)}" CA \\S+ ${esc(hostCa)} `), when);
    assert.match(r.stderr, new RegExp(`Host '${esc(HOST)}' is known and matches the ED25519-CERT host certificate`), when);
  };
  const verifiedBy = (hostCa: string, when: string) => verifies(server, hostCa, when);

  await verifiedBy(oldCa, 'standby');

  rotate(run, 'host', 'init');
  const newCa = status(run, 'host').trusted.find((fp) => fp !== oldCa)!;
  assert.ok(newCa, 'init adds a host CA key');
  const initExport = deploy(run, 'host', knownHosts);
  assert.deepEqual(new Set(initExport), new Set([oldCa, newCa]), 'init: one @cert-authority line per key');
  fs.copyFileSync(knownHosts, file('known_hosts.init'));
  await verifiedBy(oldCa, 'init');

  rotate(run, 'host', 'update_clients');
  assert.deepEqual(new Set(deploy(run, 'host', knownHosts)), new Set(initExport), 'update_clients: same keys as init');
  await verifiedBy(oldCa, 'update_clients, before re-signing');
  const newHostCert = signHost(newCa);
  assert.notEqual(newHostCert.serial, oldHostCert.serial);
  // sshd reads HostCertificate only at start.
  await server.stop();
  server = await sshdFor(t, { dir: file('sshd-2'), hostKeys: [{ key: hostKey, certificate: `${hostKey}-cert.pub` }], trustedUserCaKeys: file('user_ca.pub') });
  await verifiedBy(newCa, 'update_clients, re-signed');
  // The point of init: clients that got its export already trust the re-signed servers.
  await verifies(server, newCa, 'update_clients, client still on the init export', file('known_hosts.init'));
  await verifies(straggler, oldCa, 'update_clients, server not re-signed');

  rotate(run, 'host', 'update_servers');
  assert.deepEqual(new Set(deploy(run, 'host', knownHosts)), new Set(initExport), 'update_servers: same keys as init');
  await verifiedBy(newCa, 'update_servers');
  await verifies(straggler, oldCa, 'update_servers, server not re-signed');

  rotate(run, 'host', 'standby');
  assert.deepEqual(status(run, 'host'), { signer: newCa, trusted: [newCa], phase: 'standby' });
  assert.deepEqual(deploy(run, 'host', knownHosts), [newCa], 'standby: only the new host CA is exported');
  await verifiedBy(newCa, 'standby');

  const mark = straggler.mark();
  const r = sshRun({ port: straggler.port, key: alice.key, knownHosts, hostKeyAlias: HOST, verbose: true });
  assert.equal(r.status, 255, `standby: a host certificate from the dropped CA must not verify; stdout=${JSON.stringify(r.stdout)}\n${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`Server host certificate: \\S+ SHA256:\\S+, serial ${oldHostCert.serial} ID "${esc(HOST)}" CA \\S+ ${esc(oldCa)} `));
  // ssh finds no @cert-authority line for the CA and, with strict checking, no plain key to fall back on.
  assert.match(r.stderr, /No matching CA found\. Retry with plain key/);
  assert.match(r.stderr, new RegExp(`No ED25519 host key is known for ${esc(HOST)} and you have requested strict checking\\.`));
  assert.match(r.stderr, /Host key verification failed\./);
  assert.doesNotMatch(r.stderr, /is known and matches/);
  await straggler.waitForLog(/Connection closed by 127\.0\.0\.1 port \d+ \[preauth\]/, mark);
  assert.doesNotMatch(straggler.log().slice(mark), /Accepted|publickey/, 'the client gave up before authenticating');

  assert.equal(fs.readFileSync(file('user_ca.pub'), 'utf8'), userExport);
  assert.equal(ok(run(['auth', 'export', '--type=user']), 'export user').stdout, userExport, 'a host CA rotation leaves the user CA alone');
});

test('invalid rotation transitions fail with exit 1 and change nothing the fleet sees', { skip }, async (t) => {
  requireOpenSsh();
  const { run, file, sign, dataDir, serve, knownHosts } = fleet();
  const userCa = status(run, 'user').signer;
  const hostCa = status(run, 'host').signer;
  const alice = sign('alice', userCa);
  const sshd = await serve(t);
  const state = () => fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8');

  /** Each move is refused; the state, both exports and what signs stay as they were; logins still work. */
  const refusedFrom = async (from: string, moves: Array<['user' | 'host', string]>) => {
    const before = { state: state(), user: deploy(run, 'user', file('user_ca.pub')), host: deploy(run, 'host', knownHosts), signer: status(run, 'user').signer };
    for (const [caType, to] of moves) {
      // Only the user CA rotates here; the host CA stays in standby.
      const current = caType === 'user' ? from : 'standby';
      const what = `${caType} CA from ${current} to ${to}`;
      const r = run(['auth', 'rotate', `--type=${caType}`, '--manual', `--phase=${to}`]);
      assert.equal(r.status, 1, `${what}: exit code\n${r.stderr}`);
      assert.equal(r.stdout, '', what);
      const refusal = to === 'init' ? `cannot start a rotation of the ${caType} CA while another is in progress \\(phase "${current}"\\)` : `cannot move the rotation from "${current}" to "${to}"`;
      assert.match(r.stderr, new RegExp(`^tctl: error: ${refusal}`, 'm'), what);
      assert.equal(state(), before.state, `${what}: state.json unchanged`);
    }
    // Redeploying after the failures gives the fleet exactly what it had.
    assert.deepEqual(deploy(run, 'user', file('user_ca.pub')), before.user, `${from}: user export unchanged`);
    assert.deepEqual(deploy(run, 'host', knownHosts), before.host, `${from}: host export unchanged`);
    assert.equal(status(run, 'user').signer, before.signer, `${from}: the same user CA key signs`);
    assert.equal(status(run, 'host').signer, hostCa);
    await logsIn(sshd, alice, knownHosts, `after invalid moves from ${from}`);
  };

  // Every invalid transition is covered by test/cli/rotate.test.ts; here a few from each phase
  // show that a refused step leaves the fleet's trust and the signer alone.
  await refusedFrom('standby', [['user', 'update_servers'], ['user', 'rollback'], ['host', 'update_servers']]);
  await logsIn(sshd, sign('still-old', userCa), knownHosts, 'standby: the old key still signs');

  rotate(run, 'user', 'init');
  await refusedFrom('init', [['user', 'update_servers'], ['user', 'standby']]);
  const newCa = status(run, 'user').trusted.find((fp) => fp !== userCa)!;

  rotate(run, 'user', 'update_clients');
  await refusedFrom('update_clients', [['user', 'init'], ['user', 'standby']]);
  await logsIn(sshd, sign('new', newCa), knownHosts, 'update_clients: the new key still signs');

  rotate(run, 'user', 'rollback');
  await refusedFrom('rollback', [['user', 'update_clients'], ['user', 'init']]);
  await logsIn(sshd, sign('rolled', userCa), knownHosts, 'rollback: the old key still signs');
});
