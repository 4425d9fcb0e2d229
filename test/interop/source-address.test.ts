// source-address against the real OpenSSH: our model of sshd's addr_match_cidr_list is checked
// against ssh-keygen (same code, same libc) for many generated entries, and against a real sshd
// login for a bounded set; what tctl writes is then signed by the CLI and logs in.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadCaKey } from '../../src/ca/authority.js';
import { parseNumericHost } from '../../src/ca/ip.js';
import { certificateBody } from '../../src/ca/request.js';
import { checkSourceAddress, cidrListMatches, sshdCidrList } from '../../src/ca/source-address.js';
import { certificateFileText } from '../../src/formats/certificate-file.js';
import { signCertificate } from '../../src/ssh/certificate.js';
import { generatePrivateKey, openSshPrivateKey, sshPublicKey, sshSigner } from '../../src/ssh/keys.js';
import { loadState } from '../../src/store/state.js';
import { LOOPBACK_CASES, cidrEntry, rng, testSeed } from '../helpers/cidr-gen.js';
import { LOGIN, ok, sshdFor } from '../helpers/interop.js';
import { openssh } from '../helpers/run.js';
import { initialisedCa } from '../helpers/run.js';
import { interopSkip, requireOpenSsh, sshRun } from '../helpers/sshd.js';
import { DirCaStore } from '../../src/store/local/dir-ca-store.js';

const skip = interopSkip();
const CLIENT = parseNumericHost('127.0.0.1')!;

/** sshd's verdict on a login from 127.0.0.1 with this source-address, per our model. */
function modelLogin(list: string): boolean {
  const v = sshdCidrList(list);
  return v.ok && cidrListMatches(v.entries, CLIENT);
}

function oursAccepts(entry: string): string | undefined {
  try {
    return checkSourceAddress(entry);
  } catch {
    return undefined;
  }
}

/** OpenSSH 9.8+ blocks a source that keeps failing to log in; this test fails logins on purpose. */
function penaltyConfig(): string[] {
  const v = /OpenSSH_(\d+)\.(\d+)/.exec(openssh('ssh', ['-V']).stderr);
  return v && (Number(v[1]) > 9 || (Number(v[1]) === 9 && Number(v[2]) >= 8)) ? ['PerSourcePenalties no'] : [];
}

test('source-address: the sshd model agrees with ssh-keygen on generated entries', { skip }, () => {
  requireOpenSsh();
  const { cwd } = initialisedCa();
  const file = (name: string) => path.join(cwd, name);
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('oracle-ca')]), 'ca key');
  ok(openssh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('k')]), 'user key');
  const seed = testSeed();
  const r = rng(seed);
  const entries = new Set<string>(LOOPBACK_CASES);
  while (entries.size < 400) entries.add(cidrEntry(r));
  let accepted = 0;
  for (const entry of entries) {
    // ssh-keygen -O source-address runs the same addr_match_cidr_list(NULL, list) as sshd.
    const res = openssh('ssh-keygen', ['-q', '-s', file('oracle-ca'), '-I', 'probe', '-n', LOGIN, '-O', `source-address=${entry}`, file('k.pub')]);
    const real = res.status === 0;
    accepted += real ? 1 : 0;
    assert.equal(sshdCidrList(entry).ok, real, `seed ${seed}: ${JSON.stringify(entry)}: ssh-keygen says ${real ? 'valid' : res.stderr.trim()}`);
    const written = oursAccepts(entry);
    if (written !== undefined) {
      assert.equal(openssh('ssh-keygen', ['-q', '-s', file('oracle-ca'), '-I', 'probe', '-n', LOGIN, '-O', `source-address=${written}`, file('k.pub')]).status, 0, written);
    }
  }
  assert.ok(accepted > 60 && accepted < 340, `a useful mix: ${accepted} of ${entries.size} valid (seed ${seed})`);
});

test('source-address: a real sshd logs in from 127.0.0.1 exactly when the model says so', { skip }, async (t) => {
  requireOpenSsh();
  const started = Date.now();
  const { cwd, dataDir, run } = initialisedCa();
  const file = (name: string) => path.join(cwd, name);
  fs.writeFileSync(file('user_ca.pub'), ok(run(['auth', 'export', '--type=user']), 'export user').stdout);
  fs.writeFileSync(file('known_hosts'), ok(run(['auth', 'export', '--type=host']), 'export host').stdout);
  ok(run(['auth', 'sign', '--host=sshd.example.com', '--out=host']), 'sign host');
  const sshd = await sshdFor(t, {
    dir: file('sshd'),
    hostKeys: [{ key: file('host'), certificate: file('host-cert.pub') }],
    trustedUserCaKeys: file('user_ca.pub'),
    extraConfig: penaltyConfig(),
  });

  // Certificates with any source-address text at all, signed in-process by the data dir's user CA.
  const state = loadState(new DirCaStore(dataDir));
  const signer = sshSigner(loadCaKey(new DirCaStore(dataDir), state.authorities.user.current).privateKey!);
  const userKey = generatePrivateKey('ed25519');
  const publicKey = sshPublicKey(userKey);
  fs.writeFileSync(file('probe'), openSshPrivateKey(userKey, 'probe'), { mode: 0o600 });
  let serial = 1000n;
  const login = (list: string, cli?: { key: string; cert: string }): boolean => {
    let certFile = cli?.cert;
    if (certFile === undefined) {
      certFile = file(`probe-${serial}-cert.pub`);
      const body = certificateBody(
        { type: 'user', principals: [LOGIN], keyId: 'probe', publicKey, sourceAddress: [list], compat: 'standard' },
        { clusterName: state.clusterName, serial: serial++, now: new Date() },
      );
      fs.writeFileSync(certFile, certificateFileText(publicKey, signCertificate(body, signer), 'probe'));
    }
    const r = sshRun({ port: sshd.port, key: cli?.key ?? file('probe'), knownHosts: file('known_hosts'), hostKeyAlias: 'sshd.example.com', options: [`CertificateFile=${certFile}`] });
    assert.ok(r.status === 0 || r.status === 255, `ssh exit ${r.status}: ${r.stderr}`);
    return r.status === 0 && r.stdout === 'ok\n';
  };

  const seed = testSeed();
  const r = rng(seed);
  const verdicts: Array<{ list: string; model: boolean; real: boolean }> = [];
  const probe = (list: string) => verdicts.push({ list, model: modelLogin(list), real: login(list) });

  // Matching: each entry alone, so a login says both "valid" and "matches 127.0.0.1".
  for (const entry of LOOPBACK_CASES) probe(entry);
  // Syntax: a generated entry before an entry that matches, so a login says "sshd accepts it".
  const valid: string[] = [];
  const invalid: string[] = [];
  while (valid.length < 14 || invalid.length < 14) {
    const entry = cidrEntry(r);
    if (entry.includes(',')) continue;
    const bucket = sshdCidrList(entry).ok ? valid : invalid;
    if (bucket.length < 14 && !bucket.includes(entry)) bucket.push(entry);
  }
  for (const entry of [...valid, ...invalid]) probe(`${entry},127.0.0.1`);
  for (const v of verdicts) {
    assert.equal(v.real, v.model, `seed ${seed}: source-address ${JSON.stringify(v.list)}: sshd ${v.real ? 'let the login in' : 'refused the login'}, the model says otherwise\n--- sshd log ---\n${sshd.log().slice(-3000)}`);
  }
  assert.ok(verdicts.some((v) => v.real) && verdicts.some((v) => !v.real));

  // What tctl writes logs in: the CLI normalises what it accepts, and the certificate works.
  const ours = valid.filter((e) => oursAccepts(e) !== undefined).slice(0, 6);
  for (const [i, entry] of ours.entries()) {
    const out = `cli${i}`;
    const signed = run(['auth', 'sign', `--user=cli${i}`, `--principals=${LOGIN}`, `--source-address=${entry},127.0.0.0/8`, `--out=${out}`]);
    assert.equal(signed.status, 0, `${entry}: ${signed.stderr}`);
    assert.ok(login('', { key: file(out), cert: file(`${out}-cert.pub`) }), `tctl's certificate for ${entry} logs in`);
  }
  // And what sshd would refuse, tctl refuses: one line, usage exit, no certificate.
  // (The command line trims spaces around list entries, so only entries without them are tried.)
  for (const [i, entry] of invalid.filter((e) => e.trim() === e).slice(0, 4).entries()) {
    const refused = run(['auth', 'sign', `--user=bad${i}`, `--principals=${LOGIN}`, `--source-address=${entry}`, `--out=bad${i}`]);
    assert.equal(refused.status, 2, `${JSON.stringify(entry)}: ${refused.stderr}`);
    assert.match(refused.stderr, /^tctl: error: (invalid --source-address entry|--source-address )/);
    assert.ok(!fs.existsSync(file(`bad${i}-cert.pub`)));
  }
  const logins = verdicts.length + ours.length;
  assert.ok(logins <= 60, `${logins} logins`);
  t.diagnostic(`${logins} logins in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
