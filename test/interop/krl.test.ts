// Revocation against a real sshd: `RevokedKeys` points at the KRL `tctl auth export --type=krl`
// writes, and sshd rereads it on every connection, so each revocation below is deployed by
// re-exporting and checked with a login. Passing means sshd parses our KRL (an unparsable one
// locks everyone out) and refuses exactly what was revoked.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { initialisedCa, openssh } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';
import type { Sshd } from '../helpers/sshd.js';
import { LOGIN, esc, ok, sshdFor } from '../helpers/interop.js';
import type { Run } from '../helpers/interop.js';
import { loadCaKey, signingKeyRecord } from '../../src/ca/authority.js';
import { certificateBody } from '../../src/ca/request.js';
import { certificateFileText } from '../../src/formats/certificate-file.js';
import { signCertificate } from '../../src/ssh/certificate.js';
import { generatePrivateKey, openSshPrivateKey, sshPublicKey } from '../../src/ssh/keys.js';
import { loadState } from '../../src/store/state.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';

const skip = interopSkip();
const HOST = 'api.example.com';



interface Cert {
  /** private key; the certificate is KEY-cert.pub */
  key: string;
  keyId: string;
  serial: string;
  /** fingerprint of the certified key, as sshd logs it */
  keyFingerprint: string;
  /** fingerprint of the CA key that signed it */
  ca: string;
}

/** Reads back a certificate with ssh-keygen -L. */
function certificate(key: string): Cert {
  const r = ok(openssh('ssh-keygen', ['-L', '-f', `${key}-cert.pub`]), `ssh-keygen -L -f ${key}-cert.pub`);
  const field = (re: RegExp) => {
    const m = re.exec(r.stdout)?.[1];
    assert.ok(m !== undefined, `${re} in\n${r.stdout}`);
    return m;
  };
  return {
    key,
    keyId: field(/^\s+Key ID: "(.*)"$/m),
    serial: field(/^\s+Serial: (\d+)$/m),
    keyFingerprint: field(/^\s+Public key: \S+-CERT (SHA256:\S+)$/m),
    ca: field(/^\s+Signing CA: \S+ (SHA256:\S+) /m),
  };
}

function userSigner(run: Run): string {
  return JSON.parse(ok(run(['status', '--json']), 'status --json').stdout).authorities.user.fingerprint;
}


/** A CA with its trust files deployed, a host certificate, and a KRL exported before anything is revoked. */
function fleet() {
  const { cwd, dataDir, run } = initialisedCa('ed25519');
  const file = (name: string) => path.join(cwd, name);
  const trustedUserCaKeys = file('user_ca.pub');
  const knownHosts = file('known_hosts');
  const krl = file('revoked.krl');
  const deployTrust = () => fs.writeFileSync(trustedUserCaKeys, ok(run(['auth', 'export', '--type=user']), 'export user').stdout);
  // -o writes atomically (temp file + rename): sshd never reads half a KRL.
  const deployKrl = () => ok(run(['auth', 'export', '--type=krl', '-o', krl]), 'export krl');
  deployTrust();
  fs.writeFileSync(knownHosts, ok(run(['auth', 'export', '--type=host']), 'export host').stdout);
  ok(run(['auth', 'sign', `--host=${HOST}`, `--out=${file('host')}`]), 'sign host');
  deployKrl();
  const sign = (out: string, user = out, extra: string[] = []) => {
    ok(run(['auth', 'sign', `--user=${user}`, `--principals=${LOGIN}`, '--ttl=1h', `--out=${file(out)}`, ...extra]), `sign ${out}`);
    return certificate(file(out));
  };
  const start = (t: TestContext) =>
    sshdFor(t, { dir: file('sshd'), hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }], trustedUserCaKeys, revokedKeys: krl });
  return { cwd, dataDir, run, file, krl, knownHosts, deployTrust, deployKrl, sign, start };
}

function login(sshd: Sshd, cert: Cert, knownHosts: string): RunResult {
  return sshRun({ port: sshd.port, key: cert.key, knownHosts, hostKeyAlias: HOST });
}

async function logsIn(sshd: Sshd, cert: Cert, knownHosts: string, when: string): Promise<void> {
  const mark = sshd.mark();
  const r = login(sshd, cert, knownHosts);
  assert.equal(r.status, 0, `${when}: ${cert.key} should log in:\n${r.stderr}\n--- sshd ---\n${sshd.log().slice(mark)}`);
  assert.equal(r.stdout, 'ok\n', when);
  await sshd.waitForLog(
    new RegExp(`Accepted publickey for ${esc(LOGIN)} from .* ID ${esc(cert.keyId)} \\(serial ${cert.serial}\\) CA \\S+ ${esc(cert.ca)}`),
    mark,
  );
}

/** Refused, and sshd names our KRL as the reason (it checks revocation before trust). */
async function revokedBySshd(sshd: Sshd, cert: Cert, knownHosts: string, krl: string, when: string): Promise<void> {
  const mark = sshd.mark();
  const r = login(sshd, cert, knownHosts);
  assert.equal(r.status, 255, `${when}: ${cert.key} should be refused; stdout=${JSON.stringify(r.stdout)}\n${r.stderr}`);
  assert.equal(r.stdout, '', when);
  assert.match(r.stderr, /Permission denied \(publickey\)/, when);
  const log = await sshd.waitForLog(new RegExp(`Authentication key \\S+-CERT ${esc(cert.keyFingerprint)} revoked by file ${esc(krl)}`), mark);
  assert.doesNotMatch(log, /Accepted/, when);
}

test('sshd RevokedKeys with our KRL: an empty list lets everyone in; revoking by serial, key id, --cert and --public-key refuses exactly those', { skip }, async (t) => {
  requireOpenSsh();
  const { run, file, krl, knownHosts, deployKrl, sign, start } = fleet();
  const ca = userSigner(run);
  const keep = sign('keep');
  const bySerial = sign('by-serial');
  // Two certificates that share a key id (re-issued to the same user): the key id revokes both.
  const dave1 = sign('dave-laptop', 'dave');
  const dave2 = sign('dave-desktop', 'dave');
  const byCert = sign('by-cert');
  // The usual flow for a user's own key: ssh-keygen makes it, the CA certifies the .pub, twice.
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'erin@laptop', '-f', file('id_erin')]), 'ssh-keygen erin');
  ok(run(['auth', 'sign', '--user=erin', `--principals=${LOGIN}`, `--public-key=${file('id_erin.pub')}`, `--out=${file('id_erin')}`]), 'sign erin');
  const erin1 = certificate(file('id_erin'));
  fs.mkdirSync(file('reissued'));
  fs.copyFileSync(file('id_erin'), file('reissued/id_erin'), fs.constants.COPYFILE_EXCL);
  ok(run(['auth', 'sign', '--user=erin', `--principals=${LOGIN}`, `--public-key=${file('id_erin.pub')}`, `--out=${file('reissued/id_erin')}`]), 'sign erin again');
  const erin2 = certificate(file('reissued/id_erin'));
  const everyone = [keep, bySerial, dave1, dave2, byCert, erin1, erin2];
  for (const c of everyone) assert.equal(c.ca, ca, `${c.key} is signed by the one user CA key`);
  assert.equal(new Set(everyone.map((c) => c.serial)).size, everyone.length, 'distinct serials');

  const sshd = await start(t);
  for (const c of everyone) await logsIn(sshd, c, knownHosts, 'empty KRL');
  // sshd reads a file without the KRL magic as a list of public keys, so an empty or garbled
  // file would have let everyone in too: check that it really is a KRL.
  assert.ok(fs.readFileSync(krl).subarray(0, 8).equals(Buffer.from('SSHKRL\n\0', 'latin1')), 'a binary KRL, even when empty');

  ok(run(['auth', 'revoke', `--serial=${bySerial.serial}`]), 'revoke --serial');
  deployKrl();
  await revokedBySshd(sshd, bySerial, knownHosts, krl, '--serial');
  await logsIn(sshd, keep, knownHosts, 'after --serial');

  ok(run(['auth', 'revoke', '--key-id=dave']), 'revoke --key-id');
  deployKrl();
  await revokedBySshd(sshd, dave1, knownHosts, krl, '--key-id, first certificate');
  await revokedBySshd(sshd, dave2, knownHosts, krl, '--key-id, second certificate');
  await logsIn(sshd, keep, knownHosts, 'after --key-id');

  ok(run(['auth', 'revoke', `--cert=${file('by-cert-cert.pub')}`]), 'revoke --cert');
  deployKrl();
  await revokedBySshd(sshd, byCert, knownHosts, krl, '--cert');
  await logsIn(sshd, keep, knownHosts, 'after --cert');

  ok(run(['auth', 'revoke', `--public-key=${file('id_erin.pub')}`]), 'revoke --public-key');
  deployKrl();
  await revokedBySshd(sshd, erin1, knownHosts, krl, '--public-key, first certificate');
  await revokedBySshd(sshd, erin2, knownHosts, krl, '--public-key, re-issued certificate');

  // Each export carries every earlier revocation, and nothing more.
  await revokedBySshd(sshd, bySerial, knownHosts, krl, 'the last KRL, serial');
  await revokedBySshd(sshd, dave1, knownHosts, krl, 'the last KRL, key id');
  await revokedBySshd(sshd, byCert, knownHosts, krl, 'the last KRL, cert');
  await logsIn(sshd, keep, knownHosts, 'the last KRL');
  await logsIn(sshd, sign('newcomer'), knownHosts, 'a certificate signed after the revocations');
  assert.doesNotMatch(sshd.log(), /Error checking authentication key/, 'sshd loaded every KRL we wrote');
});

test('the KRL survives a user CA rotation: revoked certificates stay refused while sshd trusts both keys and after standby', { skip }, async (t) => {
  requireOpenSsh();
  const { run, krl, knownHosts, deployTrust, deployKrl, sign, start, dataDir, file } = fleet();
  const oldCa = userSigner(run);
  /** A certificate tctl would refuse to sign (its key id is revoked), signed with the data dir's current user CA key all the same. */
  const signBehindTctl = (out: string, keyId: string): Cert => {
    const state = loadState(new DirCaStore(dataDir));
    const key = generatePrivateKey('ed25519');
    const publicKey = sshPublicKey(key);
    const body = certificateBody(
      { type: 'user', principals: [LOGIN], keyId, publicKey, ttlSeconds: 3600, compat: 'standard' },
      { clusterName: state.clusterName, serial: 900_000n, now: new Date() },
    );
    fs.writeFileSync(file(out), openSshPrivateKey(key, keyId), { mode: 0o600 });
    fs.writeFileSync(file(`${out}-cert.pub`), certificateFileText(publicKey, signCertificate(body, loadCaKey(new DirCaStore(dataDir), signingKeyRecord(state.authorities.user)).privateKey!), keyId));
    return certificate(file(out));
  };
  const kept = sign('kept');
  const revoked = sign('revoked');
  const mallory = sign('mallory');
  ok(run(['auth', 'revoke', `--serial=${revoked.serial}`]), 'revoke --serial');
  ok(run(['auth', 'revoke', '--key-id=mallory']), 'revoke --key-id');
  deployKrl();
  const sshd = await start(t);
  await revokedBySshd(sshd, revoked, knownHosts, krl, 'before the rotation');
  await revokedBySshd(sshd, mallory, knownHosts, krl, 'before the rotation');
  await logsIn(sshd, kept, knownHosts, 'before the rotation');

  /** One step of the rotation as a fleet does it: move, then push both the trust file and the KRL. */
  const phase = (p: string) => {
    ok(run(['auth', 'rotate', '--type=user', '--manual', `--phase=${p}`]), `rotate to ${p}`);
    deployTrust();
    deployKrl();
  };

  phase('init');
  await revokedBySshd(sshd, revoked, knownHosts, krl, 'init (both keys trusted)');
  await logsIn(sshd, kept, knownHosts, 'init');

  phase('update_clients');
  const newCa = userSigner(run);
  assert.notEqual(newCa, oldCa);
  const fresh = sign('fresh');
  const doomed = sign('doomed');
  // tctl refuses to sign a revoked key id; and a key id revoked before the rotation also
  // refuses what the new key signs for it (a copy of the data dir, another tool).
  const again = run(['auth', 'sign', '--user=mallory', `--principals=${LOGIN}`, `--out=${file('mallory-refused')}`]);
  assert.equal(again.status, 1, again.stderr);
  assert.match(again.stderr, /key id "mallory" is revoked for the user CA/);
  const mallory2 = signBehindTctl('mallory-again', 'mallory');
  for (const c of [fresh, doomed, mallory2]) assert.equal(c.ca, newCa, `${c.key} is signed by the new key`);
  await revokedBySshd(sshd, mallory2, knownHosts, krl, 'update_clients, key id revoked before the rotation');
  await revokedBySshd(sshd, revoked, knownHosts, krl, 'update_clients (both keys trusted)');
  await logsIn(sshd, fresh, knownHosts, 'update_clients');
  await logsIn(sshd, doomed, knownHosts, 'update_clients, before it is revoked');
  ok(run(['auth', 'revoke', `--serial=${doomed.serial}`]), 'revoke a new-key serial');
  deployKrl();
  await revokedBySshd(sshd, doomed, knownHosts, krl, 'update_clients, new-key serial revoked');
  await logsIn(sshd, kept, knownHosts, 'update_clients');

  phase('update_servers');
  await revokedBySshd(sshd, revoked, knownHosts, krl, 'update_servers (both keys trusted)');
  await revokedBySshd(sshd, doomed, knownHosts, krl, 'update_servers');
  await logsIn(sshd, kept, knownHosts, 'update_servers');
  await logsIn(sshd, fresh, knownHosts, 'update_servers');

  phase('standby');
  // sshd trusts the new key alone now, so only the KRL keeps these two out.
  await revokedBySshd(sshd, doomed, knownHosts, krl, 'standby');
  await revokedBySshd(sshd, mallory2, knownHosts, krl, 'standby');
  await revokedBySshd(sshd, revoked, knownHosts, krl, 'standby');
  await logsIn(sshd, fresh, knownHosts, 'standby');
  // Refused for the other reason: its CA is no longer trusted, not that it is revoked.
  const mark = sshd.mark();
  const r = login(sshd, kept, knownHosts);
  assert.equal(r.status, 255, `standby: a certificate from the dropped key must be refused\n${r.stderr}`);
  const log = await sshd.waitForLog(new RegExp(`Failed publickey for ${esc(LOGIN)} from .* ID kept \\(serial ${kept.serial}\\) CA \\S+ ${esc(oldCa)}`), mark);
  assert.doesNotMatch(log, /revoked by file/);
  assert.doesNotMatch(sshd.log(), /Error checking authentication key/, 'sshd loaded every KRL we wrote');
});
